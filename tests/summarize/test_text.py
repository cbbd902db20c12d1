"""French tokenizer, sentence splitter, ROUGE scorer."""

from __future__ import annotations

from rouge_score import rouge_scorer

from summarize.evaluate import make_scorer, score_best_of
from summarize.text import (
    FrenchTokenizer,
    count_words,
    french_ratio,
    split_sentences,
    tokenize,
    truncate_words,
)


def test_default_rouge_tokenizer_drops_accented_letters_ours_keeps_them():
    text = "L'école a été créée à Orléans."
    default = rouge_scorer.RougeScorer(["rouge1"]).__dict__.get("_tokenizer")
    default_tokens = default.tokenize(text)
    # rouge-score keeps [a-z0-9] only: "école" -> "cole", "été" -> "t", "créée" -> "cr", "e"
    assert "école" not in default_tokens and "cole" in default_tokens and "t" in default_tokens
    assert FrenchTokenizer().tokenize(text) == ["l", "école", "a", "été", "créée", "à", "orléans"]


def test_default_tokenizer_inflates_scores_of_unrelated_accented_words():
    # "été" vs "tête": different words that the default tokenizer both reduces to a "t"
    pred, ref = "été né", "tête nue"
    default = rouge_scorer.RougeScorer(["rouge1"]).score(ref, pred)["rouge1"].fmeasure
    ours = score_best_of(pred, [ref])["rouge1"]
    assert default > 0 and ours == 0.0


def test_rouge_of_identical_texts_is_100_and_best_reference_counts():
    text = (
        "Ségolène Royal défend l'école maternelle dès deux ans ; Nicolas Sarkozy préfère l'étude surveillée."
    )
    s = score_best_of(text, ["Rien à voir avec le sujet.", text])
    assert s == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0}
    assert score_best_of("", [text])["rougeL"] == 0.0
    assert make_scorer(french=False) is not None


def test_sentences_words_truncation():
    text = "Bonjour. M. Dupont est là ! il parle… « Non. » Fin"
    assert split_sentences(text) == ["Bonjour.", "M. Dupont est là !", "il parle…", "« Non. »", "Fin"]
    assert split_sentences("   ") == []
    assert count_words("Il a dit : « oui » — voilà.") == 5
    assert (
        truncate_words("Une phrase courte. Une seconde phrase bien plus longue.", 4) == "Une phrase courte."
    )
    assert truncate_words("un deux trois quatre cinq", 3) == "un deux trois …"
    assert tokenize("peut-être aujourd’hui") == ["peut", "être", "aujourd", "hui"]


def test_french_ratio():
    assert french_ratio("Nous allons parler de l'école et des enfants.") == 1.0
    assert (
        french_ratio("We are going to talk about the school and the children, which is not what you want.")
        < 0.3
    )
