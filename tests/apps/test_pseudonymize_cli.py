"""`llm4all pseudonymize`: outputs and key apart, batch behaviour, restore, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from apps.cli import main
from asr.transcript import Segment, Transcript, Word, read_transcript, write_transcript
from samu.pseudonymize import PseudoKey

ROOT = Path(__file__).resolve().parents[2]


def _transcript(*texts: str) -> Transcript:
    segs, t = [], 0.0
    for i, text in enumerate(texts):
        words = tuple(Word(w, t + 0.3 * k, t + 0.3 * (k + 1)) for k, w in enumerate(text.split()))
        segs.append(Segment(t, t + 0.3 * len(words), "regulateur" if i % 2 == 0 else "appelant", text, words))
        t += 0.3 * len(words) + 0.2
    return Transcript(tuple(segs), language="fr")


def _inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    write_transcript(
        _transcript("bonjour docteur Garnier du SAMU", "je m'appelle Anne Roux, j'habite 5 rue des Lilas"),
        d / "a.json",
    )
    write_transcript(
        _transcript("docteur Garnier à l'appareil", "mon numéro c'est le 06 11 22 33 44"), d / "b.json"
    )
    (d / "c.srt").write_text("1\n00:00:00,000 --> 00:00:02,000\n[appelant] madame Roux est tombée\n")
    (d / "broken.json").write_text("{not json")
    (d / "notes.md").write_text("ignored: not a transcript extension")
    return d


def test_batch_outputs_key_and_bad_file(tmp_path, capsys):
    d = _inputs(tmp_path)
    out, key = tmp_path / "out", tmp_path / "secret" / "key.json"
    rc = main(
        ["pseudonymize", str(d), str(tmp_path / "missing.json"), "--out", str(out), "--key", str(key), "-q"]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert "3 traité(s), 0 ignoré(s) (déjà faits), 2 en échec" in err
    assert "broken.json" in err and "missing.json" in err and "introuvable" in err
    bookkeeping = ("manifest.json", "index.csv", "index.jsonl")
    names = sorted(p.name for p in out.iterdir() if p.name not in bookkeeping)
    assert names == ["a.pseudo.json", "b.pseudo.json", "c.pseudo.json"]
    a = read_transcript(out / "a.pseudo.json")
    b = read_transcript(out / "b.pseudo.json")
    c = read_transcript(out / "c.pseudo.json")
    everything = "".join(p.read_text() for p in out.iterdir())
    for secret in ("Garnier", "Anne", "Roux", "Lilas", "06 11"):
        assert secret not in everything, secret
    # one key for the batch: the same doctor/caller has the same placeholder in every file
    assert a.segments[0].text == "bonjour docteur [NOM_1] du SAMU"
    assert b.segments[0].text == "docteur [NOM_1] à l'appareil"
    assert c.segments[0].text == "madame [NOM_3] est tombée"
    assert b.segments[1].words[-1].text == "[TEL_1]"
    k = PseudoKey.load(key)
    assert k.get("[NOM_1]") == "Garnier" and k.get("[TEL_1]") == "06 11 22 33 44"
    assert key.stat().st_mode & 0o077 == 0
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_restore_round_trip(tmp_path, capsys):
    d = _inputs(tmp_path)
    (d / "broken.json").unlink()
    out, key, back = tmp_path / "out", tmp_path / "key.json", tmp_path / "back"
    assert main(["pseudonymize", str(d), "--out", str(out), "--key", str(key), "-q"]) == 0
    assert main(["pseudonymize", str(out), "--out", str(back), "--key", str(key), "--restore", "-q"]) == 0
    assert "3 traité(s)" in capsys.readouterr().err
    for name in ("a", "b"):
        orig = read_transcript(d / f"{name}.json")
        restored = read_transcript(back / f"{name}.restored.json")
        assert [s.text for s in restored.segments] == [s.text for s in orig.segments]
    # a key that does not match: the file fails, the batch says so
    PseudoKey({"[NOM_1]": "Autre"}).save(tmp_path / "other.json")
    rc = main(
        [
            "pseudonymize",
            str(out),
            "--out",
            str(tmp_path / "b2"),
            "--key",
            str(tmp_path / "other.json"),
            "--restore",
        ]
    )
    assert rc == 1 and "not in the key" in capsys.readouterr().err


def test_rerun_skips_and_key_is_extended(tmp_path, capsys):
    d = _inputs(tmp_path)
    (d / "broken.json").unlink()
    out, key = tmp_path / "out", tmp_path / "key.json"
    assert main(["pseudonymize", str(d / "a.json"), "--out", str(out), "--key", str(key), "-q"]) == 0
    first = PseudoKey.load(key).entries
    capsys.readouterr()
    assert main(["pseudonymize", str(d), "--out", str(out), "--key", str(key), "-q"]) == 0
    assert "2 traité(s), 1 ignoré(s)" in capsys.readouterr().err
    k = PseudoKey.load(key).entries
    assert all(k[p] == v for p, v in first.items())  # earlier placeholders kept
    assert read_transcript(out / "b.pseudo.json").segments[0].text == "docteur [NOM_1] à l'appareil"
    assert (
        main(["pseudonymize", str(d / "a.json"), "--out", str(out), "--key", str(key), "--overwrite", "-q"])
        == 0
    )
    assert "1 traité(s)" in capsys.readouterr().err


def test_key_inside_output_dir_is_refused(tmp_path, capsys):
    d = _inputs(tmp_path)
    out = tmp_path / "out"
    for key in (out / "key.json", out / "sub" / "key.json"):
        assert main(["pseudonymize", str(d), "--out", str(out), "--key", str(key)]) == 2
        assert "dossier de sortie" in capsys.readouterr().err
        assert not key.exists()
    assert not out.exists() or not any(out.iterdir())


def test_bad_arguments_exit_2(tmp_path, capsys):
    d = _inputs(tmp_path)
    out = tmp_path / "out"
    bad_key = tmp_path / "bad.json"
    bad_key.write_text(json.dumps({"format": "llm4all-pseudo-key", "version": 1, "entries": {"NOM": "x"}}))
    assert main(["pseudonymize", str(d), "--out", str(out), "--key", str(bad_key)]) == 2
    err = capsys.readouterr().err
    assert "clé illisible" in err and "bad placeholder" in err and not out.exists()
    assert (
        main(
            [
                "pseudonymize",
                str(d),
                "--out",
                str(out),
                "--key",
                str(tmp_path / "k.json"),
                "--kinds",
                "NOM,IBAN",
            ]
        )
        == 2
    )
    assert "IBAN" in capsys.readouterr().err
    assert (
        main(["pseudonymize", str(d), "--out", str(out), "--key", str(tmp_path / "none.json"), "--restore"])
        == 2
    )
    assert "introuvable" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("")
    assert main(["pseudonymize", str(d), "--out", str(f), "--key", str(tmp_path / "k.json")]) == 2
    assert "pas un dossier" in capsys.readouterr().err


def test_two_concurrent_runs_share_one_key(tmp_path, simsamu_dir, capsys):
    """Two `llm4all pseudonymize` at once on one key: no entry lost, no placeholder for two people."""
    files = sorted(simsamu_dir.glob("*/*.json"))
    if len(files) < 4:
        pytest.skip(f"need simsamu transcripts under {simsamu_dir}/*/*.json")
    halves = (files[0::2], files[1::2])
    key, out, back = tmp_path / "secret" / "key.json", tmp_path / "out", tmp_path / "back"
    cmd = [sys.executable, "-m", "apps.cli", "pseudonymize", "--key", str(key), "--out", str(out), "-q"]
    procs = [
        subprocess.Popen([*cmd, *map(str, half)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for half in halves
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    rc = main(["pseudonymize", str(out), "--out", str(back), "--key", str(key), "--restore", "-q"])
    assert rc == 0, capsys.readouterr().err  # e.g. "[NOM_31] is not in the key": an entry was lost
    wrong = []
    for f in files:
        orig = read_transcript(f)
        restored = read_transcript(back / f"{f.stem}.restored.json")
        if [s.text for s in restored.segments] != [s.text for s in orig.segments]:
            wrong.append(f.stem)
    assert not wrong, f"restored text differs from the original in {len(wrong)} call(s): {wrong[:5]}"
    assert key.stat().st_mode & 0o077 == 0


def test_run_where_every_input_is_missing_writes_no_key(tmp_path, capsys):
    key = tmp_path / "key.json"
    rc = main(
        ["pseudonymize", str(tmp_path / "nope.json"), "--out", str(tmp_path / "out"), "--key", str(key)]
    )
    assert rc == 1 and "introuvable" in capsys.readouterr().err
    assert not key.exists()
