"""The one batch runner: input expansion, stable names, manifest, atomic output sets, exit codes."""

from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import pytest

from apps.cli import main as cli
from apps.runner import expand_inputs
from asr.transcript import Segment, Transcript, read_transcript, write_transcript
from tests.conftest import shared

BOOKKEEPING = ("manifest.json", "index.csv", "index.jsonl")


def _call(text_reg: str, text_app: str) -> Transcript:
    segs = (
        Segment(0.0, 2.0, "regulateur", text_reg),
        Segment(2.5, 6.0, "appelant", text_app),
        Segment(6.5, 8.0, "regulateur", "d'accord je vous envoie les pompiers tout de suite"),
    )
    return Transcript(segs, language="fr", duration=8.0, speakers=("regulateur", "appelant"))


def _write_call(path: Path, who: str) -> None:
    t = _call("samu bonjour je vous écoute", f"oui c'est {who} il est tombé dans l'escalier il saigne")
    write_transcript(t, path, "json")


def test_expansion_is_recursive_and_takes_one_input_per_call(tmp_path):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / ".hidden").mkdir()
    _write_call(d / "x.json", "mon père")
    for name in ("x.form.json", "x.rs-eda.json", "x.summary.json", "x.summary.txt", "x.report.html"):
        (d / name).write_text("{}")
    (d / "x.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nbonjour\n")
    (d / "manifest.json").write_text("{}")
    (d / "index.jsonl").write_text("")
    _write_call(d / "sub" / "y.json", "ma mère")
    (d / "sub" / "y.wav").write_bytes(b"RIFF")
    (d / ".hidden" / "z.json").write_text("{}")
    files, bad = expand_inputs([d])
    assert not bad
    # x.json once (never its form, message or summary as a transcript); y.json over y.wav
    assert sorted(f.path.relative_to(d).as_posix() for f in files) == ["sub/y.json", "x.json"]
    assert sorted(f.relative_stem for f in files) == ["sub/y", "x"]


def test_same_name_in_two_folders_keeps_its_own_outputs(tmp_path, capsys):
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    _write_call(tmp_path / "d1" / "call.json", "mon père")
    _write_call(tmp_path / "d2" / "call.json", "ma voisine")
    out = tmp_path / "out"
    args = ["-q", "samu-form", "--out", str(out), "--extractor", "rules"]
    assert (
        cli([*args[:2], str(tmp_path / "d1" / "call.json"), str(tmp_path / "d2" / "call.json"), *args[2:]])
        == 0
    )
    capsys.readouterr()
    manifest = json.loads((out / "manifest.json").read_text())["entries"]
    stems = {Path(e["input"]).parent.name: stem for stem, e in manifest.items()}
    assert len(set(stems.values())) == 2  # two distinct output names
    d2_form = out / f"{stems['d2']}.form.json"
    caller = json.loads(d2_form.read_text())["fields"]["caller.type"]["evidence"][0]["quote"]
    assert "voisine" in caller
    # d2 alone: done (same content, same settings), and the outputs that count are d2's own
    assert cli([*args[:2], str(tmp_path / "d2" / "call.json"), *args[2:]]) == 0
    assert "0 traité(s), 1 ignoré(s)" in capsys.readouterr().err
    # d2 changed: redone, into d2's outputs, d1's untouched
    d1_before = (out / f"{stems['d1']}.form.json").read_text()
    _write_call(tmp_path / "d2" / "call.json", "mon collègue")
    assert cli([*args[:2], str(tmp_path / "d2" / "call.json"), *args[2:]]) == 0
    assert "1 traité(s)" in capsys.readouterr().err
    assert "collègue" in d2_form.read_text()
    assert (out / f"{stems['d1']}.form.json").read_text() == d1_before


def test_full_disk_leaves_no_half_output_set(tmp_path, capsys, monkeypatch):
    _write_call(tmp_path / "call.json", "mon père")
    out = tmp_path / "out"
    real = Path.write_text

    def full_disk(self, text, *a, **kw):
        if self.name.endswith(".rs-eda.json"):
            raise OSError(28, "No space left on device")
        return real(self, text, *a, **kw)

    monkeypatch.setattr(Path, "write_text", full_disk)
    assert (
        cli(["-q", "samu-form", str(tmp_path / "call.json"), "--out", str(out), "--extractor", "rules"]) == 1
    )
    err = capsys.readouterr().err
    assert "No space left" in err and err.count("ÉCHEC") == 1
    assert not list(out.glob("call.*")), "no form without its RS-EDA message"
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]
    monkeypatch.setattr(Path, "write_text", real)
    assert (
        cli(["-q", "samu-form", str(tmp_path / "call.json"), "--out", str(out), "--extractor", "rules"]) == 0
    )  # the rerun does it
    assert (out / "call.form.json").exists() and (out / "call.rs-eda.json").exists()


def test_settings_that_fail_for_every_input_exit_2_at_once(tmp_path, capsys, medkit_dir):
    t0 = time.perf_counter()
    rc = cli(
        [
            "-q",
            "process",
            str(medkit_dir / "dialog.ogg"),
            "--out",
            str(tmp_path / "o"),
            "--model",
            "no/such-whisper",
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no/such-whisper" in err
    assert time.perf_counter() - t0 < 30
    rc = cli(
        ["-q", "process", str(medkit_dir / "dialog.ogg"), "--out", str(tmp_path / "o"), "--language", "zz"]
    )
    assert rc == 2 and "zz" in capsys.readouterr().err
    # an --out that cannot be created (even by root): one line, before any work
    assert cli(["-q", "process", str(medkit_dir / "dialog.ogg"), "--out", "/proc/llm4all-out"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_unwritable_out_is_one_line_before_any_work(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("")
    assert cli(["-q", "process", "x.json", "--out", str(f / "sub")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--out" in err


def test_ctrl_c_is_one_line_and_exit_130_and_the_rerun_resumes(tmp_path, capsys, monkeypatch):
    for i in range(3):
        _write_call(tmp_path / f"c{i}.json", "mon père")
    out = tmp_path / "out"
    import apps.pipeline

    real = apps.pipeline._process
    calls = []

    def interrupt_second(*a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(apps.pipeline, "_process", interrupt_second)
    assert cli(["-q", "samu-form", str(tmp_path), "--out", str(out), "--extractor", "rules"]) == 130
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "interrompu" in err
    monkeypatch.setattr(apps.pipeline, "_process", real)
    assert cli(["-q", "samu-form", str(tmp_path), "--out", str(out), "--extractor", "rules"]) == 0
    assert "2 traité(s), 1 ignoré(s)" in capsys.readouterr().err


def test_process_writes_every_artifact_and_the_index(tmp_path, capsys):
    simsamu = shared("simsamu")
    recs = sorted(p for p in simsamu.iterdir() if p.is_dir())[:3]
    d = tmp_path / "in"
    for r in recs:
        shutil.copytree(r, d / r.name)
    (d / "broken.json").write_text("{pas du json")
    out = tmp_path / "out"
    assert cli(["-q", "process", str(d), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "3 traité(s)" in err and "1 en échec" in err and "broken.json" in err
    for r in recs:
        stem = f"{r.name}/{r.name}"
        for suffix in (
            ".json",
            ".rttm",
            ".srt",
            ".vtt",
            ".txt",
            ".form.json",
            ".rs-eda.json",
            ".summary.txt",
            ".summary.json",
            ".report.html",
        ):
            assert (out / f"{stem}{suffix}").exists(), suffix
        html = (out / f"{stem}.report.html").read_text()
        form = json.loads((out / f"{stem}.form.json").read_text())
        quote = next(iter(form["fields"].values()))["evidence"][0]["quote"]
        assert "Fiche SAMU" in html and "Résumé" in html and quote.split()[0] in html
    rows = list(csv.DictReader((out / "index.csv").open()))
    assert len(rows) == 4
    by_status = {r["status"] for r in rows}
    assert by_status == {"done", "error"}
    done = [r for r in rows if r["status"] == "done"]
    for r in done:
        form = json.loads((out / f"{r['output']}.form.json").read_text())
        assert r["motif"] == (form["fields"].get("qualification.motif") or {}).get("value", "")
        assert float(r["duration"]) > 0 and int(r["speakers"]) >= 2
    jl = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert [j["output"] for j in jl] == [r["output"] for r in rows]

    # strict JSON everywhere
    def no_nan(c):
        raise AssertionError(f"non-strict JSON constant {c}")

    for p in out.rglob("*.json"):
        json.loads(p.read_text(), parse_constant=no_nan)
    t = read_transcript(out / f"{recs[0].name}/{recs[0].name}.json")
    assert t.segments


def test_an_output_folder_inside_the_input_folder_is_not_input(tmp_path, capsys):
    _write_call(tmp_path / "call.json", "mon père")
    out = tmp_path / "sorties"
    assert cli(["-q", "process", str(tmp_path), "--out", str(out), "--extractor", "rules"]) == 0
    assert "1 traité(s)" in capsys.readouterr().err
    assert cli(["-q", "process", str(tmp_path), "--out", str(out), "--extractor", "rules"]) == 0
    assert "0 traité(s), 1 ignoré(s)" in capsys.readouterr().err  # call.json of sorties/ is not a new call


def test_a_device_this_machine_lacks_is_exit_2_before_any_file(tmp_path, capsys, medkit_dir):
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("this machine has a CUDA device: --device cuda is valid here")
    rc = cli(
        ["-q", "transcribe", str(medkit_dir / "dialog.ogg"), "--out", str(tmp_path / "o"), "--device", "cuda"]
    )
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "cuda" in err.lower()
    assert not list((tmp_path / "o").glob("dialog.*"))
