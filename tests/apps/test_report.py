"""``llm4all report``: one self-contained HTML evaluation page from ``benchmarks/results/*.json``.

The expected numbers are read from the result files here, never written into the test.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct

import pytest

from apps.cli import main
from apps.report import SECTION_TITLES, build_report, fmt_number, fmt_percent
from tests.conftest import ROOT, SHARED

RESULTS = ROOT / "benchmarks" / "results"
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def fr(x: float, digits: int) -> str:
    """A number as the page writes it (decimal comma)."""
    return f"{x:.{digits}f}".replace(".", ",")


def visible_text(page: str) -> str:
    """What a reader sees: no embedded images, no tags, entities decoded."""
    page = IMG.sub("<img>", page)
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> str:
    if not list(RESULTS.glob("*.json")):
        pytest.skip(f"no benchmark results in {RESULTS}")
    tmp = tmp_path_factory.mktemp("report")
    results = tmp / "results"
    shutil.copytree(RESULTS, results)
    out = tmp / "rapport.html"
    assert main(["report", "--out", str(out), "--results", str(results), "-q"]) == 0
    return out.read_text(encoding="utf-8")


def test_page_is_self_contained_with_a_figure_per_section(page):
    import base64

    images = IMG.findall(page)
    assert len(images) >= 2 * len(SECTION_TITLES)  # a figure per part: 12 with the simsamu data
    for b64 in images:
        width, height = png_size(base64.b64decode(b64))
        assert width >= 600 and height >= 200
    sections = page.split("<section")[1:]
    assert len(sections) == len(SECTION_TITLES)
    for s in sections:
        assert "<img" in s and "<table" in s
    # nothing loaded from anywhere else: every src/href is embedded data or an in-page anchor
    assert not re.search(r'(?:src|href)="(?!data:image/png;base64,|#)', page)
    assert "<script" not in page


def test_french_headings_and_tuning_sentences(page):
    text = visible_text(page)
    for title in SECTION_TITLES:
        assert title in text
    for heading in (
        "Transcription de la parole (ASR)",
        "Diarisation et rôles des locuteurs",
        "Fiches d'appel SAMU",
        "Résumés (FREDSum)",
        "Cœur d'entraînement",
        "Pré-entraînement continu et oubli",
        "Matrice de confusion du motif",
    ):
        assert heading in text
    assert text.count("Données de réglage :") >= len(SECTION_TITLES)
    tuning = load("summaries.json")["tuning"]
    assert f"{tuning['dev_files']} fichiers FREDSum hors test" in text
    assert "dev : les appels sur lesquels les règles ont été écrites" in text


def test_numbers_from_the_results_appear(page):
    text = visible_text(page)
    asr = load("asr.json")["systems"]
    ours = asr["ours"]
    assert fr(100 * ours["synth"]["total"]["wer"], 1) + "\u00a0%" in text
    assert fr(100 * ours["fleurs"]["total"]["cer"], 1) + "\u00a0%" in text
    assert fr(100 * asr["ours-batched"]["synth"]["total"]["der"], 2) + "\u00a0%" in text
    assert fr(100 * ours["synth"]["der_word_segments"], 2) + "\u00a0%" in text
    if "openai-whisper" in asr:  # speed ratio against the reference implementation
        assert fr(asr["openai-whisper"]["speed"]["proc_s"] / ours["speed"]["proc_s"], 2) in text
    roles = load("roles.json")["full"]
    assert f"{roles['speakers']}" in text and fr(100 * roles["speaker_accuracy"], 1) + "\u00a0%" in text

    for f in sorted(RESULTS.glob("samu_*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        # one run, or "<system>/<split>" -> run (keys starting with "_" are metadata)
        runs = [d] if "per_field" in d else [v for k, v in d.items() if not k.startswith("_")]
        for r in runs:
            assert fr(r["micro_target"]["f1"], 3) in text, f.name
            assert fr(r["per_field"]["qualification.motif"]["f1"], 2) in text, f.name

    summaries = load("summaries.json")["systems"]
    for metric in ("rouge1", "rouge2", "rougeL"):
        assert fr(summaries["ours: extractif"]["common"][metric], 2) in text
        assert fr(summaries["ChatGPT"]["common"][metric], 2) in text

    student = load("distill.json")["models"]["gemma3-270m"]["rows"]["prune-activation@0.3"]
    assert f"{fr(student['x_teacher_before'], 2)}" in text and f"{fr(student['x_teacher_after'], 2)}" in text
    long_run = load("train_gemma_long.json")["cpt"]["table"]
    for row in long_run:
        assert f"{fr(row['old_ppl'][0], 2)} → {fr(row['old_ppl'][1], 2)}" in text
    base = load("compress.json")["models"]["gemma3-270m"]["rows"]["base"]
    assert fr(base["bpc"], 3) in text


def test_empty_transcripts_and_missing_values_are_flagged(page):
    text = visible_text(page)
    assert not re.search(r"\b(nan|NaN|None|null)\b", text)
    assert "—" in text  # openai-whisper did not run on every synthetic call
    for system, e in load("asr.json")["systems"].items():
        for row in e["synth"]["files"]:
            if row["ref_words"] and row["deletions"] == row["ref_words"] and not row["substitutions"]:
                assert re.search(rf"Transcription vide : [^\n]*/ {row['name']}", text), (system, row["name"])


def test_motif_confusion_on_the_dev_split(page):
    if not (SHARED / "simsamu").is_dir():
        pytest.skip("simsamu transcripts absent: the page shows a note instead")
    text = visible_text(page)
    splits = json.loads((ROOT / "samu" / "gold_splits.json").read_text(encoding="utf-8"))
    dev = splits["dev"]
    m = re.search(r"Motif exact sur (\d+) des (\d+) appels dev", text)
    assert m and int(m.group(2)) == len(dev) and 0 < int(m.group(1)) <= len(dev)
    section = visible_text(page.split("Matrice de confusion du motif")[1].split("<section")[0])
    for call in dev:  # every reference motif of the dev calls is a row of the table
        gold = json.loads((ROOT / "samu" / "gold" / f"{call}.json").read_text(encoding="utf-8"))
        motif = gold["fields"]["qualification.motif"]
        assert (motif or "(aucun)") in section, call


def test_unreadable_results_give_notes_not_a_crash(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "asr.json").write_text('{"systems": {"ours": ', encoding="utf-8")  # truncated
    (results / "roles.json").write_text("[]", encoding="utf-8")
    (results / "summaries.json").write_text('{"systems": []}', encoding="utf-8")
    (results / "samu_rules_dev.json").write_text('{"calls": 3}', encoding="utf-8")
    (results / "train.json").write_text("", encoding="utf-8")
    (results / "distill.json").write_text('{"models": {"m": {"rows": {"x@0.2": {"x_teacher_after": NaN}}}}}')
    pseudo = RESULTS / "pseudonymize.json"
    if pseudo.exists():
        shutil.copy(pseudo, results / pseudo.name)
    out = build_report(results, tmp_path / "out" / "rapport.html", simsamu_dir=tmp_path / "absent")
    page = out.read_text(encoding="utf-8")
    text = visible_text(page)
    for title in SECTION_TITLES:
        assert title in text
    assert "asr.json illisible (JSON invalide" in text
    assert "roles.json : structure inattendue" in text
    assert "structure inattendue dans summaries.json" in text
    assert "samu_rules_dev.json : structure inattendue" in text
    assert "train.json illisible" in text
    assert "compress.json absent" in text
    assert "Données simsamu absentes" in text
    assert not re.search(r"\b(nan|NaN|None)\b", text)
    if pseudo.exists():  # the readable file still gets its figure
        assert len(IMG.findall(page)) >= 1 and "Rappel par type de donnée personnelle" in text


def test_bad_arguments_exit_2_with_one_french_line(tmp_path, capsys):
    a_file = tmp_path / "fichier"
    a_file.write_text("x")
    for argv in (
        ["report", "--out", str(tmp_path)],  # a folder
        ["report", "--out", str(a_file / "rapport.html")],  # under a regular file
        ["report", "--out", str(tmp_path / "r.html"), "--results", str(tmp_path / "absent")],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("erreur : ") and "\n" not in err, err
    assert not (tmp_path / "r.html").exists()


def test_french_number_formats():
    assert fmt_number(None) == "—" and fmt_number(float("nan")) == "—"
    assert fmt_number(1234567) == "1\u202f234\u202f567"
    assert fmt_number(1.9448) == "1,94" and fmt_number(13.48) == "13,5" and fmt_number(253.4) == "253"
    assert fmt_number(274433.8) == "2,7e5" and fmt_number(3e-05) == "3,0e-5"
    assert fmt_percent(0.69458) == "69,5\u00a0%" and fmt_percent(None) == "—"
