"""Pseudonymisation: each kind of personal data goes, consistently, and comes back with the key."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from asr.transcript import Segment, Transcript, Word, read_transcript
from samu.pseudonymize import (
    PLACEHOLDER_RE,
    PseudoKey,
    PseudoOptions,
    find_entities,
    pseudonymize,
    pseudonymize_text,
    reidentify,
    reidentify_text,
)
from tests.conftest import shared


def _seg(speaker: str, text: str, t0: float, with_words: bool = True) -> Segment:
    """A segment whose words are the text's tokens (punctuation glued), 0.4 s each."""
    toks = text.split()
    words = tuple(Word(w, t0 + 0.4 * i, t0 + 0.4 * (i + 1), 0.9, speaker) for i, w in enumerate(toks))
    return Segment(t0, t0 + 0.4 * len(toks), speaker, text, words if with_words else ())


def _call(*turns: tuple[str, str]) -> Transcript:
    segs, t = [], 0.0
    for spk, text in turns:
        s = _seg(spk, text, t)
        segs.append(s)
        t = s.end + 0.5
    return Transcript(tuple(segs), language="fr", source="appel.json")


CALL = _call(
    ("regulateur", "SAMU bonjour, docteur Martin à l'appareil, je vous écoute."),
    ("appelant", "oui bonjour, je m'appelle sophie lefèvre, j'appelle pour mon père, monsieur lefèvre."),
    ("regulateur", "d'accord madame. quelle est l'adresse exacte ?"),
    ("appelant", "c'est au 12 rue de la paix, bâtiment B, au troisième étage."),
    ("regulateur", "un numéro où vous joindre ?"),
    ("appelant", "zéro six douze trente-quatre cinquante-six soixante-dix-huit"),
    ("regulateur", "il est né quand votre père ?"),
    (
        "appelant",
        "il est né le 3 mars 1950, il a soixante-quatorze ans. il prend du Doliprane et du Kardegic.",
    ),
    ("appelant", "sa carte vitale, le numéro de sécurité sociale c'est 1 50 03 75 123 456 78."),
    ("regulateur", "très bien madame Lefèvre, je vous envoie le SMUR. rappelez le 15 si ça change."),
)


def _texts(t: Transcript) -> list[str]:
    return [s.text for s in t.segments]


def test_each_kind_is_replaced():
    p, key = pseudonymize(CALL)
    text = p.text
    for secret in (
        "Martin",
        "sophie",
        "lefèvre",
        "Lefèvre",
        "paix",
        "bâtiment B",
        "douze",
        "1950",
        "123 456",
    ):
        assert secret not in text, secret
    assert "docteur [NOM_1] à l'appareil" in text
    assert "au [ADRESSE_1], [ADRESSE_2], au troisième étage" in text
    assert p.segments[5].text == "[TEL_1]"
    assert "il est né le [DATE_NAISSANCE_1], il a soixante-quatorze ans" in text
    assert "c'est [NIR_1]." in text
    kinds = {m.group(1) for m in PLACEHOLDER_RE.finditer(text)}
    assert kinds == {"NOM", "ADRESSE", "TEL", "DATE_NAISSANCE", "NIR"}
    assert key.get("[TEL_1]") == "zéro six douze trente-quatre cinquante-six soixante-dix-huit"
    assert key.get("[ADRESSE_1]") == "12 rue de la paix"


def test_medical_words_ages_and_emergency_numbers_untouched():
    p, _ = pseudonymize(CALL)
    text = p.text
    for kept in (
        "SAMU",
        "SMUR",
        "Doliprane",
        "Kardegic",
        "soixante-quatorze ans",
        "le 15",
        "troisième étage",
    ):
        assert kept in text, kept
    out, key = pseudonymize_text(
        "il a fait un AVC en 1999, il prend du DOLIPRANE et du XARELTO, il a 85 ans, appelez le 18 ou le 112"
    )
    assert len(key) == 0 and "[" not in out


def test_common_speech_is_not_redacted():
    for text in (
        "il y a du bruit dans la rue, les pompiers sont sur le chemin",
        "madame il faut rester à côté de lui, monsieur écoutez moi",
        "d'accord madame, d'accord monsieur, justement",
        "un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze",
        "il a une place de parking, le bâtiment a pris feu, je vais pas péter ma porte c'est mon appart",
        "Pendant la nuit il a vomi. Hier il allait bien.",
    ):
        out, key = pseudonymize_text(text)
        assert out == text and len(key) == 0, (text, out)


def test_consistent_placeholders():
    p, key = pseudonymize(CALL)
    texts = _texts(p)
    # "lefèvre" and "Lefèvre" (case/accent-insensitive) -> one placeholder, everywhere
    assert "je m'appelle [NOM_2] [NOM_3]" in texts[1] and "monsieur [NOM_3]" in texts[1]
    assert "madame [NOM_3]" in texts[9]
    assert len({key.get(f"[NOM_{i}]") for i in (1, 2, 3)}) == 3  # different names, different placeholders
    # the same number in digits later in the call, or in another call with the same key
    more = _call(("appelant", "mon portable c'est le 06 12 34 56 78, docteur MARTIN"))
    q, key2 = pseudonymize(more, key)
    assert q.segments[0].text == "mon portable c'est le [TEL_1], docteur [NOM_1]"
    assert len(key2) == len(key)  # nothing new
    # a fresh key numbers from 1 again
    r, key3 = pseudonymize(more)
    assert r.segments[0].text == "mon portable c'est le [TEL_1], docteur [NOM_1]" and len(key3) == 2


def test_names_spread_to_every_mention():
    out, _ = pseudonymize_text("Docteur Bernier à l'appareil. bernier, B-E-R, oui. Bernier.")
    assert "ernier" not in out
    p, key = pseudonymize(_call(("a", "bonjour docteur Morel"), ("b", "c'est morel qui vient ? Morel ?")))
    assert p.segments[1].text == "c'est [NOM_1] qui vient ? [NOM_1] ?"


def test_introductions_in_lower_case_speech():
    for text, gone in (
        ("oui bonjour je m'appelle karim benali et j'appelle pour ma mère", ("karim", "benali")),
        ("mon nom c'est dubreuil heu avec deux l", ("dubreuil",)),
        ("bonjour madame heu rousseau", ("rousseau",)),
        ("c'est goncalves à l'appareil", ("goncalves",)),
        ("alors ma fille emma elle a de la fièvre", ("emma",)),
        ("dr lambert du samu", ("lambert",)),
    ):
        out, _ = pseudonymize_text(text)
        for g in gone:
            assert g not in out, (text, out)
        assert "[NOM_" in out


def test_phone_numbers():
    for text in (
        "c'est le 06 12 34 56 78",
        "c'est le 0612345678",
        "c'est le 06.12.34.56.78",
        "c'est le +33 6 12 34 56 78",
        "c'est le plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit",
        "c'est le zéro six, douze, trente quatre, cinquante six, soixante dix huit",
        "c'est le zéro un quarante-cinq vingt et un quatre-vingt-dix-neuf zéro deux",
    ):
        out, key = pseudonymize_text(text)
        assert out == "c'est le [TEL_1]", (text, out)
    # digits and words of one number are one entity
    _, key = pseudonymize_text(
        "le 06 12 34 56 78 ou zéro six douze trente-quatre cinquante-six soixante-dix-huit"
    )
    assert list(key.entries) == ["[TEL_1]"]


def test_addresses():
    cases = {
        "j'habite au 24 bis avenue du Général Leclerc 75014 Paris": "[ADRESSE_1]",
        "on habite avenue jean jaurès": "[ADRESSE_1]",
        "l'adresse c'est rue victor hugo à lyon": "[ADRESSE_1]",
        "c'est au douze impasse des lilas": "[ADRESSE_1]",
        "quatorze chemin des vignes, escalier 3, code porte 4512": "[ADRESSE_1], [ADRESSE_2], [ADRESSE_3]",
        "il habite 3 allée des Peupliers, bâtiment C": "[ADRESSE_1], [ADRESSE_2]",
    }
    for text, expected in cases.items():
        out, _ = pseudonymize_text(text)
        assert expected in out, (text, out)
        assert not re.search(r"leclerc|jaur|hugo|lilas|vignes|peupliers|4512|bâtiment C", out, re.I), out


def test_dates_of_birth_but_not_other_dates():
    for text, date in (
        ("il est né le 3 mars 1950", "3 mars 1950"),
        ("elle est née en 1942", "1942"),
        (
            "née le premier janvier mille neuf cent cinquante-deux",
            "premier janvier mille neuf cent cinquante-deux",
        ),
        ("sa date de naissance c'est le 12/05/1938", "12/05/1938"),
        ("date de naissance, heu, quatorze juillet quarante-deux", "quatorze juillet quarante-deux"),
        ("il est né à Lyon le 5 avril 1960", "5 avril 1960"),
    ):
        out, key = pseudonymize_text(text)
        assert "[DATE_NAISSANCE_1]" in out and key.get("[DATE_NAISSANCE_1]") == date, (text, out)
    out, key = pseudonymize_text("il a eu un infarctus le 3 mars 2020, en 1999 une fracture, il a 72 ans")
    assert len(key) == 0


def test_nir():
    for text in (
        "mon numéro de sécu c'est 1 85 03 75 123 456 78",
        "numéro 185037512345678",
        "carte vitale 2 62 11 2A 004 012",
    ):
        out, key = pseudonymize_text(text)
        assert "[NIR_1]" in out and not re.search(r"\d{3}", out), (text, out)
    out, _ = pseudonymize_text(
        "son numéro de sécurité sociale c'est un quatre-vingt-cinq zéro trois soixante-quinze cent vingt trois "
        "quatre cent cinquante six"
    )
    assert "[NIR_1]" in out and "quatre" not in out


def test_round_trip_restores_the_text():
    # every entity written one way: the text comes back exactly
    call = replace(CALL, segments=CALL.segments[:9])
    p, key = pseudonymize(call)
    back = reidentify(p, key)
    assert _texts(back) == _texts(call)
    assert " ".join(w.text for w in back.words) == " ".join(w.text for w in call.words)
    out, k = pseudonymize_text(call.text)
    assert reidentify_text(out, k) == call.text
    # through JSON
    assert reidentify(p, PseudoKey.from_json(key.to_json())) == back
    # a name written two ways ("lefèvre", then "Lefèvre") comes back as its first-seen form
    p, key = pseudonymize(CALL)
    back = _texts(reidentify(p, key))
    assert back[:9] == _texts(CALL)[:9]
    assert back[9] == CALL.segments[9].text.replace("Lefèvre", "lefèvre")


def test_words_and_timings_preserved():
    p, _ = pseudonymize(CALL)
    for a, b in zip(CALL.segments, p.segments):
        assert (a.start, a.end, a.speaker) == (b.start, b.end, b.speaker)
        assert b.words[0].start == a.words[0].start and b.words[-1].end == a.words[-1].end
        # words still spell the segment text
        assert " ".join(w.text for w in b.words) == b.text
    # a one-word name keeps its word and times
    seg0 = p.segments[0]
    i = [w.text for w in seg0.words].index("[NOM_1]")
    assert seg0.words[i] == replace(CALL.segments[0].words[i], text="[NOM_1]")
    # a multi-word phone number becomes one word over the whole span
    tel = p.segments[5]
    assert len(tel.words) == 1 and tel.words[0].text == "[TEL_1]"
    assert (tel.words[0].start, tel.words[0].end) == (
        CALL.segments[5].words[0].start,
        CALL.segments[5].words[-1].end,
    )
    # punctuation glued to a word stays around the placeholder
    assert "[NOM_3]." in [w.text for w in p.segments[1].words]


def test_words_that_are_not_the_text_are_still_cleaned():
    seg = Segment(
        0.0,
        2.0,
        "a",
        "Bonjour, ici le docteur Garnier.",
        (Word(" bonjour", 0.0, 0.5), Word(" ici", 0.5, 0.8), Word(" le", 0.8, 1.0), Word(" docteur", 1.0, 1.4),
         Word(" Garnier", 1.4, 2.0)),
    )  # fmt: skip
    p, key = pseudonymize(Transcript((seg,)))
    assert p.segments[0].text == "Bonjour, ici le docteur [NOM_1]."
    assert p.segments[0].words[-1] == Word(" [NOM_1]", 1.4, 2.0)


def test_segments_without_words_and_empty_transcripts():
    t = Transcript((Segment(0, 1, "a", "je m'appelle Hélène Roux"), Segment(1, 2, "b", "")))
    p, key = pseudonymize(t)
    assert p.segments[0].text == "je m'appelle [NOM_1] [NOM_2]" and p.segments[0].words == ()
    assert p.segments[1].text == ""
    empty, k = pseudonymize(Transcript())
    assert empty == Transcript() and len(k) == 0
    assert pseudonymize_text("") == ("", PseudoKey())


def test_key_passed_in_is_not_modified():
    _, key = pseudonymize_text("docteur Petit")
    before = key.entries
    _, key2 = pseudonymize_text("docteur Grand", key)
    assert key.entries == before and len(key2) == 2


def test_options():
    out, _ = pseudonymize_text("docteur Martin, 06 12 34 56 78", options=PseudoOptions(kinds=("TEL",)))
    assert out == "docteur Martin, [TEL_1]"
    out, _ = pseudonymize_text("on va à Bondy voir Sarah", options=PseudoOptions(keep_words=("Bondy",)))
    assert out == "on va à Bondy voir [NOM_1]"
    out, _ = pseudonymize_text("le régulateur garnier a dit", options=PseudoOptions(names=("Garnier",)))
    assert out == "le régulateur [NOM_1] a dit"
    for bad in (dict(kinds=("NAME",)), dict(kinds=()), dict(names="Martin"), dict(spread_names="yes")):
        with pytest.raises(ValueError, match="PseudoOptions"):
            PseudoOptions(**bad)


def test_bad_key_files_give_clear_errors(tmp_path):
    for text, msg in (
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"format": "other", "entries": {}}', "format"),
        ('{"format": "llm4all-pseudo-key", "version": 9, "entries": {}}', "version"),
        ('{"format": "llm4all-pseudo-key", "version": 1, "entries": []}', "entries"),
        ('{"NOM_1": "Martin"}', "bad placeholder"),
        ('{"[NOM_1]": ""}', "no original"),
        ('{"[NOM_1]": "Martin", "[NOM_2]": "MARTIN"}', "same text"),
    ):
        with pytest.raises(ValueError, match=msg):
            PseudoKey.from_json(text)
    f = tmp_path / "key.json"
    f.write_text("{broken")
    with pytest.raises(ValueError, match="key.json"):
        PseudoKey.load(f)
    assert PseudoKey.from_json('{"[NOM_1]": "Martin"}').get("[NOM_1]") == "Martin"  # bare mapping


def test_key_file_is_private_and_never_logged(tmp_path):
    _, key = pseudonymize(CALL)
    path = tmp_path / "k" / "key.json"
    key.save(path)
    assert path.stat().st_mode & 0o077 == 0
    assert PseudoKey.load(path) == key
    assert json.loads(path.read_text())["entries"]["[NOM_1]"] == "Martin"
    assert "Martin" not in repr(key) and "NOM=" in repr(key)


def test_wrong_key_is_an_error_unless_lenient():
    p, _ = pseudonymize(CALL)
    other = PseudoKey({"[NOM_1]": "Dupont"})
    with pytest.raises(ValueError, match="not in the key"):
        reidentify(p, other)
    assert "[TEL_1]" in reidentify(p, other, strict=False).text


def test_find_entities_spans():
    text = "docteur Martin, tel 06 12 34 56 78"
    ents = find_entities(text)
    assert [(e.kind, text[e.start : e.end]) for e in ents] == [("NOM", "Martin"), ("TEL", "06 12 34 56 78")]


def test_simsamu_doctor_name_is_gone():
    t = read_transcript(shared("simsamu", "dj_2022_avc_16_ans", "dj_2022_avc_16_ans.json"))
    name = re.search(r"docteur (\w+)", t.segments[0].text).group(1)  # read from the data, never written here
    p, key = pseudonymize(t)
    seg = p.segments[0]
    assert name not in seg.text and name not in " ".join(w.text for w in seg.words)
    assert "docteur [NOM_1]" in seg.text and "SAMU" in seg.text
    assert name.lower() not in (p.text + " ".join(w.text for w in p.words)).lower()
    assert _texts(reidentify(p, key)) == _texts(t)


def test_loose_key_file_is_made_private_or_refused(tmp_path, caplog, monkeypatch):
    path = tmp_path / "key.json"
    path.write_text('{"[NOM_1]": "Martin"}')
    path.chmod(0o644)
    with caplog.at_level("WARNING", logger="samu.pseudonymize"):
        assert PseudoKey.load(path).get("[NOM_1]") == "Martin"
    assert path.stat().st_mode & 0o777 == 0o600
    assert "0644" in caplog.text and "0600" in caplog.text and "Martin" not in caplog.text
    # a key that cannot be tightened (another user's file) is refused, naming it
    path.chmod(0o640)

    def denied(*a, **k):
        raise PermissionError("Operation not permitted")

    monkeypatch.setattr("samu.pseudonymize.os.chmod", denied)
    with pytest.raises(ValueError, match=r"key\.json.*0640.*chmod 600"):
        PseudoKey.load(path)


def test_locked_key_reloads_extends_and_saves(tmp_path):
    from samu.pseudonymize import locked_key, pseudonymize_with_key_file

    path = tmp_path / "k" / "key.json"
    p1, k1 = pseudonymize_with_key_file(CALL, path)
    assert PseudoKey.load(path) == k1 and path.stat().st_mode & 0o077 == 0
    assert (tmp_path / "k" / "key.json.lock").exists()
    # another run extended the file meanwhile: the next transcript sees its entries
    PseudoKey({**k1.entries, "[NOM_9]": "Zébulon"}).save(path)
    p2, k2 = pseudonymize_with_key_file(Transcript((Segment(0, 1, "a", "docteur Zébulon"),)), path)
    assert p2.segments[0].text == "docteur [NOM_9]" and k2.get("[NOM_9]") == "Zébulon"
    assert reidentify(p1, PseudoKey.load(path)) == reidentify(p1, k1)
    # nothing is written after an error, and a key that drops entries of the file is refused
    with pytest.raises(RuntimeError, match="boom"), locked_key(path) as held:
        held.key = PseudoKey()
        raise RuntimeError("boom")
    with pytest.raises(ValueError, match="drops or changes"), locked_key(path) as held:
        held.key = PseudoKey({"[NOM_1]": "Autre"})
    assert PseudoKey.load(path) == k2
