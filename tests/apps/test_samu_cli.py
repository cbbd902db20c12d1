"""``llm4all samu-form`` and ``llm4all evaluate-samu`` end to end (batch behaviour, outputs)."""

from __future__ import annotations

import json

import pytest

from apps.cli import main
from asr.transcript import write_transcript
from tests.conftest import shared
from tests.samu.test_rules import AVC_CHILD


@pytest.fixture(autouse=True)
def _hubsante(monkeypatch):
    monkeypatch.setenv("LLM4ALL_HUBSANTE", str(shared("hubsante")))


def test_samu_form_batch(tmp_path, capsys):
    good = tmp_path / "in" / "appel.json"
    good.parent.mkdir()
    write_transcript(AVC_CHILD, good)
    (tmp_path / "in" / "casse.json").write_text("{pas du json")
    simsamu = shared("simsamu", "reu_covid", "reu_covid.srt")
    out = tmp_path / "out"
    rc = main(
        [
            "samu-form",
            str(tmp_path / "in"),
            str(simsamu),
            str(tmp_path / "absent.json"),
            "--out",
            str(out),
            "-q",
        ]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert "2 traité(s)" in err and "2 en échec" in err and "casse.json" in err and "absent.json" in err
    form = json.loads((out / "appel.form.json").read_text())
    assert form["extractor"] == "hybrid-motif"  # the default: the shipped SAMU model for the motif
    assert form["fields"]["patient.age"]["value"] == "16 ans"
    assert form["fields"]["patient.age"]["evidence"][0]["quote"] == "seize ans"
    msg = json.loads((out / "appel.rs-eda.json").read_text())
    assert msg["qualification"]["healthMotive"]["code"] == "M03.08"
    assert (out / "reu_covid.rs-eda.json").exists()
    # rerun: finished inputs are skipped
    rc = main(["samu-form", str(good), "--out", str(out), "-q"])
    assert rc == 0 and "1 ignoré(s)" in capsys.readouterr().err


def test_samu_form_pseudonymized_export(tmp_path, capsys):
    sim = shared("simsamu", "dj_2022_avc_16_ans", "dj_2022_avc_16_ans.json")
    out, key = tmp_path / "out", tmp_path / "cle.json"
    args = ["samu-form", str(sim), "--out", str(out), "--extractor", "rules"]
    assert main([*args, "--pseudonymize-key", str(key), "-q"]) == 0
    text = (out / "dj_2022_avc_16_ans.form.json").read_text()
    assert "RICHARDO" not in text.upper() and key.exists()
    assert main([*args, "--pseudonymize-key", str(out / "k.json")]) == 2


def test_samu_form_bad_arguments(tmp_path, capsys):
    assert (
        main(["samu-form", "x.json", "--out", str(tmp_path), "--extractor", "rules", "--model", "smollm2"])
        == 2
    )
    assert "--model" in capsys.readouterr().err
    # with the default extractor --model names a SAMU adapter folder: a missing one is one clear line
    src = tmp_path / "appel.json"
    write_transcript(AVC_CHILD, src)
    assert (
        main(["samu-form", str(src), "--out", str(tmp_path / "o"), "--model", str(tmp_path / "absent")]) == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "absent" in err


def test_evaluate_samu_rules(tmp_path, capsys):
    report = tmp_path / "r.json"
    rc = main(
        [
            "evaluate-samu",
            "--split",
            "test2",
            "--limit",
            "4",
            "--extractor",
            "rules",
            "-q",
            "--json",
            str(report),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "micro (champs cibles *)" in out and "patient.age" in out
    d = json.loads(report.read_text())
    assert d["calls"] == 4 and 0.0 <= d["micro_target"]["f1"] <= 1.0
    assert set(d["per_field"]) >= {"qualification.motif", "decision.type"}


def test_evaluate_samu_scores_written_forms(tmp_path, capsys):
    out = tmp_path / "forms"
    calls = ["dj_2022_avc_16_ans", "reu_covid"]
    srcs = [str(shared("simsamu", c, f"{c}.json")) for c in calls]
    assert main(["samu-form", *srcs, "--out", str(out), "--extractor", "rules", "-q"]) == 0
    gold = tmp_path / "gold"
    gold.mkdir()
    from samu.gold import GOLD_DIR

    for c in calls:
        (gold / f"{c}.json").write_text((GOLD_DIR / f"{c}.json").read_text())
    rc = main(["evaluate-samu", "--gold", str(gold), "--pred", str(out), "-q"])
    assert rc == 0
    assert "2 appels" in capsys.readouterr().out
    (gold / "bad.json").write_text('{"call": "bad"}')
    assert main(["evaluate-samu", "--gold", str(gold), "--pred", str(out), "-q"]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_samu_form_llm_with_a_model_directory(tmp_path, capsys):
    """Any transformers model directory works as --model (here a tiny random Llama saved with
    the bundled SmolLM2 tokenizer): the batch completes and the RS-EDA message validates."""
    from tests.tiny_llm import save_tiny_llama

    model_dir = save_tiny_llama(tmp_path / "modele")
    src = tmp_path / "appel.json"
    write_transcript(AVC_CHILD, src)
    out = tmp_path / "out"
    rc = main(
        ["samu-form", str(src), "--out", str(out), "--extractor", "llm", "--model", str(model_dir), "-q"]
    )
    assert rc == 0, capsys.readouterr().err
    form = json.loads((out / "appel.form.json").read_text())
    assert form["extractor"] == "llm"
    from samu.export import validate_rs_eda

    assert validate_rs_eda(json.loads((out / "appel.rs-eda.json").read_text())) == []
    assert (
        main(
            [
                "samu-form",
                str(src),
                "--out",
                str(out),
                "--extractor",
                "llm",
                "--model",
                str(tmp_path / "nope"),
            ]
        )
        == 2
    )


@pytest.mark.slow
def test_samu_form_from_audio(tmp_path, example_call):
    """Audio goes through the speech front end, then the form: the bundled example call is a
    man who fell at home (robotic voice, so only robust fields are checked)."""
    out = tmp_path / "out"
    assert main(["samu-form", str(example_call), "--out", str(out), "-q"]) == 0
    form = json.loads((out / f"{example_call.name.split('.')[0]}.form.json").read_text())
    assert form["fields"]["caller.type"]["value"] == "FAMILLE"
    assert form["fields"]["qualification.motif"]["value"] == "M06.03"


def test_global_quiet_flag_reaches_the_subcommand(tmp_path, capsys):
    src = tmp_path / "appel.json"
    write_transcript(AVC_CHILD, src)
    assert main(["-q", "samu-form", str(src), "--out", str(tmp_path / "o"), "--extractor", "rules"]) == 0
    assert "appels:" not in capsys.readouterr().err  # no progress bar
