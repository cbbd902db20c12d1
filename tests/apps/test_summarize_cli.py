"""``llm4all summarize``: batch behaviour (bad files reported, exit code, atomic outputs, reruns)."""

from __future__ import annotations

import json
import os

import pytest

from apps.cli import main as cli
from asr.transcript import write_json

from ..conftest import shared
from ..summarize.helpers import fredsum_text, transcript


@pytest.fixture
def inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "debat_ecole.txt").write_bytes(fredsum_text().encode("utf-8"))
    write_json(transcript(source="reunion.json"), d / "reunion.json")
    (d / "vide.json").write_text("", encoding="utf-8")  # bad: empty file
    (d / "notes.md").write_text("ignored: not a transcript", encoding="utf-8")
    return d


BOOKKEEPING = ("manifest.json", "index.csv", "index.jsonl")


def test_batch_reports_bad_files_exits_1_and_reruns_skip(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli(["summarize", str(inputs), "--out", str(out), "--max-words", "40", "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "2 traité(s)" in err and "1 en échec" in err and "vide.json" in err
    assert sorted(p.name for p in out.iterdir() if p.name not in BOOKKEEPING) == [
        "debat_ecole.summary.json",
        "debat_ecole.summary.txt",
        "reunion.summary.json",
        "reunion.summary.txt",
    ]
    data = json.loads((out / "debat_ecole.summary.json").read_text(encoding="utf-8"))
    assert data["method"] == "extractive" and data["model"] is None and data["max_words"] == 40
    assert 0 < data["word_count"] <= 40 and data["source"] == "debat_ecole.txt"
    assert "synthétiques" in data["input_format"]
    text = (out / "debat_ecole.summary.txt").read_text(encoding="utf-8")
    assert text.strip() == data["text"] and ("Jean Martin : " in text or "Élise Bernard : " in text)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left

    # rerun: finished files are skipped (outputs untouched), the bad one fails again
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    rc = cli(["summarize", str(inputs), "--out", str(out), "--max-words", "40", "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and "0 traité(s), 2 ignoré(s)" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before

    # our own outputs in the input folder are not taken as inputs; --overwrite redoes
    os.remove(inputs / "vide.json")
    for _ in range(2):
        rc = cli(["summarize", str(inputs), "--out", str(inputs), "--overwrite", "-q"])
        err = capsys.readouterr().err
        assert rc == 0 and "2 traité(s), 0 ignoré(s) (déjà faits), 0 en échec" in err


def test_bad_arguments_exit_2_with_a_french_message(tmp_path, capsys):
    assert cli(["summarize", "x.json", "--out", str(tmp_path), "--max-words", "3"]) == 2
    assert "max_words" in capsys.readouterr().err
    assert cli(["summarize", "x.json", "--out", str(tmp_path), "--model", "gemma3-270m"]) == 2
    assert "--method llm" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("x")
    assert cli(["summarize", "x.json", "--out", str(f)]) == 2
    with pytest.raises(SystemExit) as e:
        cli(["summarize", "--help"])
    assert e.value.code == 0 and "Résumer des transcriptions" in capsys.readouterr().out


def test_missing_model_directory_is_a_clear_error(inputs, tmp_path, capsys):
    rc = cli(
        [
            "summarize",
            str(inputs / "reunion.json"),
            "--out",
            str(tmp_path / "o"),
            "--method",
            "llm",
            "--model",
            str(tmp_path / "nope"),
        ]
    )
    assert rc == 2 and "nope" in capsys.readouterr().err


def test_llm_method_with_a_tiny_model_directory(inputs, tmp_path, capsys):
    from tests.tiny_llm import save_tiny_llama

    model = save_tiny_llama(tmp_path / "tiny")
    out = tmp_path / "out"
    rc = cli(
        [
            "summarize",
            str(inputs / "reunion.json"),
            "--out",
            str(out),
            "--method",
            "llm",
            "--model",
            str(model),
            "--max-words",
            "20",
            "-q",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    data = json.loads((out / "reunion.summary.json").read_text(encoding="utf-8"))
    assert data["method"] == "llm" and data["model"] == str(model) and 0 < data["word_count"] <= 20


def test_simsamu_folder_gives_one_summary_per_call(tmp_path, capsys):
    simsamu = shared("simsamu")
    rec = sorted(p for p in simsamu.iterdir() if p.is_dir())[0]
    out = tmp_path / "out"
    assert cli(["summarize", str(rec), "--out", str(out), "--kind", "call", "-q"]) == 0
    names = sorted(p.name for p in out.iterdir() if p.name not in BOOKKEEPING)
    assert names == [f"{rec.name}.summary.json", f"{rec.name}.summary.txt"]
    data = json.loads((out / f"{rec.name}.summary.json").read_text(encoding="utf-8"))
    assert data["input_format"] == "json" and data["kind"] == "call" and data["text"]


@pytest.mark.slow
def test_audio_input_is_transcribed_then_summarised(example_call, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(["summarize", str(example_call), "--out", str(out), "--kind", "call", "-q"]) == 0
    data = json.loads((out / "appel_exemple.summary.json").read_text(encoding="utf-8"))
    assert data["input_format"].startswith("audio") and data["text"]
    assert set(data["speakers"]) <= {"regulateur", "appelant"}
