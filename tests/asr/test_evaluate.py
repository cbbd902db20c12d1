"""Tests for asr.evaluate (WER/CER/DER/JER/cpWER, reference loading) and the evaluate-asr CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from apps.evaluate_asr import main
from asr.evaluate import (
    cer,
    char_errors,
    cpwer,
    diarization_scores,
    evaluate,
    load_references,
    normalize_fr,
    wer,
    word_errors,
)
from asr.transcript import Segment, Transcript, Word, write_json, write_rttm

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SIMSAMU = DATA / "simsamu"
needs_simsamu = pytest.mark.skipif(not SIMSAMU.is_dir(), reason=f"reference data not found at {SIMSAMU}")
needs_audio_refs = pytest.mark.skipif(
    not (DATA / "audio" / "fleurs_fr").is_dir(), reason=f"reference data not found at {DATA / 'audio'}"
)


def turns(*spans: tuple[float, float, str]) -> Transcript:
    return Transcript(tuple(Segment(s, e, spk) for s, e, spk in spans))


def spoken(*turns_: tuple[str, str]) -> Transcript:
    """Speaker-attributed text, one segment per (speaker, text), one second per word."""
    segs, t = [], 0.0
    for spk, text in turns_:
        words = []
        for w in text.split():
            words.append(Word(w, t, t + 1.0, speaker=spk))
            t += 1.0
        segs.append(Segment(words[0].start, words[-1].end, spk, text, tuple(words)))
    return Transcript(tuple(segs))


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # case, accents kept, punctuation removed
        ("Bonjour, DOCTEUR ! Ça va ?", "bonjour docteur ça va"),
        ("Élément; «cité» (entre) — fin…", "élément cité entre fin"),
        # apostrophes unified, elisions split with the apostrophe kept on the clitic
        ("L’homme", "l' homme"),
        ("l'homme", "l' homme"),
        ("qu’il s‘est", "qu' il s' est"),
        ("jusqu'à lorsqu'il", "jusqu' à lorsqu' il"),
        ("aujourd'hui quelqu'un", "aujourd'hui quelqu'un"),
        ("'bonjour' dit-il", "bonjour dit il"),
        ("qu’« on", "qu' on"),
        # hyphens
        ("dix-sept", "dix sept"),
        ("c'est-à-dire", "c' est à dire"),
        # numbers
        ("17", "dix sept"),
        ("2024", "deux mille vingt quatre"),
        ("il a 80 ans", "il a quatre vingts ans"),
        ("10 000 euros", "dix mille euros"),
        ("le 1er, la 1ère, le 2e, le 3ème", "le premier la première le deuxième le troisième"),
        ("à 14h30 ou 1h", "à quatorze heures trente ou une heure"),
        ("37,5", "trente sept virgule cinq"),
        ("06 12", "zéro six douze"),
        ("50 %", "cinquante pour cent"),
        # unicode: zero-width spaces (simsamu), no-break spaces, oe ligature
        ("\u200bà\u00a0cœur", "à coeur"),
        # disfluencies: fillers and false starts dropped, discourse words kept
        ("euh je suis heu le hum docteur", "je suis le docteur"),
        ("p- pompi- les pompiers l'hô- l'hôpital", "les pompiers l' hôpital"),
        ("ben oui hein bah ouais", "ben oui hein bah ouais"),
        ("", ""),
    ],
)
def test_normalize_fr(raw: str, expected: str) -> None:
    assert normalize_fr(raw) == expected
    assert normalize_fr(expected) == expected  # idempotent


def test_normalize_fr_keep_disfluencies() -> None:
    assert normalize_fr("euh p- pompiers", drop_disfluencies=False) == "euh p pompiers"


def test_numbers_and_words_score_the_same() -> None:
    assert wer("il a dix-sept ans depuis deux mille vingt-quatre", "Il a 17 ans depuis 2024.") == 0.0


# --------------------------------------------------------------------------- WER / CER


def test_wer_identical_is_zero() -> None:
    text = "Bonjour, je suis le docteur. Vous appelez pour votre frère ?"
    assert wer(text, text) == 0.0
    assert cer(text, text) == 0.0


def test_wer_one_substitution() -> None:
    # reference normalises to 6 words: "le patient a dix sept ans"; "dix-huit" -> one substitution
    counts = word_errors("Le patient a dix-sept ans.", "le patient a dix-huit ans")
    assert (counts.substitutions, counts.deletions, counts.insertions, counts.ref_len) == (1, 0, 0, 6)
    assert counts.rate == pytest.approx(1 / 6)


def test_wer_deletion_and_insertion() -> None:
    deletion = word_errors("il est tombé", "il tombé")
    assert (deletion.substitutions, deletion.deletions, deletion.insertions) == (0, 1, 0)
    insertion = word_errors("il est tombé", "il est tombé hier")
    assert (insertion.substitutions, insertion.deletions, insertion.insertions) == (0, 0, 1)
    assert insertion.rate == pytest.approx(1 / 3)


def test_cer_counts_characters() -> None:
    counts = char_errors("chat", "chas")
    assert (counts.substitutions, counts.ref_len) == (1, 4)
    assert cer("un chat", "un chas") == pytest.approx(1 / 7)  # the space is a character


def test_empty_reference_has_no_rate() -> None:
    assert wer("euh", "bonjour") is None  # "euh" normalises to nothing
    assert word_errors("", "bonjour").insertions == 1


# --------------------------------------------------------------------------- DER / JER


def test_der_identical_turns_is_zero() -> None:
    ref = turns((0.0, 4.0, "medecin"), (4.5, 9.0, "patient"), (8.0, 12.0, "medecin"))
    hyp = ref.relabel({"medecin": "SPEAKER_01", "patient": "SPEAKER_00"})
    for collar in (0.0, 0.25):
        d = diarization_scores(ref, hyp, collar)
        assert d.der == pytest.approx(0.0, abs=1e-12)
        assert d.jer == pytest.approx(0.0, abs=1e-12)


def test_der_shifted_boundary_without_and_with_collar() -> None:
    # reference: A 0-10, B 10-20; hypothesis moves the A/B boundary to 11 s
    ref = turns((0.0, 10.0, "A"), (10.0, 20.0, "B"))
    hyp = turns((0.0, 11.0, "s1"), (11.0, 20.0, "s2"))
    d0 = diarization_scores(ref, hyp, collar=0.0)
    assert d0.total == pytest.approx(20.0)
    assert d0.confusion == pytest.approx(1.0)
    assert d0.der == pytest.approx(1 / 20)
    # JER: A: 1 - 10/11, B: 1 - 9/10, averaged over the two reference speakers
    assert d0.jer == pytest.approx((1 / 11 + 1 / 10) / 2)
    # collar 0.25 s on each side of boundaries 0, 10, 20: scored [0.25, 9.75] + [10.25, 19.75]
    # = 19 s, of which [10.25, 11] = 0.75 s is confused
    d = diarization_scores(ref, hyp, collar=0.25)
    assert d.total == pytest.approx(19.0)
    assert d.der == pytest.approx(0.75 / 19)
    # a collar wider than the shift forgives it entirely
    assert diarization_scores(ref, hyp, collar=1.0).der == pytest.approx(0.0, abs=1e-12)


def test_der_missed_speech_and_uem() -> None:
    ref = turns((0.0, 10.0, "A"))
    hyp = turns((1.0, 10.0, "x"), (10.0, 12.0, "x"))  # misses 0-1, speaks 2 s after the reference
    union = diarization_scores(ref, hyp, collar=0.0, uem="union")
    assert (union.missed, union.false_alarm) == (pytest.approx(1.0), pytest.approx(2.0))
    assert union.der == pytest.approx(3 / 10)
    ref_only = diarization_scores(ref, hyp, collar=0.0, uem="reference")
    assert ref_only.false_alarm == pytest.approx(0.0)
    assert ref_only.der == pytest.approx(1 / 10)


@pytest.mark.parametrize("collar", [-0.1, float("nan")])
def test_bad_collar_is_rejected(collar: float) -> None:
    with pytest.raises(ValueError, match="collar"):
        diarization_scores(turns((0, 1, "A")), turns((0, 1, "A")), collar=collar)


def test_bad_uem_is_rejected() -> None:
    with pytest.raises(ValueError, match="uem"):
        diarization_scores(turns((0, 1, "A")), turns((0, 1, "A")), uem="everything")


# --------------------------------------------------------------------------- cpWER


def test_cpwer_swapped_word() -> None:
    ref = spoken(("medecin", "bonjour docteur"), ("patient", "mon père est tombé"))
    # "père" is attributed to the wrong speaker: one insertion for s1, one deletion for s2
    hyp = spoken(("s1", "bonjour docteur père"), ("s2", "mon est tombé"))
    cp = cpwer(ref, hyp)
    assert (cp.errors, cp.ref_words) == (2, 6)
    assert cp.rate == pytest.approx(2 / 6)
    assert dict(cp.assignment) == {"medecin": "s1", "patient": "s2"}


def test_cpwer_invariant_to_speaker_labels() -> None:
    ref = spoken(("medecin", "bonjour docteur"), ("patient", "mon père est tombé"), ("medecin", "il respire"))
    hyp = spoken(("s1", "bonjour docteur père"), ("s2", "mon est tombé"), ("s1", "il respire pas"))
    base = cpwer(ref, hyp).rate
    assert cpwer(ref, hyp.relabel({"s1": "s2", "s2": "s1"})).rate == pytest.approx(base)
    assert cpwer(ref.relabel({"medecin": "B", "patient": "A"}), hyp).rate == pytest.approx(base)
    # with perfect speakers, cpWER equals WER
    perfect = ref.relabel({"medecin": "x", "patient": "y"})
    assert cpwer(ref, perfect).rate == 0.0


def test_cpwer_extra_and_missing_speakers() -> None:
    ref = spoken(("A", "oui d'accord"))
    extra = spoken(("x", "oui d'accord"), ("y", "merci"))
    assert cpwer(ref, extra).rate == pytest.approx(1 / 3)  # "oui d' accord": 3 words, 1 insertion
    missing = cpwer(spoken(("A", "oui"), ("B", "non merci")), spoken(("x", "oui")))
    assert (missing.deletions, missing.ref_words) == (2, 3)


# --------------------------------------------------------------------------- loading


@needs_simsamu
def test_load_simsamu_layout() -> None:
    refs = load_references(SIMSAMU)
    assert len(refs) == 61
    for ref in refs.values():
        assert ref.transcript is not None and ref.turns is not None
        assert set(ref.turns.speakers) == set(ref.transcript.speakers)
    three = refs["dj_2022_arme_2"]
    assert set(three.turns.speakers) == {"medecin", "patient_1", "patient_2"}
    assert three.turns.segments[0].start == 0.0 and three.turns.segments[0].end == pytest.approx(4.9)
    assert three.transcript.words[0].text == "bonjour"
    assert set(refs["reu_covid"].turns.speakers) == {"medecin", "patient"}


@needs_simsamu
def test_load_single_reference_file_brings_its_rttm() -> None:
    refs = load_references(SIMSAMU / "dj_2022_arme_2" / "dj_2022_arme_2.json")
    assert list(refs) == ["dj_2022_arme_2"]
    assert refs["dj_2022_arme_2"].turns.source == "dj_2022_arme_2.rttm"


@needs_audio_refs
def test_load_fleurs_and_medkit_layouts() -> None:
    fleurs = load_references(DATA / "audio" / "fleurs_fr")
    assert sorted(fleurs) == [f"fleurs-fr-00{i}" for i in range(5)]
    clip = fleurs["fleurs-fr-004"]
    assert clip.turns is None and not clip.transcript.speakers
    assert normalize_fr(clip.transcript.text).endswith("tuant ainsi dix sept personnes")
    dialog = load_references(DATA / "audio" / "medkit_dialog")["dialog"]
    assert dialog.transcript.speakers == ("Alice", "Bob")
    assert dialog.turns.speakers == ("Alice", "Bob")


def test_flat_synthesized_layout_and_hypothesis_without_speakers(tmp_path: Path) -> None:
    ref = spoken(("regulateur", "samu bonjour"), ("appelant", "mon père est tombé"))
    write_json(ref, tmp_path / "ref" / "call1.json")
    write_rttm(ref, tmp_path / "ref" / "call1.rttm")
    hyp = Transcript((Segment(0.0, 6.0, None, "SAMU, bonjour. Mon père est tombé !"),))
    write_json(hyp, tmp_path / "hyp" / "call1.json")
    result = evaluate(tmp_path / "hyp", tmp_path / "ref")
    row = result["files"][0]
    assert row["status"] == "ok" and row["wer"] == 0.0 and row["ref_words"] == 6
    assert row["der"] is None and row["cpwer"] is None  # no speakers in the hypothesis
    assert result["total"]["der"] is None


# --------------------------------------------------------------------------- CLI


@needs_simsamu
def test_cli_on_copied_simsamu_references(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    names = ["dj_2022_arme_2", "dj_2022_avp_scooter", "reu_covid"]
    hyp_dir = tmp_path / "hyp"
    hyp_dir.mkdir()
    for name in names:
        shutil.copy(SIMSAMU / name / f"{name}.json", hyp_dir / f"{name}.json")
    out = tmp_path / "scores.json"
    assert main([str(hyp_dir), "--ref", str(SIMSAMU), "--json", str(out)]) == 0
    printed = capsys.readouterr()
    assert "TOTAL (3/61)" in printed.out
    assert "58 référence(s) sans transcription" in printed.err
    result = json.loads(out.read_text(encoding="utf-8"))
    total = result["total"]
    assert (total["scored"], total["missing"], total["failed"]) == (3, 58, 0)
    assert total["ref_words"] > 1000
    assert total["wer"] == 0.0 and total["cer"] == 0.0 and total["cpwer"] == 0.0
    assert total["der"] == pytest.approx(0.0, abs=1e-9) and total["jer"] == pytest.approx(0.0, abs=1e-9)
    assert result["options"]["collar"] == 0.25
    rows = {r["name"]: r for r in result["files"]}
    assert rows["dj_2022_arme_2"]["ref_speakers"] == 3 and rows["dj_2022_arme_2"]["hyp_speakers"] == 3
    assert rows["reu_brulures"]["status"] == "missing" and rows["reu_brulures"]["wer"] is None


def test_cli_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ref = spoken(("A", "bonjour docteur"), ("B", "bonjour"))
    write_json(ref, tmp_path / "ref" / "a.json")
    write_json(ref, tmp_path / "ref" / "b.json")
    hyp_dir = tmp_path / "hyp"
    write_json(ref, hyp_dir / "a.json")

    assert main([str(tmp_path / "nowhere"), "--ref", str(tmp_path / "ref")]) == 2
    assert "no such hypothesis folder" in capsys.readouterr().err
    assert main([str(hyp_dir), "--ref", str(tmp_path / "missing_ref")]) == 2
    assert "no such reference" in capsys.readouterr().err
    assert main([str(hyp_dir), "--ref", str(tmp_path / "ref"), "--collar", "-1"]) == 2
    assert "collar" in capsys.readouterr().err

    other = tmp_path / "other"
    write_json(ref, other / "zzz.json")
    assert main([str(other), "--ref", str(tmp_path / "ref")]) == 2
    assert "no hypothesis" in capsys.readouterr().err

    # a malformed hypothesis is reported, the other file is still scored, the exit status is 1
    (hyp_dir / "b.json").write_text("{not json", encoding="utf-8")
    out = tmp_path / "scores.json"
    assert main([str(hyp_dir), "--ref", str(tmp_path / "ref"), "--json", str(out)]) == 1
    assert "b: " in capsys.readouterr().err
    result = json.loads(out.read_text(encoding="utf-8"))
    rows = {r["name"]: r for r in result["files"]}
    assert rows["a"]["status"] == "ok" and rows["a"]["wer"] == 0.0
    assert rows["b"]["status"] == "error" and "JSON" in rows["b"]["error"]
    assert result["total"]["failed"] == 1 and result["failed"] == ["b"]
