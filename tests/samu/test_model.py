"""SAMU model (samu/model.py, recipe train-samu): tree scoring equals one forward per candidate,
prompts cut to budget, a few training steps on tiny random models then scoring into a valid form,
the adapter checksum, the trimmed-base hash, and the hybrid's evidence check on model values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import shared
from tests.samu.test_rules import AVC_CHILD, call


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.setenv("LLM4ALL_HUBSANTE", str(shared("hubsante")))
    monkeypatch.setenv("LLM4ALL_CACHE", str(tmp_path / "cache"))


# --------------------------------------------------------------------------- tree scoring


@pytest.mark.parametrize(
    "kind, attn", [("llama", "eager"), ("gemma3", "eager"), ("gemma3", "sdpa"), ("mistral", "sdpa")]
)
def test_tree_scoring_equals_one_forward_per_candidate(kind, attn):
    """All candidates in one forward (tree mask, shared prefixes, prompt longer than Gemma's and
    Mistral's 16-token sliding window) give the log-probs of separate full forwards."""
    import torch

    from samu.model import build_tree, tree_logprobs
    from tests.core_training.tiny import tiny_model

    m = tiny_model(kind, vocab_size=128)
    m.config._attn_implementation = attn
    for mod in m.modules():
        if hasattr(mod, "config") and mod is not m:
            mod.config._attn_implementation = attn
    g = torch.Generator().manual_seed(0)
    prompt = torch.randint(3, 128, (40,), generator=g).tolist()
    branches = [([5, 6, 7, 8], 1), ([5, 6, 9], 2), ([10, 11, 12, 13, 14], 2), ([5, 6, 7, 20], 1)]
    tree = build_tree(prompt, branches)
    assert len(tree.tokens) == 40 + 4 + 1 + 5 + 1  # shared prefixes stored once
    nodes = [v for k in range(len(branches)) for v in tree.paths[k][1:]]
    got = tree_logprobs(m, tree, nodes)
    want = []
    for toks, _ in branches:
        with torch.no_grad():
            lp = m(input_ids=torch.tensor([prompt + toks])).logits[0].float().log_softmax(-1)
        want += [lp[len(prompt) + j - 1, toks[j]].item() for j in range(1, len(toks))]
    assert torch.allclose(got, torch.tensor(want), atol=1e-4), (got, want)


def test_prompt_is_cut_to_budget_keeping_both_ends():
    from samu.model import default_spec, prompt_ids
    from tests.core_training.tiny import tiny_tokenizer

    turns = [("medecin", "samu bonjour")] + [("patient", f"phrase numéro {i} du milieu") for i in range(60)]
    turns.append(("medecin", "je vous envoie les pompiers"))
    t = call(*turns)
    tok = tiny_tokenizer([s.text for s in t.segments] + ["Transcription d'un appel au SAMU"], vocab_size=600)
    spec = default_spec(max_prompt_tokens=160)
    ids, cut = prompt_ids(spec, tok, t)
    text = tok.decode(ids)
    assert cut and len(ids) <= 160
    assert "samu bonjour" in text and "pompiers" in text and "[...]" in text
    short, cut2 = prompt_ids(default_spec(max_prompt_tokens=4000), tok, AVC_CHILD)
    assert not cut2 and "vous restez avec elle" in tok.decode(short)


def test_spec_lists_every_level2_motif_and_null_candidates():
    from samu.model import default_spec
    from samu.schema import code_labels

    spec = default_spec()
    motifs = [c for c, _t in spec.candidates["qualification.motif"]]
    assert motifs == sorted(c for c, lbl in code_labels("motif").items() if lbl and not c.endswith(".00"))
    assert dict(spec.candidates["qualification.motif"])["M03.08"] == "Signes d’AVC"
    # two motifs share the label "Saignements": their codes tell them apart
    assert dict(spec.candidates["qualification.motif"])["M02.01"] == "Saignements (M02.01)"
    assert (None, "non précisé") in spec.candidates["patient.sex"]
    assert (None, "aucun") in spec.candidates["decision.resource"]
    assert all(c is not None for c, _t in spec.candidates["qualification.priority"])
    again = type(spec).from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    with pytest.raises(ValueError, match="decision.type"):
        type(spec).from_dict(
            {
                **spec.to_dict(),
                "candidates": {
                    **spec.to_dict()["candidates"],
                    "decision.type": [["VOL", "x"], ["INTER", "y"]],
                },
            }
        )


# --------------------------------------------------------------------------- training end to end


def _tiny_setup(tmp: Path, n_calls: int = 2, seed: int = 0) -> tuple[Path, Path, list]:
    """A tiny random Gemma 3 with a BPE tokenizer trained on a few corpus calls, and those calls."""
    from samu.corpus import CALLS_DIR, load_split
    from tests.core_training.tiny import tiny_model, tiny_tokenizer

    names = sorted(p for p in (CALLS_DIR / "train").rglob("*.json"))[:n_calls]
    calls_dir = tmp / "calls"
    (calls_dir / "train" / "w").mkdir(parents=True, exist_ok=True)
    for p in names:
        shutil.copy(p, calls_dir / "train" / "w" / p.name)
    calls = list(load_split("train", calls_dir).values())
    texts = [" ".join(s.text for s in c.transcript.segments) for c in calls]
    tok = tiny_tokenizer(texts, vocab_size=500)
    model = tiny_model("gemma3", vocab_size=len(tok), seed=seed, max_position_embeddings=1024)
    d = tmp / f"tiny{seed}"
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d, calls_dir, calls


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The recipe run once on two calls (vocabulary trimmed, LoRA, 40 steps)."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("samu_model")
    mp.setenv("LLM4ALL_HUBSANTE", str(shared("hubsante")))
    mp.setenv("LLM4ALL_CACHE", str(tmp / "cache"))
    from core_training.recipes import get_recipe
    from core_training.recipes.config import load_config

    base, calls_dir, calls = _tiny_setup(tmp)
    cls, main = get_recipe("train-samu")
    cfg = load_config(
        cls,
        None,
        {
            "out": str(tmp / "run"),
            "model": str(base),
            "calls_dir": str(calls_dir),
            "simsamu": [],
            "trim_corpus": "calls",
            "max_prompt_tokens": 160,
            "epochs": 20,
            "grad_accum": 1,
            "r": 8,
            "alpha": 16.0,
            "lora_layers": 0,
            "lr": 2e-2,
            "warmup_steps": 0,
            "checkpoint_every": 8,
        },
    )
    summary = main(cfg)
    yield {"summary": summary, "base": base, "calls": calls, "cfg": cfg, "main": main, "tmp": tmp}
    mp.undo()


def test_recipe_writes_a_checked_adapter_and_learns_the_gold_values(trained):
    from samu import extract_form
    from samu.model import META_FILE, load_samu_model, score_fields
    from samu.schema import CallForm
    from tests.core_training.tiny import check_recipe_run

    s = trained["summary"]
    out = Path(s["out"])
    meta = check_recipe_run(s, steps=40, window=4, meta_file=META_FILE)
    assert s["value_tokens"] > 0
    assert s["vocab"] < 500  # trimmed to the tokens the calls and candidates use
    assert meta["vocab"]["size"] == s["vocab"]
    assert "Gemma Terms of Use" in (out / "adapter" / "README.md").read_text()

    sm = load_samu_model(s["adapter_dir"], base=trained["base"])
    assert len(sm.tokenizer) == s["vocab"]
    right = []
    for c in trained["calls"]:
        scores = score_fields(sm, c.transcript)
        assert set(scores) == set(sm.spec.fields)
        for f, (value, p) in scores.items():
            assert 0.0 <= p <= 1.0
            right.append(value == c.gold["fields"][f])
    assert sum(right) >= 10, right  # the two training calls, six fields each: learnt
    for c in trained["calls"]:
        for ex in ("model", "hybrid"):
            form = extract_form(c.transcript, ex, llm=sm)
            assert isinstance(form, CallForm) and form.extractor == ex
            assert CallForm.from_dict(json.loads(json.dumps(form.to_dict()))).values() == form.values()
        hybrid = extract_form(c.transcript, "hybrid", llm=sm)
        assert "patient.age" in hybrid.values() or c.gold["fields"]["patient.age"] is None
        for fv in hybrid.fields.values():  # every model value that survived cites a real quote
            if fv.source == "model":
                assert fv.evidence
                for e in fv.evidence:
                    assert e.quote and e.quote in c.transcript.segments[e.segment].text


def test_rerun_returns_the_finished_run(trained):
    again = trained["main"](trained["cfg"])
    assert again == trained["summary"]


def test_corrupted_adapter_is_a_clear_error(trained, tmp_path):
    from samu.model import WEIGHTS_FILE, load_samu_model

    bad = tmp_path / "adapter"
    shutil.copytree(trained["summary"]["adapter_dir"], bad)
    w = bad / WEIGHTS_FILE
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0x01
    w.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256 .* does not match .*corrupted"):
        load_samu_model(bad, base=trained["base"])
    with pytest.raises(ValueError, match="not a SAMU model adapter"):
        load_samu_model(tmp_path, base=trained["base"])


def test_a_different_base_is_refused(trained, tmp_path):
    from samu.model import load_samu_model

    other, _cd, _calls = _tiny_setup(tmp_path, seed=1)
    with pytest.raises(ValueError, match="SHA-256"):
        load_samu_model(trained["summary"]["adapter_dir"], base=other)
    # on purpose, without the check, the adapter loads on the other base
    sm = load_samu_model(trained["summary"]["adapter_dir"], base=other, verify_base=False)
    assert len(sm.tokenizer) == trained["summary"]["vocab"]


def test_an_untrimmed_base_is_recorded_by_its_hash_and_checked_on_load(tmp_path, monkeypatch):
    """The path of a base used as is (the French foundation, trimmed already, takes it): the
    adapter records the base's SHA-256 instead of kept token ids; another base is refused."""
    from core_training.recipes import get_recipe
    from core_training.recipes.config import load_config
    from samu.model import META_FILE, load_samu_model, score_fields

    monkeypatch.setenv("LLM4ALL_HUBSANTE", str(shared("hubsante")))
    monkeypatch.setenv("LLM4ALL_CACHE", str(tmp_path / "cache"))
    base, calls_dir, calls = _tiny_setup(tmp_path / "a")
    cls, main = get_recipe("train-samu")
    over = {
        "out": str(tmp_path / "run"),
        "model": str(base),
        "calls_dir": str(calls_dir),
        "simsamu": [],
        "trim_vocab": False,
        "max_prompt_tokens": 96,
        "epochs": 2,
        "grad_accum": 1,
        "r": 4,
        "alpha": 8.0,
        "lora_layers": 0,
        "warmup_steps": 0,
    }
    s = main(load_config(cls, None, over))
    meta = json.loads((Path(s["adapter_dir"]) / META_FILE).read_text())
    assert "vocab" not in meta and meta["base_sha256"] == s["trimmed_base_sha256"]
    sm = load_samu_model(s["adapter_dir"], base=base)
    assert set(score_fields(sm, calls[0].transcript)) == set(sm.spec.fields)
    other, _cd, _calls = _tiny_setup(tmp_path / "b", seed=1)
    with pytest.raises(ValueError, match="SHA-256"):
        load_samu_model(s["adapter_dir"], base=other)


def test_extract_form_needs_a_samu_model():
    from samu import extract_form

    with pytest.raises(ValueError, match="SAMU model"):
        extract_form(AVC_CHILD, "hybrid", llm=lambda p, **kw: "{}")


def test_train_samu_config_errors_name_the_field():
    from core_training.recipes.train_samu import TrainSamuConfig

    with pytest.raises(ValueError, match="split"):
        TrainSamuConfig(out="x", split="dev")
    with pytest.raises(ValueError, match="trim_corpus"):
        TrainSamuConfig(out="x", trim_corpus="wiki")
    with pytest.raises(ValueError, match="epochs"):
        TrainSamuConfig(out="x", epochs=0)
    with pytest.raises(ValueError, match="simsamu.*test2 sert à mesurer"):
        TrainSamuConfig(out="x", simsamu=("dev", "test2"))
    with pytest.raises(ValueError, match="simsamu.*sans doublon"):
        TrainSamuConfig(out="x", simsamu=("dev", "dev"))


def test_simsamu_calls_train_with_their_gold_forms(trained, tmp_path):
    """``simsamu: [test]`` adds the simsamu test calls (reference transcripts, the project's gold
    forms) to the training calls; the adapter records it."""
    import dataclasses

    from samu.corpus import load_simsamu
    from samu.model import read_adapter_metadata

    sim = load_simsamu("test", shared("simsamu"))
    assert len(sim) >= 10 and all(c.transcript.segments and c.gold["fields"] for c in sim.values())
    cfg = dataclasses.replace(
        trained["cfg"], out=str(tmp_path / "run"), simsamu=("test",), epochs=1, grad_accum=8
    )
    s = trained["main"](cfg)
    assert s["calls"] == len(trained["calls"]) + len(sim)
    assert read_adapter_metadata(s["adapter_dir"])["info"]["simsamu"] == ["test"]


# --------------------------------------------------------------------------- hybrid evidence check


def _fixed(scores: dict[str, str | None]):
    """A stand-in for the model's scoring: the given value wins each field with probability 0.9."""
    from samu.model import default_spec

    spec = default_spec()

    def fake(sm, t):
        out = {}
        for f in spec.fields:
            out[f] = [
                (c, 0.0, 0.9 if c == scores[f] else 0.1 / len(spec.candidates[f]))
                for c, _t in spec.candidates[f]
            ]
        return out, False

    return fake


MODEL_SAYS = {
    "qualification.motif": "M03.08",  # "elle bouge plus son bras": a cue of the rule lexicon
    "qualification.priority": "P0",
    "decision.type": "INTER",  # "je vous envoie le smur"
    "decision.resource": "SMUR",
    "caller.type": "POMPIER",  # nothing in the call says a firefighter is calling
    "patient.sex": "M",  # the patient is "ma fille": no cue for a man
}


def test_hybrid_drops_model_values_the_transcript_does_not_support(monkeypatch):
    from samu import model as sm_mod
    from samu.rules import extract_rules

    monkeypatch.setattr(sm_mod, "candidate_scores", _fixed(MODEL_SAYS))
    handle = sm_mod.SamuModel(None, None, sm_mod.default_spec())
    form = sm_mod.extract_hybrid(AVC_CHILD, handle)
    v = form.values()
    rules = extract_rules(AVC_CHILD).values()
    # supported model values are kept, with a quote from the call
    for f in ("qualification.motif", "decision.type", "decision.resource", "qualification.priority"):
        assert v[f] == MODEL_SAYS[f] and form.fields[f].source == "model", f
        assert all(e.quote in AVC_CHILD.segments[e.segment].text for e in form.fields[f].evidence)
    # unsupported ones are dropped, counted in the warnings, and the rules' evidenced value stays
    dropped = [w for w in form.warnings if "(modèle)" in w and "écartée" in w]
    assert len(dropped) == 2
    assert any("caller.type = 'POMPIER'" in w for w in dropped) and any(
        "patient.sex = 'M'" in w for w in dropped
    )
    assert (
        v["caller.type"] == rules["caller.type"] == "FAMILLE" and form.fields["caller.type"].source != "model"
    )
    assert v["patient.sex"] == "F"
    # the rules give the rest
    assert v["patient.age"] == "16 ans"
    strict = sm_mod.extract_hybrid(AVC_CHILD, handle, fallback_to_rules=False).values()
    assert "caller.type" not in strict and "patient.sex" not in strict and strict["patient.age"] == "16 ans"


def test_hybrid_motif_takes_only_the_motif_from_the_model(monkeypatch):
    """``hybrid-motif``: the model's (supported) motif, every other field the rules'; a model
    "aucun" for the motif keeps the rules' motif."""
    from samu import extract_form
    from samu import model as sm_mod
    from samu.rules import extract_rules

    says = dict(MODEL_SAYS, **{"decision.type": "CONSEIL", "caller.type": "SUJET", "patient.sex": "M"})
    monkeypatch.setattr(sm_mod, "candidate_scores", _fixed(says))
    handle = sm_mod.SamuModel(None, None, sm_mod.default_spec())
    form = extract_form(AVC_CHILD, "hybrid-motif", llm=handle)
    rules = extract_rules(AVC_CHILD)
    v, r = form.values(), rules.values()
    assert form.extractor == "hybrid-motif"
    assert v["qualification.motif"] == "M03.08" and form.fields["qualification.motif"].source == "model"
    for f in ("decision.type", "decision.resource", "caller.type", "patient.sex", "patient.age"):
        assert v.get(f) == r.get(f), f  # the model's CONSEIL, SUJET and M are not taken
    assert v["qualification.priority"] == "P0"  # from the rules' SMUR by the guide's rule
    monkeypatch.setattr(sm_mod, "candidate_scores", _fixed(dict(says, **{"qualification.motif": None})))
    kept = extract_form(AVC_CHILD, "hybrid-motif", llm=handle)
    assert kept.values().get("qualification.motif") == r.get("qualification.motif")
    with pytest.raises(ValueError, match="SAMU model"):
        extract_form(AVC_CHILD, "hybrid-motif", llm=lambda p, **kw: "{}")


def test_hybrid_model_absent_value_empties_the_field_and_resource_needs_intervention(monkeypatch):
    from samu import model as sm_mod

    says = dict(
        MODEL_SAYS,
        **{
            "patient.sex": None,
            "decision.type": "CONSEIL",
            "decision.resource": "SMUR",
            "qualification.priority": "P3",
        },
    )
    monkeypatch.setattr(sm_mod, "candidate_scores", _fixed(says))
    form = sm_mod.extract_hybrid(AVC_CHILD, sm_mod.SamuModel(None, None, sm_mod.default_spec()))
    v = form.values()
    assert "patient.sex" not in v
    # "CONSEIL" has no advice cue in this call: dropped, the rules' INTER stays, and so does SMUR
    assert v["decision.type"] == "INTER" and v["decision.resource"] == "SMUR"
    assert any("decision.type = 'CONSEIL'" in w for w in form.warnings)
    # the priority follows from the decision kept (SMUR sent: P0), the model's P3 is dropped
    assert v["qualification.priority"] == "P0"
    assert any("qualification.priority = 'P3'" in w and "écartée" in w for w in form.warnings)


def test_model_form_keeps_the_model_values_with_their_cues(monkeypatch):
    from samu import model as sm_mod

    monkeypatch.setattr(sm_mod, "candidate_scores", _fixed(MODEL_SAYS))
    form = sm_mod.extract_model(AVC_CHILD, sm_mod.SamuModel(None, None, sm_mod.default_spec()))
    v = form.values()
    assert v == MODEL_SAYS
    assert form.fields["caller.type"].evidence == () and form.fields["qualification.motif"].evidence
    assert all(fv.source == "model" and fv.confidence == pytest.approx(0.9) for fv in form.fields.values())
    assert "patient.age" not in v  # the model alone does not write ages


# --------------------------------------------------------------------------- the shipped model


@pytest.mark.slow
def test_shipped_adapter_on_gemma_fills_a_valid_form():
    from samu import extract_form
    from samu.model import ADAPTERS_DIR, DEFAULT_ADAPTER, load_samu_model

    if not (ADAPTERS_DIR / DEFAULT_ADAPTER / "samu_model.json").exists():
        pytest.skip("no shipped SAMU adapter in this checkout")
    try:
        sm = load_samu_model()
    except RuntimeError as e:
        pytest.skip(f"bundled Gemma unavailable: {e}")
    form = extract_form(AVC_CHILD, "hybrid", llm=sm)
    v = form.values()
    assert v["decision.type"] == "INTER" and v["patient.age"] == "16 ans"
    assert v["qualification.motif"].startswith("M03")


def test_skipping_the_frozen_bottom_gives_the_same_loss_and_gradients():
    """With LoRA on the top layers only, the bottom layers' output computed once stands in for
    running them: same loss, same adapter gradients."""
    import torch

    from core_training.recipes.train_samu import TrainSamuConfig, _lora
    from samu.model import bottom_states, default_spec, training_example, value_loss
    from tests.core_training.tiny import tiny_model, tiny_tokenizer

    tok = tiny_tokenizer([s.text for s in AVC_CHILD.segments], vocab_size=400)
    base = tiny_model("gemma3", vocab_size=len(tok), num_hidden_layers=4, max_position_embeddings=1024)
    model = _lora(base, TrainSamuConfig(out="x", lora_layers=2, r=4))
    with torch.no_grad():  # B = 0 at init: make the adapters do something
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.1)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert trainable and all(
        ".layers.2." in n or ".layers.3." in n for n, p in model.named_parameters() if p.requires_grad
    )
    ex = training_example(
        default_spec(max_prompt_tokens=200), tok, AVC_CHILD, {"decision.type": "INTER", "patient.sex": "F"}
    )
    loss, info = value_loss(model, ex)
    loss.backward()
    full = [p.grad.clone() for p in trainable]
    model.zero_grad()
    cached = dict(ex, bottom=bottom_states(model, ex, 2), skip=2)
    loss2, _ = value_loss(model, cached)
    loss2.backward()
    assert info["value_tokens"] > 0 and torch.allclose(loss, loss2, atol=1e-5)
    assert all(torch.allclose(a, p.grad, atol=1e-5) for a, p in zip(full, trainable))
    assert all(type(m).__name__ != "Skip" for m in model.modules())  # layers restored


def test_ranking_loss_is_the_inference_rule():
    """The lm+rank loss's ranking term is the cross-entropy of the gold value among the very
    candidate scores candidate_scores() computes at inference."""
    import math

    from samu.model import SamuModel, candidate_scores, default_spec, training_example, value_loss
    from tests.core_training.tiny import tiny_model, tiny_tokenizer

    tok = tiny_tokenizer([s.text for s in AVC_CHILD.segments], vocab_size=400)
    model = tiny_model("gemma3", vocab_size=len(tok), max_position_embeddings=2048)
    spec = default_spec(max_prompt_tokens=200)
    gold = {"decision.type": "INTER", "patient.sex": "F", "qualification.motif": "M03.08"}
    ex = training_example(spec, tok, AVC_CHILD, gold, candidates=True)
    loss, info = value_loss(model, ex)
    scores, _cut = candidate_scores(SamuModel(model, tok, spec), AVC_CHILD)
    assert ex["fields"] == [  # absent resource and sex are trained as "aucun" / "non précisé"
        "qualification.motif",
        "decision.type",
        "decision.resource",
        "patient.sex",
    ]
    want = []
    for f in ex["fields"]:
        g = gold.get(f)
        logz = math.log(sum(math.exp(s) for _c, s, _p in scores[f]))
        want.append(logz - next(s for c, s, _p in scores[f] if c == g))
    assert info["rank"] == pytest.approx(sum(want) / len(want), rel=1e-4)
    plain, _ = value_loss(model, training_example(spec, tok, AVC_CHILD, gold))
    assert info["nll"] == pytest.approx(float(plain.detach()), rel=1e-4)  # same gold value tokens
    assert float(loss.detach()) == pytest.approx(info["nll"] + info["rank"], rel=1e-4)


def test_samu_form_cli_uses_the_adapter_and_refuses_a_corrupted_one(trained, tmp_path, capsys):
    """``samu-form --extractor hybrid --model ADAPTER`` (and ``process``): the model is loaded
    once, every form says which extractor made it; a corrupted adapter stops the batch before
    any work with one line (exit 2)."""
    from apps.cli import main
    from asr.transcript import write_transcript
    from samu.model import WEIGHTS_FILE

    src = tmp_path / "in"
    src.mkdir()
    for i, c in enumerate(trained["calls"]):
        write_transcript(c.transcript, src / f"appel{i}.json")
    adapter = trained["summary"]["adapter_dir"]
    out = tmp_path / "out"
    rc = main(["samu-form", str(src), "--out", str(out), "--extractor", "hybrid", "--model", adapter, "-q"])
    assert rc == 0, capsys.readouterr().err
    for i in range(len(trained["calls"])):
        assert json.loads((out / f"appel{i}.form.json").read_text())["extractor"] == "hybrid"
    p = tmp_path / "p"
    rc = main(["process", str(src), "--out", str(p), "--extractor", "model", "--samu-adapter", adapter, "-q"])
    assert rc == 0, capsys.readouterr().err
    assert json.loads((p / "appel0.form.json").read_text())["extractor"] == "model"
    assert "appel0" in (p / "appel0.report.html").read_text()
    bad = tmp_path / "bad"
    shutil.copytree(adapter, bad)
    w = bad / WEIGHTS_FILE
    w.write_bytes(w.read_bytes()[:-8] + b"\0" * 8)
    capsys.readouterr()
    rc = main(
        ["samu-form", str(src), "--out", str(tmp_path / "o2"), "--extractor", "model", "--model", str(bad)]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "corrupted" in err, err
    assert not (tmp_path / "o2" / "appel0.form.json").exists()
