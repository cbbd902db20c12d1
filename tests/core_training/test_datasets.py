"""Corpora as ``datasets.DatasetDict``: built from local files, cached by fingerprint, packed
into the same blocks as :func:`core_training.data.token_blocks`."""

from __future__ import annotations

import json

import pytest
import torch
from datasets import DatasetDict, load_from_disk

from core_training import data
from core_training import datasets as cds
from core_training.recipes.config import blocks_for
from tests.conftest import SHARED
from tests.core_training.test_data import _fake_shared
from tests.core_training.tiny import FRENCH_SAMPLE, tiny_tokenizer


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """Built corpora go to a temporary cache, never the user's."""
    monkeypatch.setenv("LLM4ALL_CACHE", str(tmp_path / "cache"))


def _shared(*parts):
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"reference data not available: {p} (expected ../shared/data beside the project)")
    return p


def _rows(ds) -> list[dict]:
    return [ds[i] for i in range(len(ds))]


# --------------------------------------------------------------------------- real corpora


def test_french_dialogue_dataset_is_the_continued_pretraining_corpus():
    _shared("simsamu")
    _shared("fredsum", "FREDSum_test.json")
    dd = cds.load_corpus("french_dialogue")
    assert isinstance(dd, DatasetDict) and list(dd) == ["train", "validation"]
    old = data.french_dialogue_corpus()
    assert list(dd["train"]["text"]) == old["train"] and list(dd["validation"]["text"]) == old["validation"]
    assert (len(dd["train"]), len(dd["validation"])) == (155, 21)  # data_cards/french_dialogue_corpus.md
    assert set(dd["train"]["source"]) == {"simsamu", "fredsum"}
    assert not set(dd["train"]["group"]) & set(dd["validation"]["group"])  # debates never straddle
    test = data.fredsum_test_files(SHARED / "fredsum")
    assert not test & set(dd["train"]["doc_id"]) and not test & set(dd["validation"]["doc_id"])


def test_fredsum_dataset_has_the_official_split_and_references():
    root = _shared("fredsum", "FREDSum_test.json").parent
    from summarize.evaluate import load_items

    dd = cds.load_corpus("fredsum")
    assert {k: len(v) for k, v in dd.items()} == {"train": 115, "test": 29}
    listed = json.loads((root / "FREDSum_test.json").read_text())["FREDSum_test"]
    keys = {data._spelling_key(n) for n in listed}
    assert {data._spelling_key(n) for n in dd["test"]["name"]} == keys
    assert not {data._spelling_key(n) for n in dd["train"]["name"]} & keys  # no test file in train
    assert not set(dd["train"]["dialogue"]) & set(dd["test"]["dialogue"])
    # the references the summary evaluation scores against
    items = {it.name: it for it in load_items(root)}
    for row in _rows(dd["test"]):
        assert {s: t for s, t in row["references"].items() if t} == items[row["name"]].references
        assert row["dialogue"] == data.fredsum_dialogue(root / "transcript" / row["name"])


def test_samu_calls_dataset_carries_the_gold_forms():
    from samu.corpus import load_split

    dd = cds.load_corpus("samu_calls")
    assert {k: len(v) for k, v in dd.items()} == {"train": 696, "dev": 40}  # data_cards/samu_calls.md
    for split in ("train", "dev"):
        calls = load_split(split)
        rows = _rows(dd[split])
        assert [r["call"] for r in rows] == sorted(calls)
        for r in rows:
            c = calls[r["call"]]
            assert r["fields"] == c.gold["fields"]
            assert r["call_date"] == c.call_date.isoformat() and r["style"] == c.style
            assert [t["text"] for t in r["turns"]] == [s.text for s in c.transcript.segments]
            assert {(e["field"], e["turn"], e["quote"]) for e in r["evidence"]} == {
                (f, i, q) for f, qs in c.quotes.items() for i, q in qs
            }
    assert dd["train"].features["fields"]["location.address_present"].dtype == "bool"


def test_replay_dataset_is_the_replay_corpus():
    dd = cds.load_corpus("replay", source="installed", max_chars_per_doc=2000)
    old = data.replay_corpus("installed", max_chars_per_doc=2000)
    assert list(dd["train"]["text"]) == old["train"] and list(dd["validation"]["text"]) == old["validation"]


# --------------------------------------------------------------------------- cache and round trip


def test_cached_by_fingerprint_and_rebuilt_when_a_source_changes(tmp_path, monkeypatch):
    root = _fake_shared(tmp_path / "shared")
    builds = []
    real = cds._french_dialogue
    monkeypatch.setattr(cds, "_french_dialogue", lambda *a: builds.append(1) or real(*a))
    cache = tmp_path / "c"

    a = cds.load_corpus("french_dialogue", root, cache_dir=cache, val_fraction=0.0)
    assert len(a["train"]) == 6 and len(a["validation"]) == 0  # 3 calls + 3 non-test FREDSum parts
    assert not any("SECRET DE TEST" in t for t in a["train"]["text"])
    b = cds.load_corpus("french_dialogue", root, cache_dir=cache, val_fraction=0.0)
    assert len(builds) == 1 and b["train"].cache_files == a["train"].cache_files  # loaded, not rebuilt

    f = root / "fredsum" / "transcript" / "Chirac_Jospin--Partie_1_Intro.txt"
    f.write_text("P1 : bonsoir\nJC : texte modifié\n", encoding="utf-8")
    c = cds.load_corpus("french_dialogue", root, cache_dir=cache, val_fraction=0.0)
    assert len(builds) == 2 and "P1 : bonsoir\nJC : texte modifié" in c["train"]["text"]
    assert len(list(cache.iterdir())) == 1  # the stale version is removed
    cds.load_corpus("french_dialogue", root, cache_dir=cache, val_fraction=0.5)  # an option changes it too
    assert len(builds) == 3


def test_save_to_disk_round_trip(tmp_path):
    root = _fake_shared(tmp_path / "shared") / "fredsum"
    (root / "summary_abstractive" / "1").mkdir(parents=True)
    (root / "summary_abstractive" / "1" / "Chirac_Jospin--Partie_1_Intro.txt").write_text("Résumé.\r\n")
    dd = cds.load_corpus("fredsum", root)
    assert {k: len(v) for k, v in dd.items()} == {"train": 3, "test": 1}
    assert dd["test"][0]["name"] == "Destaing_Mitterand_2--Partie_3_Afrique.txt"
    intro = [r for r in _rows(dd["train"]) if r["name"].startswith("Chirac_Jospin--Partie_1")][0]
    assert intro["references"] == {"1": "Résumé.", "2": None, "3": None}
    dd.save_to_disk(str(tmp_path / "saved"))
    back = load_from_disk(str(tmp_path / "saved"))
    assert list(back) == list(dd) and back["train"].features == dd["train"].features
    assert all(_rows(back[s]) == _rows(dd[s]) for s in dd)


def test_bad_names_and_options_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown corpus 'nope'"):
        cds.load_corpus("nope")
    with pytest.raises(ValueError, match=r"unknown options \['seed'\]"):
        cds.load_corpus("fredsum", seed=1)
    with pytest.raises(ValueError, match="not found"):
        cds.load_corpus("french_dialogue", tmp_path / "absent")
    bad = tmp_path / "calls" / "train" / "w"
    bad.mkdir(parents=True)
    (bad / "x.json").write_text(json.dumps({"call": "x"}))
    with pytest.raises(ValueError, match="x.json.*missing keys"):
        cds.load_corpus("samu_calls", tmp_path / "calls")


# --------------------------------------------------------------------------- tokens and blocks


def test_packed_blocks_have_the_right_length_and_concatenate_to_the_tokenised_text():
    tok = tiny_tokenizer()
    docs = FRENCH_SAMPLE * 3
    stream = [t for d in docs for t in tok(d, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]]
    start = data.start_token_id(tok)
    for block_size in (8, 33):
        blocks = cds.block_dataset(docs, tok, block_size)
        x = cds.blocks_tensor(blocks)
        body = block_size - 1
        assert x.shape == (len(stream) // body, block_size)
        assert set(len(r) for r in blocks["input_ids"]) == {block_size}
        assert (x[:, 0] == start).all()
        assert x[:, 1:].reshape(-1).tolist() == stream[: len(x) * body]  # the tail is dropped
        assert torch.equal(x, data.token_blocks(docs, tok, block_size))
    from datasets import Dataset

    tokenized = cds.tokenize_documents(Dataset.from_dict({"text": docs}), tok)
    assert [t for r in tokenized["input_ids"] for t in r] == stream
    for bs in (1, 2, 5):  # blocks that straddle map batches do not depend on the batch size
        packed = cds.pack_blocks(tokenized, 8, start, batch_size=bs)
        assert torch.equal(cds.blocks_tensor(packed), data.token_blocks(docs, tok, 8))
    no_start = cds.blocks_tensor(cds.pack_blocks(tokenized, 10, None, batch_size=3))
    assert no_start.reshape(-1).tolist() == stream[: len(no_start) * 10]


def test_recipe_blocks_are_the_old_token_blocks_with_the_token_cap():
    tok = tiny_tokenizer()
    docs = FRENCH_SAMPLE * 4
    assert torch.equal(blocks_for(docs, tok, 16), data.token_blocks(docs, tok, 16))
    # max_train_tokens: a prefix of documents (about 8 characters a token), then the first blocks
    cut, n = [], 0
    for d in docs:
        cut.append(d)
        n += len(d)
        if n > 40 * 8:
            break
    assert torch.equal(blocks_for(docs, tok, 16, max_tokens=40), data.token_blocks(cut, tok, 16)[:2])
    with pytest.raises(ValueError, match="trop court"):
        blocks_for(["court"], tok, 64)
    assert cds.blocks_tensor(cds.block_dataset(["court"], tok, 64)).shape == (0, 64)


def test_tokenised_blocks_of_a_cached_corpus_are_cached_too(tmp_path):
    root = _fake_shared(tmp_path / "shared")
    tok = tiny_tokenizer()
    train = cds.load_corpus("french_dialogue", root, val_fraction=0.0)["train"]
    first = cds.block_dataset(train, tok, 8)
    again = cds.block_dataset(cds.load_corpus("french_dialogue", root, val_fraction=0.0)["train"], tok, 8)
    assert first.cache_files and again.cache_files == first.cache_files
    assert torch.equal(cds.blocks_tensor(again), data.token_blocks(list(train["text"]), tok, 8))
