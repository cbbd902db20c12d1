"""``llm4all process --engine ray``: a local 2-worker Ray gives the local engine's outputs,
manifest and index; a failure stays one file's failure; a rerun resumes."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from apps.cli import main as cli
from tests.conftest import shared

pytest.importorskip("ray", reason="Ray is installed by the project's setup (make test)")

SAME_FILES = (".json", ".rttm", ".srt", ".vtt", ".txt", ".form.json", ".summary.txt")


def _untimed(x):
    if isinstance(x, dict):
        return {k: _untimed(v) for k, v in x.items() if k not in ("creation", "reception")}
    if isinstance(x, list):
        return [_untimed(v) for v in x]
    return x


def _rows(out):
    return {r["output"]: r for r in csv.DictReader((out / "index.csv").open())}


def test_ray_two_workers_match_the_local_engine(tmp_path, capsys, medkit_dir):
    simsamu = shared("simsamu")
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(medkit_dir / "dialog.ogg", d / "dialog.ogg")  # audio too: Whisper in the workers
    for rec in sorted(p for p in simsamu.iterdir() if p.is_dir())[:4]:
        shutil.copy(rec / f"{rec.name}.json", d / f"{rec.name}.json")
    (d / "cassé.json").write_text('{"segments": [{"start": "x"}]}')
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    assert cli(["-q", "process", str(d), "--out", str(local), "--extractor", "rules"]) == 1
    on_ray = [
        "-q",
        "process",
        str(d),
        "--out",
        str(ray_out),
        "--engine",
        "ray",
        "--workers",
        "2",
        "--extractor",
        "rules",
    ]
    capsys.readouterr()
    rc = cli(on_ray)
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "5 traité(s)" in err and "1 en échec" in err and "cassé.json" in err
    rows_local, rows_ray = _rows(local), _rows(ray_out)
    assert rows_ray.keys() == rows_local.keys()
    for k, r in rows_ray.items():
        assert {f: r[f] for f in ("motif", "priority", "decision", "status", "speakers")} == {
            f: rows_local[k][f] for f in ("motif", "priority", "decision", "status", "speakers")
        }
    for stem, r in rows_ray.items():
        if r["status"] != "done":
            continue
        for suffix in SAME_FILES:
            assert (ray_out / f"{stem}{suffix}").read_text() == (local / f"{stem}{suffix}").read_text()
        msg_l = json.loads((local / f"{stem}.rs-eda.json").read_text())
        msg_r = json.loads((ray_out / f"{stem}.rs-eda.json").read_text())
        assert _untimed(msg_r) == _untimed(msg_l)  # the messages' own creation times differ, nothing else
    manifest = json.loads((ray_out / "manifest.json").read_text())["entries"]
    assert len(manifest) == 5
    # a rerun resumes: nothing left but the broken file
    rc = cli(on_ray)
    err = capsys.readouterr().err
    assert rc == 1 and "0 traité(s), 5 ignoré(s)" in err
