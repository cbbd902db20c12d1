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
    # two figures in each of the first six sections with the simsamu data, one in each later one
    assert len(images) >= 2 * (len(SECTION_TITLES) - len(NEW_SECTIONS)) + len(NEW_SECTIONS)
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


# --------------------------------------------------------------------------- the four later result files

NEW_SECTIONS = {  # anchor -> result file
    "samu-modele": "samu_model.json",
    "resume-modele": "summary_model.json",
    "llamacpp": "llamacpp.json",
    "fondation": "foundation.json",
}


def section_text(page: str, anchor: str) -> str:
    return visible_text(page.split(f'<section id="{anchor}">')[1].split("</section>")[0])


def section_images(page: str, anchor: str) -> int:
    return len(IMG.findall(page.split(f'<section id="{anchor}">')[1].split("</section>")[0]))


def _samu_run(extractor: str, split: str, issue: float, category: float, seconds: float) -> dict:
    fields = {
        "qualification.motif": {"tp": 3, "fp": 1, "fn": 1, "precision": 0.75, "recall": 0.75, "f1": 0.75},
        "patient.age": {"tp": 0, "fp": 0, "fn": 0, "precision": 0.0, "recall": 0.0, "f1": 0.0},
    }
    return {
        "extractor": extractor,
        "split": split,
        "tuned_on": f"{extractor}: tuned on samu/calls train",
        "threads": 2,
        "load_average_1min": [1.5, 2.25],
        "calls": 4,
        "per_field": fields,
        "micro_all": {"f1": 0.7},
        "micro_target": {"f1": 0.6543},
        "micro_issue": {"f1": issue},
        "motif_category": {"f1": category},
        "target_fields": ["qualification.motif"],
        "seconds_median": seconds,
        "seconds_max": 2 * seconds,
        "model_values_dropped": 0,
    }


SMALL = {
    "samu_model.json": {
        "rules/dev": _samu_run("rules", "dev", 0.9123, 0.8771, 0.004),
        "m/model/dev": {**_samu_run("model", "dev", 0.4321, 0.3456, 12.34), "training": {"split": "train"}},
        "rules/blind": _samu_run("rules", "blind", 0.9351, 0.9012, 0.01),
    },
    "summary_model.json": {
        "dataset": "FREDSum test split",
        "common_files": ["a.txt", "b.txt"],
        "systems": {
            "ChatGPT": {
                "common": {"rouge1": 45.111, "rouge2": 14.222, "rougeL": 22.333},
                "n_files": 2,
                "median_words": 388,
            },
            "ours: modèle tiny": {
                "common": {"rouge1": 33.444, "rouge2": 13.557, "rougeL": 21.666},
                "n_files": 2,
                "median_words": 66,
                "median_seconds_per_file": 14.56,
            },
        },
        "model": {"name": "tiny", "training": {"data": "FREDSum train split", "debates": 7}},
        "decoding": {"files": 2, "median_seconds_per_debate": 14.56, "generation_tokens_per_second": 8.42},
        "faithfulness": {
            "names": {"unsupported": 1, "total": 8, "rate": 0.125},
            "numbers": {"unsupported": 3, "total": 8, "rate": 0.375},
            "examples": ["Joisomont"],
        },
        "tuned_on": "nothing from the test split (train split only)",
    },
    "llamacpp.json": {
        "files": ["a.txt", "b.txt"],
        "machine": {"cpus": 2},
        "rows": [
            {
                "engine": "transformers fp32 (2 threads)",
                "median_new_tokens": 100,
                "median_decode_tokens_per_second": 22.67,
                "median_generate_seconds_per_debate": 5.7,
                "speedup_generate_vs_transformers": 1.0,
                "median_rougeL_vs_transformers_raw": 100.0,
                "identical_outputs": 2,
                "median_rougeL_vs_references": 19.44,
            },
            {
                "engine": "llama.cpp q4_k_m (2 threads)",
                "size_mb": 96.1,
                "median_new_tokens": 194,
                "median_decode_tokens_per_second": 165.79,
                "median_generate_seconds_per_debate": 1.594,
                "speedup_generate_vs_transformers": 3.58,
                "median_rougeL_vs_transformers_raw": 12.82,
                "identical_outputs": 0,
                "median_rougeL_vs_references": 13.07,
            },
        ],
    },
    "foundation.json": {
        "runs": [
            {
                "label": "replay (shipped)",
                "replay_ratio": 0.25,
                "lr": 0.0003,
                "tokens": 24576,
                "eval_tokens": 4096,
                "trimmed_base_sha256": "x",
                "perplexity": {
                    "new": {"word_before": 75.66, "word_after": 62.52, "bpc_before": 1.2, "bpc_after": 1.15},
                    "old": {
                        "word_before": 728.69,
                        "word_after": 665.62,
                        "bpc_before": 1.0,
                        "bpc_after": 0.99,
                    },
                },
            },
            {
                "label": "no replay",
                "replay_ratio": 0.0,
                "lr": 0.0003,
                "tokens": 24576,
                "eval_tokens": 4096,
                "trimmed_base_sha256": "x",
                "perplexity": {
                    "new": {"word_before": 75.66, "word_after": 60.97, "bpc_before": 1.2, "bpc_after": 1.14},
                    "old": {
                        "word_before": 728.69,
                        "word_after": 860.12,
                        "bpc_before": 1.0,
                        "bpc_after": 1.03,
                    },
                },
            },
        ],
    },
}


def test_later_result_files_get_their_sections_with_their_numbers(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    for name, data in SMALL.items():
        (results / name).write_text(json.dumps(data), encoding="utf-8")
    page = build_report(results, tmp_path / "rapport.html", simsamu_dir=tmp_path / "absent").read_text(
        encoding="utf-8"
    )
    for anchor in NEW_SECTIONS:
        assert section_images(page, anchor) == 1, anchor
        text = section_text(page, anchor)
        assert "Données de réglage :" in text and "<table" in page.split(f'id="{anchor}"')[1], anchor
        assert "structure inattendue" not in text and "absent de" not in text, (anchor, text)

    samu = section_text(page, "samu-modele")
    for needle in (
        "« rules: tuned on samu/calls train »",  # tuned_on, quoted per extractor
        "« model: tuned on samu/calls train »",
        "blind (samu/calls) : nommé(s) dans aucun « tuned_on »",
        "0,912",  # 7-field micro-F1
        "0,432",
        "0,877",  # motif category
        "0,654",  # target micro-F1
        "12,3",  # s per call
        "1,50 → 2,25",  # load average
        "Meilleur micro-F1 sur 7 champs par sous-ensemble : dev (samu/calls) : règles (0,912) ; blind (samu/calls) : règles (0,935)",
    ):
        assert needle in samu, needle
    assert re.search(r"âge\s+patient\.age(\s+—)+", samu)  # no gold value and no prediction: undefined, not 0
    # its runs are no longer mixed into the simsamu section (other splits, other meaning of "dev")
    assert "samu_model.json" not in section_text(page, "samu")

    summary = section_text(page, "resume-modele")
    for needle in (
        "« nothing from the test split (train split only) »",
        "données « FREDSum train split », 7 débats",
        "33,44",
        "13,56",
        "21,67",
        "45,11",
        "14,6",  # s per debate
        "1/8",
        "12,5\u00a0%",
        "37,5\u00a0%",
        "Joisomont",
        "écrit 66 mots en médiane",
    ):
        assert needle in summary, needle

    llama = section_text(page, "llamacpp")
    for needle in ("2 débats (a.txt, b.txt)", "165,8", "22,7", "3,58", "12,82", "13,07", "0/2", "96,1"):
        assert needle in llama, needle
    assert "194 jetons générés en médiane contre 100 pour transformers" in llama

    foundation = section_text(page, "fondation")
    for needle in (
        "ne nomme pas les données d'entraînement",
        "24\u202f576 jetons d'entraînement",
        "4\u202f096 jetons par domaine",
        "75,7 → 62,5",
        "728,7 → 860,1",
        "replay (shipped)",
        "25\u00a0%",
    ):
        assert needle in foundation, needle
    assert not re.search(r"\b(nan|NaN|None|null)\b", visible_text(page))


@pytest.mark.parametrize(
    "content",
    [None, '{"runs": [', "[1, 2]", '{"runs": "x", "rows": {}, "systems": [], "m/x": {"per_field": 3}}'],
    ids=["absent", "truncated", "not-an-object", "other-shape"],
)
def test_later_sections_survive_missing_or_malformed_files(tmp_path, content):
    results = tmp_path / "results"
    results.mkdir()
    if content is not None:
        for name in NEW_SECTIONS.values():
            (results / name).write_text(content, encoding="utf-8")
    page = build_report(results, tmp_path / "rapport.html", simsamu_dir=tmp_path / "absent").read_text(
        encoding="utf-8"
    )
    for title in SECTION_TITLES:
        assert title in visible_text(page)
    for anchor, name in NEW_SECTIONS.items():
        text = section_text(page, anchor)
        assert "⚠" in text and name in text, (anchor, text)
        assert section_images(page, anchor) == 0
    assert not re.search(r"\b(nan|NaN|None)\b", visible_text(page))


def test_later_result_files_on_the_real_page(page):
    present = {name for name in NEW_SECTIONS.values() if (RESULTS / name).is_file()}
    if not present:
        pytest.skip("none of the later result files in benchmarks/results")
    if "samu_model.json" in present:
        text = section_text(page, "samu-modele")
        for key, run in load("samu_model.json").items():
            assert fr(run["micro_issue"]["f1"], 3) in text, key
            assert fr(run["motif_category"]["f1"], 3) in text, key
            assert f"« {run['tuned_on']} »" in text, key
    if "summary_model.json" in present:
        data = load("summary_model.json")
        text = section_text(page, "resume-modele")
        assert f"« {data['tuned_on']} »" in text
        for system in data["systems"].values():
            assert fr(system["common"]["rougeL"], 2) in text
        if "faithfulness" in data:
            assert fr(100 * data["faithfulness"]["names"]["rate"], 1) + "\u00a0%" in text
    if "llamacpp.json" in present:
        text = section_text(page, "llamacpp")
        for row in load("llamacpp.json")["rows"]:
            assert row["engine"] in text
            assert fr(row["median_decode_tokens_per_second"], 1) in text
            assert fr(row["speedup_generate_vs_transformers"], 2) in text
    if "foundation.json" in present:
        text = section_text(page, "fondation")
        for run in load("foundation.json")["runs"]:
            new = run["perplexity"]["new"]
            assert f"{fr(new['word_before'], 1)} → {fr(new['word_after'], 1)}" in text, run["label"]
            assert run["label"] in text
