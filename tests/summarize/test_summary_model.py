"""Summary model (summarize/model.py, recipe train-summary): the recipe end to end on a tiny
random Gemma 3 and real FREDSum training debates (loss falls, adapter + checksum + model card),
resume after an interruption, the checksum on load, the summary function, the prompt budget,
and ``llm4all summarize --method llm`` using the shipped adapter by default."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import shared

N_DEBATES = 2


def _tiny_data(tmp: Path) -> Path:
    """A FREDSum directory with the first training debates (transcripts, abstractive
    references) and the real test list (whose files are absent)."""
    src = shared("fredsum")
    test = set(json.loads((src / "FREDSum_test.json").read_text())["FREDSum_test"])
    names = sorted(p.name for p in (src / "transcript").glob("*.txt") if p.name not in test)[:N_DEBATES]
    d = tmp / "fredsum"
    (d / "transcript").mkdir(parents=True)
    shutil.copy(src / "FREDSum_test.json", d)
    shutil.copy(src / "LICENSE", d)
    for n in names:
        shutil.copy(src / "transcript" / n, d / "transcript" / n)
        for s in ("1", "2", "3"):
            p = src / "summary_abstractive" / s / n
            if p.is_file():
                (d / "summary_abstractive" / s).mkdir(parents=True, exist_ok=True)
                shutil.copy(p, d / "summary_abstractive" / s / n)
    return d


def _tiny_base(tmp: Path, data: Path, seed: int = 0) -> Path:
    """A tiny random Gemma 3 (context 1024) with a BPE tokenizer trained on the debates and summaries."""
    from tests.core_training.tiny import tiny_model, tiny_tokenizer

    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(data.rglob("*.txt"))]
    tok = tiny_tokenizer(texts, vocab_size=600)
    model = tiny_model("gemma3", vocab_size=len(tok), seed=seed, max_position_embeddings=1024)
    d = tmp / f"tiny{seed}"
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d


def _config(tmp: Path, base: Path, data: Path, out: str, **kw):
    from core_training.recipes import get_recipe
    from core_training.recipes.config import load_config

    cls, main = get_recipe("train-summary")
    values = {
        "out": str(tmp / out),
        "base": str(base),
        "data_dir": str(data),
        "holdout": 0,
        "prompt_tokens": 160,
        "target_tokens": 48,
        "epochs": 24,
        "grad_accum": 2,
        "r": 8,
        "alpha": 16.0,
        "lr": 1e-2,
        "warmup_steps": 0,
        "checkpoint_every": 4,
        "threads": 1,  # tiny model: one thread (two fight each other on a busy machine)
        **{k: str(v) for k, v in kw.items()},
    }
    return load_config(cls, None, values), main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The recipe run once on two debates (6 examples, LoRA, 72 steps)."""
    mp = pytest.MonkeyPatch()
    tmp = tmp_path_factory.mktemp("summary_model")
    mp.setenv("LLM4ALL_CACHE", str(tmp / "cache"))
    data = _tiny_data(tmp)
    base = _tiny_base(tmp, data)
    cfg, main = _config(tmp, base, data, "run")
    summary = main(cfg)
    yield {"summary": summary, "base": base, "data": data, "cfg": cfg, "main": main, "tmp": tmp}
    mp.undo()


def test_recipe_writes_a_checked_adapter_and_the_loss_falls(trained):
    from summarize.model import META_FILE, PROMPT_FORMAT, WEIGHTS_FILE
    from summarize.model import file_sha256 as sha
    from tests.core_training.tiny import check_recipe_run

    s = trained["summary"]
    assert s["examples"] == 3 * N_DEBATES and s["debates"] == N_DEBATES
    meta = check_recipe_run(s, steps=72, window=3, meta_file=META_FILE)
    assert s["target_tokens_total"] > 0
    adapter = Path(s["adapter_dir"])
    assert meta["adapter_sha256"] == sha(adapter / WEIGHTS_FILE)
    assert meta["base"] == str(trained["base"]) and len(meta["base_sha256"]) == 64
    assert meta["prompt_format"] == PROMPT_FORMAT and meta["prompt_tokens"] == 160
    assert meta["training"]["examples"] == 6 and meta["training"]["train_seconds"] >= 0
    card = (adapter / "README.md").read_text()
    assert "https://ai.google.dev/gemma/terms" in card and "CC BY-SA 4.0" in card
    assert (adapter / "adapter_config.json").exists()


def test_training_never_reads_the_test_split(trained, tmp_path):
    """A test-split transcript placed in the data is not trained on (official split)."""
    from core_training.recipes.train_summary import training_rows

    data = tmp_path / "fredsum"
    shutil.copytree(trained["data"], data)
    test_name = json.loads((data / "FREDSum_test.json").read_text())["FREDSum_test"][0]
    src = shared("fredsum", "transcript", test_name)
    shutil.copy(src, data / "transcript" / test_name)
    cfg, _main = _config(tmp_path, trained["base"], data, "r")
    names = [r["name"] for r in training_rows(cfg)]
    assert test_name not in names and len(names) == N_DEBATES


def test_held_out_debates_are_a_fixed_draw_never_trained_on(trained, tmp_path):
    """``holdout``: the held-out debates leave the training rows, are the same whatever the
    training seed, and asking for as many as there are debates is a clear error."""
    from core_training.recipes.train_summary import training_rows

    full = [r["name"] for r in training_rows(_config(tmp_path, trained["base"], trained["data"], "a")[0])]
    cfg, _ = _config(tmp_path, trained["base"], trained["data"], "b", holdout=1)
    train = [r["name"] for r in training_rows(cfg)]
    held = [r["name"] for r in training_rows(cfg, held_out=True)]
    assert len(held) == 1 and not set(held) & set(train) and sorted(train + held) == sorted(full)
    other, _ = _config(tmp_path, trained["base"], trained["data"], "c", holdout=1, seed=7)
    assert [r["name"] for r in training_rows(other, held_out=True)] == held
    bad, _ = _config(tmp_path, trained["base"], trained["data"], "d", holdout=N_DEBATES)
    with pytest.raises(ValueError, match="holdout"):
        training_rows(bad)


def test_an_interrupted_run_resumes_on_the_same_trajectory(trained):
    """Killed after 6 steps (a checkpoint at 4), rerun: same losses and same adapter as the
    uninterrupted run."""
    from core_training.train import read_metrics

    class Stop(Exception):
        pass

    def hook(step, done, total):
        if step == "train" and done == 6:
            raise Stop

    cfg, main = _config(trained["tmp"], trained["base"], trained["data"], "resumed")
    with pytest.raises(Stop):
        main(cfg, hook=hook)
    assert not (Path(cfg.out) / "summary.json").exists()
    s = main(cfg)
    want = [r["loss"] for r in read_metrics(Path(trained["summary"]["out"]) / "metrics.jsonl") if "loss" in r]
    got = [r["loss"] for r in read_metrics(Path(s["out"]) / "metrics.jsonl") if "loss" in r]
    assert got == pytest.approx(want, rel=1e-5)
    assert s["adapter_sha256"] == trained["summary"]["adapter_sha256"]
    assert main(cfg) == s  # a finished run is returned as it is


def test_corrupted_adapter_and_other_base_are_clear_errors(trained, tmp_path):
    from summarize.model import WEIGHTS_FILE, load_summary_model

    bad = tmp_path / "adapter"
    shutil.copytree(trained["summary"]["adapter_dir"], bad)
    w = bad / WEIGHTS_FILE
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0x01
    w.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="SHA-256 .* does not match .*corrupted"):
        load_summary_model(bad)
    with pytest.raises(ValueError, match="not a summary model adapter"):
        load_summary_model(tmp_path)
    with pytest.raises(ValueError, match="not found"):
        load_summary_model(tmp_path / "absent")
    other = _tiny_base(tmp_path, trained["data"], seed=1)
    with pytest.raises(ValueError, match="SHA-256"):
        load_summary_model(trained["summary"]["adapter_dir"], base=other)


def test_summary_of_a_training_debate_is_french_without_repeats(trained):
    """The tiny model saw this debate's summaries 24 times: its summary is French text, within
    budget, no sentence twice, speakers named as in the transcript, through summarize()."""
    from summarize import SummaryOptions, summarize
    from summarize.fredsum import read_fredsum
    from summarize.model import load_summary_model
    from summarize.text import count_words, sentence_key, split_sentences

    sm = load_summary_model(trained["summary"]["adapter_dir"])
    # the decoding the recipe recorded (num_beams, chosen on held-out debates) is the default
    assert sm.meta["generation"] == {"num_beams": trained["cfg"].num_beams} == {"num_beams": 2}
    assert sm.generation.num_beams == 2
    path = sorted((trained["data"] / "transcript").glob("*.txt"))[0]
    s = summarize(read_fredsum(path), SummaryOptions(method="llm", max_words=60), llm=sm)
    assert s.method == "llm" and s.model == sm.name and s.text.strip()
    assert count_words(s.text) <= 60
    keys = [sentence_key(x) for x in split_sentences(s.text)]
    assert len(keys) == len(set(keys)), s.text
    if s.warnings and any("remplacée par un résumé extractif" in w for w in s.warnings):
        pytest.fail(f"tiny model output unusable: {s.warnings}")  # failure path: see next test
    from summarize.text import french_ratio

    assert french_ratio(s.text) > 0.5


def test_unusable_output_falls_back_to_extractive_with_a_warning(trained, monkeypatch):
    from summarize import SummaryOptions, summarize
    from summarize import model as sm_mod
    from summarize.fredsum import read_fredsum

    sm = sm_mod.load_summary_model(trained["summary"]["adapter_dir"])
    monkeypatch.setattr(sm_mod, "generate", lambda *a, **k: ("la la la la la la la la la la la la la", {}))
    path = sorted((trained["data"] / "transcript").glob("*.txt"))[0]
    s = summarize(read_fredsum(path), SummaryOptions(method="llm", max_words=60), llm=sm)
    assert s.text.strip() and any("résumé extractif" in w for w in s.warnings)
    monkeypatch.setattr(sm_mod, "extractive_summary", lambda *a, **k: "")
    with pytest.raises(ValueError, match="vide"):  # nothing usable at all: an error, not a result
        summarize(read_fredsum(path), SummaryOptions(method="llm", max_words=60), llm=sm)


def test_prompt_fits_its_budget_and_names_the_speakers(trained):
    from transformers import AutoTokenizer

    from summarize.core import with_full_names
    from summarize.fredsum import read_fredsum
    from summarize.model import prompt_text

    tok = AutoTokenizer.from_pretrained(trained["base"])
    path = sorted((trained["data"] / "transcript").glob("*.txt"))[0]
    t, _ = with_full_names(read_fredsum(path))
    for budget in (120, 400):
        p = prompt_text(t, tok, budget)
        assert len(tok(p)["input_ids"]) <= budget
        assert p.startswith("Extraits d'un débat entre ") and p.endswith("Résumé du débat :\n")
        assert any(f"\n{spk} : " in p for spk in t.speakers)
    with pytest.raises(ValueError, match="prompt_tokens"):
        prompt_text(t, tok, 10)


def test_summarize_cli_uses_the_summary_model_by_default(trained, tmp_path, monkeypatch):
    """``summarize --method llm`` without ``--model``: the (here: tiny) shipped adapter, loaded once."""
    from apps.cli import main
    from summarize import model as sm_mod

    calls = []
    real = sm_mod.load_summary_model

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(sm_mod, "default_adapter_dir", lambda: Path(trained["summary"]["adapter_dir"]))
    monkeypatch.setattr(sm_mod, "load_summary_model", counted)
    files = sorted((trained["data"] / "transcript").glob("*.txt"))
    out = tmp_path / "out"
    rc = main(
        ["summarize", *map(str, files), "--out", str(out), "--method", "llm", "--max-words", "50", "-q"]
    )
    assert rc == 0
    assert len(calls) == 1
    for f in files:
        data = json.loads((out / f"{f.stem}.summary.json").read_text())
        assert data["method"] == "llm" and data["model"] == trained["cfg"].name
        assert (out / f"{f.stem}.summary.txt").read_text().strip()


def test_foundation_base_is_merged_and_hashed_before_merging(trained, monkeypatch):
    """``base: foundation``: the foundation's PEFT model is hashed (bit-exact) then merged into
    a plain model (here a tiny stand-in for :func:`core_training.foundation.load_foundation`)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    import core_training.foundation as fd
    from core_training.lora import add_lora
    from summarize.model import load_base

    def fake(adapter_dir=None, merged=True, hook=None):
        assert merged is False
        pm = add_lora(AutoModelForCausalLM.from_pretrained(trained["base"]), r=2, seed=3)
        with torch.no_grad():
            for n, p in pm.named_parameters():
                if "lora_B" in n:
                    p.fill_(0.05)
        return pm, AutoTokenizer.from_pretrained(trained["base"])

    monkeypatch.setattr(fd, "load_foundation", fake)
    m1, _tok, sha1 = load_base("foundation")
    m2, _tok, sha2 = load_base("foundation")
    plain, _tok, sha_plain = load_base(str(trained["base"]))
    assert sha1 == sha2 != sha_plain and not hasattr(m1, "peft_config")
    ids = torch.tensor([[1, 5, 9, 14]])
    with torch.no_grad():
        assert torch.equal(m1(ids).logits, m2(ids).logits)
        assert not torch.allclose(m1(ids).logits, plain(ids).logits)  # the adapter is merged in


def test_train_summary_config_errors_name_the_field(tmp_path):
    from core_training.recipes.train_summary import TrainSummaryConfig

    with pytest.raises(ValueError, match="styles"):
        TrainSummaryConfig(out=str(tmp_path), base="gemma3-270m", styles=("4",))
    with pytest.raises(ValueError, match="prompt_tokens"):
        TrainSummaryConfig(out=str(tmp_path), base="gemma3-270m", prompt_tokens=8)
    with pytest.raises(ValueError, match="base"):
        TrainSummaryConfig(out=str(tmp_path), base=str(tmp_path / "absent"))
    TrainSummaryConfig(out=str(tmp_path))  # the default base, the foundation, is checked on load


@pytest.mark.slow
def test_shipped_adapter_summarises_a_debate_with_the_cli(tmp_path):
    """The real shipped adapter (Gemma 3 270M base) through ``llm4all summarize --method llm``."""
    from apps.cli import main
    from summarize.model import default_adapter_dir

    if not (default_adapter_dir() / "summary_model.json").exists():
        pytest.skip("summary adapter not shipped in summarize/adapters")
    meta = json.loads((default_adapter_dir() / "summary_model.json").read_text())
    try:
        from summarize.model import load_base

        load_base(meta["base"])
    except (FileNotFoundError, RuntimeError, ValueError) as e:
        pytest.skip(f"base model {meta['base']} unavailable: {e}")
    src = shared("fredsum", "transcript", "Autain_Attal_Bardella--Partie_2_Ecologie.txt")
    out = tmp_path / "out"
    assert main(["summarize", str(src), "--out", str(out), "--method", "llm", "-q"]) == 0
    data = json.loads((out / f"{src.stem}.summary.json").read_text())
    assert data["model"] == meta["name"] and data["word_count"] >= 20
    assert "Bardella" in data["text"] or "Attal" in data["text"] or "Autain" in data["text"]
