"""`llm4all transcribe` batch behaviour: bad files reported, atomic outputs, reruns, exit codes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import soundfile as sf

from apps.cli import main
from asr.transcript import read_transcript
from tests.conftest import SR


def _mixed_dir(tmp_path, medkit_dir):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(medkit_dir / "dialog.ogg", d / "dialog.ogg")
    (d / "notes.wav").write_text("pas de l'audio")  # text renamed .wav
    (d / "empty.mp3").write_bytes(b"")
    sf.write(d / "silence.flac", np.zeros(SR * 3, np.float32), SR)
    (d / "readme.txt").write_text("ignored: not an audio extension")
    return d


def test_batch_mixed_directory(tmp_path, medkit_dir, capsys):
    d = _mixed_dir(tmp_path, medkit_dir)
    out = tmp_path / "out"
    rc = main(["-q", "transcribe", str(d), str(tmp_path / "missing.wav"), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1
    assert "2 traité(s), 0 ignoré(s) (déjà faits), 3 en échec" in err
    assert "notes.wav" in err and "cannot decode audio" in err
    assert "empty.mp3" in err and "empty file" in err
    assert "missing.wav" in err and "introuvable" in err
    names = sorted(
        p.name for p in out.iterdir() if p.name not in ("manifest.json", "index.csv", "index.jsonl")
    )
    assert names == sorted(
        f"{s}.{f}" for s in ("dialog", "silence") for f in ("json", "rttm", "srt", "vtt", "txt")
    )
    t = read_transcript(out / "dialog.json")
    assert len(t.speakers) == 2 and "orléans" in t.text.lower()
    assert set(t.roles.values()) == {"regulateur", "appelant"}
    assert json.loads((out / "silence.json").read_text())["segments"] == []
    assert (out / "silence.rttm").read_text() == ""


def test_rerun_skips_unless_overwrite(tmp_path, medkit_dir, capsys):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(medkit_dir / "dialog.ogg", d / "dialog.ogg")
    out = tmp_path / "out"
    assert main(["-q", "transcribe", str(d), "--out", str(out), "--formats", "json,txt"]) == 0
    capsys.readouterr()
    stamp = (out / "dialog.json").stat().st_mtime_ns
    assert main(["-q", "transcribe", str(d), "--out", str(out), "--formats", "json,txt"]) == 0
    assert "0 traité(s), 1 ignoré(s)" in capsys.readouterr().err
    assert (out / "dialog.json").stat().st_mtime_ns == stamp
    # a missing output format is not "done"
    assert main(["-q", "transcribe", str(d), "--out", str(out), "--formats", "json,srt"]) == 0
    assert "1 traité(s)" in capsys.readouterr().err and (out / "dialog.srt").exists()
    assert main(["-q", "transcribe", str(d), "--out", str(out), "--formats", "json", "--overwrite"]) == 0
    assert "1 traité(s)" in capsys.readouterr().err
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["-q", "transcribe", "x.wav", "--out", str(tmp_path), "--formats", "json,docx"]) == 2
    assert "docx" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("")
    assert main(["-q", "transcribe", "x.wav", "--out", str(f)]) == 2
    assert "pas un dossier" in capsys.readouterr().err
    assert (
        main(
            [
                "-q",
                "transcribe",
                "x.wav",
                "--out",
                str(tmp_path),
                "--min-speakers",
                "3",
                "--max-speakers",
                "2",
            ]
        )
        == 2
    )
