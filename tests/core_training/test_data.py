"""French dialogue corpus, replay corpus, text files and token blocks."""

from __future__ import annotations

import json
import re

import pytest

from asr.transcript import Segment, Transcript, write_json
from core_training import data
from tests.conftest import SHARED
from tests.core_training.tiny import FRENCH_SAMPLE, tiny_tokenizer

LINE = re.compile(r"^[^:\n]+ : \S")


def _fake_shared(root):
    """A shared-data tree: 3 simsamu calls, FREDSum with the Mitterrand/Mitterand spelling quirk."""
    for i in range(3):
        rec = root / "simsamu" / f"call_{i}"
        rec.mkdir(parents=True)
        t = Transcript(
            (
                Segment(0.0, 1.0, "medecin", "bonjour, SAMU"),
                Segment(1.0, 2.0, "medecin", f"appel {i} ?"),
                Segment(2.0, 3.0, "patient", "mon père est tombé"),
            )
        )
        write_json(t, rec / f"call_{i}.json")
    fs = root / "fredsum"
    (fs / "transcript").mkdir(parents=True)
    files = {
        "Destaing_Mitterand_2--Partie_3_Afrique.txt": "VGE : SECRET DE TEST afrique\r\n\r\nFM : réponse\r\n",
        "Destaing_Mitterand_2--Partie_1_Gouvernement.txt": "VGE : le gouvernement\nsuite de la phrase\nFM : non\n",
        "Chirac_Jospin--Partie_1_Intro.txt": "P1 : bonsoir\nJC : bonsoir à vous\n",
        "Chirac_Jospin--Partie_2_Chomage.txt": "P1 : le chômage\nLJ : c'est \x92important\x92\n",
    }
    for name, text in files.items():
        (fs / "transcript" / name).write_bytes(text.encode("utf-8"))
    (fs / "FREDSum_test.json").write_text(
        json.dumps({"FREDSum_test": ["Destaing_Mitterrand_2--Partie_3_Afrique.txt"]})
    )
    return root


def test_dialogue_text_merges_turns_and_collapses_spaces():
    text = data.dialogue_text([("A", " bonjour  "), ("A", "ça va"), ("B", "oui"), ("B", ""), (None, "bruit")])
    assert text == "A : bonjour ça va\nB : oui\nbruit"


def test_fredsum_test_files_match_despite_spelling(tmp_path):
    root = _fake_shared(tmp_path)
    assert data.fredsum_test_files(root / "fredsum") == {"Destaing_Mitterand_2--Partie_3_Afrique.txt"}


def test_corpus_excludes_fredsum_test_and_formats_turns(tmp_path):
    root = _fake_shared(tmp_path)
    for frac in (0.0, 0.5, 0.9):
        c = data.french_dialogue_corpus(root, val_fraction=frac)
        docs = c["train"] + c["validation"]
        assert len(docs) == 3 + 3  # 3 calls + 3 non-test FREDSum files
        assert not any("SECRET DE TEST" in d for d in docs)
    c = data.french_dialogue_corpus(root, val_fraction=0.0)
    assert c["validation"] == []
    assert c["train"][0] == "medecin : bonjour, SAMU appel 0 ?\npatient : mon père est tombé"
    assert "VGE : le gouvernement suite de la phrase\nFM : non" in c["train"]
    assert "P1 : le chômage\nLJ : c'est ’important’" in c["train"]
    for d in docs:
        assert all(LINE.match(line) for line in d.split("\n")), d


def test_split_is_deterministic_and_keeps_debates_together(tmp_path):
    root = _fake_shared(tmp_path)
    a = data.french_dialogue_corpus(root, val_fraction=0.5, seed=3)
    assert a == data.french_dialogue_corpus(root, val_fraction=0.5, seed=3)
    splits = {
        data.french_dialogue_corpus(root, val_fraction=0.5, seed=s)["validation"].__len__() for s in range(8)
    }
    assert len(splits) > 1  # the seed matters
    for s in range(8):
        c = data.french_dialogue_corpus(root, val_fraction=0.5, seed=s)
        for side in c.values():
            chirac = [d for d in side if "JC : bonsoir" in d or "LJ :" in d]
            assert len(chirac) in (0, 2)  # both parts of a debate on the same side


def test_bad_inputs_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="val_fraction"):
        data.french_dialogue_corpus(tmp_path, val_fraction=1.0)
    with pytest.raises(ValueError, match=str(tmp_path / "nope")):
        data.french_dialogue_corpus(tmp_path / "nope")
    with pytest.raises(ValueError, match="simsamu"):
        data.french_dialogue_corpus(tmp_path)
    with pytest.raises(ValueError, match="missing.txt"):
        data.read_text_file(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="replay source not found"):
        data.replay_corpus(tmp_path / "none")
    (tmp_path / "fredsum" / "transcript").mkdir(parents=True)
    with pytest.raises(ValueError, match="FREDSum_test.json"):
        data.fredsum_test_files(tmp_path / "fredsum")


def test_real_corpus_never_contains_fredsum_test_files():
    if not (SHARED / "fredsum" / "FREDSum_test.json").exists():
        pytest.skip(f"reference data not available: {SHARED}")
    c = data.french_dialogue_corpus(SHARED)
    docs = set(c["train"]) | set(c["validation"])
    test = data.fredsum_test_files(SHARED / "fredsum")
    listed = json.loads((SHARED / "fredsum" / "FREDSum_test.json").read_text())["FREDSum_test"]
    assert len(test) == len(listed)
    for name in test:
        assert data.fredsum_dialogue(SHARED / "fredsum" / "transcript" / name) not in docs
    assert c["validation"] and c["train"]
    assert not set(c["train"]) & set(c["validation"])


def test_read_text_file_txt_and_jsonl(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("premier doc\nligne 2\n\n\nsecond doc\n")
    assert data.read_text_file(p) == ["premier doc\nligne 2", "second doc"]
    j = tmp_path / "a.jsonl"
    j.write_text('{"text": "un"}\n\n{"text": "deux"}\n')
    assert data.read_text_file(j) == ["un", "deux"]
    j.write_text('{"text": "un"}\n{"txt": 1}\n')
    with pytest.raises(ValueError, match=r"a.jsonl:2"):
        data.read_text_file(j)


def test_replay_corpus_from_files_and_installed_packages(tmp_path):
    (tmp_path / "en.txt").write_text("\n\n".join(f"document number {i} in English." for i in range(40)))
    c = data.replay_corpus(tmp_path, val_fraction=0.25)
    assert len(c["train"]) + len(c["validation"]) == 40 and c["validation"]
    assert c == data.replay_corpus(tmp_path, val_fraction=0.25)
    default = data.replay_corpus()
    assert len(default["train"]) > 20 and len(default["validation"]) > 2
    assert sum(" the " in d for d in default["validation"]) >= len(default["validation"]) // 2  # English


def test_take_chars_cuts_at_boundaries():
    out = data.take_chars(["a" * 10, "mot " * 10, "x" * 50], 25)
    assert out[0] == "a" * 10 and sum(map(len, out)) <= 25 and out[1].endswith("mot") and len(out) == 2


def test_token_blocks_start_with_bos_and_keep_the_stream():
    tok = tiny_tokenizer()
    x = data.token_blocks(FRENCH_SAMPLE, tok, 16)
    assert x.dtype.is_floating_point is False and x.shape[1] == 16 and len(x) > 3
    assert (x[:, 0] == tok.bos_token_id).all()
    stream = []
    for t in FRENCH_SAMPLE:
        stream += tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert x[:, 1:].reshape(-1).tolist() == stream[: x[:, 1:].numel()]
    with pytest.raises(ValueError, match="block_size"):
        data.token_blocks(FRENCH_SAMPLE, tok, 1)


def test_calibration_batches_seeded():
    tok = tiny_tokenizer()
    a = data.calibration_batches(FRENCH_SAMPLE * 4, tok, n=3, seq_len=8, seed=1)
    b = data.calibration_batches(FRENCH_SAMPLE * 4, tok, n=3, seq_len=8, seed=1)
    assert len(a) == 3 and all(t.shape == (1, 8) for t in a)
    assert all((x == y).all() for x, y in zip(a, b))
    with pytest.raises(ValueError, match="seq_len"):
        data.calibration_batches(["court"], tok, n=2, seq_len=64)


def test_default_replay_corpus_is_frozen_by_its_manifest(tmp_path, monkeypatch, caplog):
    docs = [(f"pkg{i}", f"Package {i} does things. " * 30) for i in range(30)]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(data.replay_manifest(docs)))
    monkeypatch.setattr(data, "REPLAY_MANIFEST", manifest)
    monkeypatch.setattr(data, "_package_descriptions", lambda _sp: list(docs))
    frozen = data.replay_corpus()
    assert sorted(frozen["train"] + frozen["validation"]) == sorted(d for _, d in docs)
    # a newly installed package does not enter; a changed description leaves with a warning
    changed = [("pkg0", "Rewritten description. " * 30)] + docs[1:] + [("newpkg", "New package text. " * 30)]
    monkeypatch.setattr(data, "_package_descriptions", lambda _sp: list(changed))
    with caplog.at_level("WARNING"):
        c = data.replay_corpus()
    got = c["train"] + c["validation"]
    assert len(got) == 29 and not any("Rewritten" in d or "New package" in d for d in got)
    assert "1 of 30 frozen documents missing or changed" in caplog.text and "pkg0" in caplog.text
    installed = data.replay_corpus("installed")
    assert len(installed["train"]) + len(installed["validation"]) == 31
    monkeypatch.setattr(data, "_package_descriptions", lambda _sp: [])
    with pytest.raises(ValueError, match="source='installed'"):
        data.replay_corpus()


def test_shipped_replay_manifest_matches_this_environment():
    c = data.replay_corpus()
    listed = json.loads(data.REPLAY_MANIFEST.read_text())["documents"]
    assert "llm4all" not in {d["name"] for d in listed}  # our own README is not old-domain text
    assert "llm4all" not in {n for n, _ in data._package_descriptions(data._site_packages())}
    assert len(c["train"]) + len(c["validation"]) >= 0.5 * len(listed)  # the set the benchmarks measured
