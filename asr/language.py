"""Language honesty: say so when the audio is not in the language the transcript was made for.

The front end forces French by default (Whisper then writes French-looking text whatever is
spoken). :func:`asr.pipeline.transcribe` also runs Whisper's own language identification on
the first 30 s of speech and stores it in ``Transcript.detected_language`` /
``language_probability``; :func:`language_warning` turns that into a French message for the
user. Standard library only.
"""

from __future__ import annotations

from asr.transcript import Transcript

__all__ = ["LANGUAGE_NAMES_FR", "language_name_fr", "language_warning", "WARN_PROBABILITY"]

WARN_PROBABILITY = 0.5
"""Warn only when Whisper is more sure than this that another language is spoken."""

LANGUAGE_NAMES_FR = {
    "fr": "français", "en": "anglais", "es": "espagnol", "de": "allemand", "it": "italien",
    "pt": "portugais", "nl": "néerlandais", "ar": "arabe", "tr": "turc", "ru": "russe",
    "uk": "ukrainien", "pl": "polonais", "ro": "roumain", "zh": "chinois", "ja": "japonais",
    "ko": "coréen", "vi": "vietnamien", "hi": "hindi", "fa": "persan", "he": "hébreu",
    "el": "grec", "sv": "suédois", "da": "danois", "no": "norvégien", "fi": "finnois",
    "cs": "tchèque", "hu": "hongrois", "bg": "bulgare", "sr": "serbe", "hr": "croate",
    "ca": "catalan", "eu": "basque", "br": "breton", "oc": "occitan", "ln": "lingala",
    "sw": "swahili", "wo": "wolof", "yo": "yoruba", "ha": "haoussa", "am": "amharique",
    "so": "somali", "ta": "tamoul", "ur": "ourdou", "bn": "bengali", "th": "thaï",
    "id": "indonésien", "ms": "malais", "tl": "tagalog", "ht": "créole haïtien",
}  # fmt: skip


def language_name_fr(code: str) -> str:
    """French name of a language code (``"en"`` -> ``"anglais"``); the code itself if unknown."""
    return LANGUAGE_NAMES_FR.get(code, code)


def language_warning(
    t: Transcript, expected: str = "fr", min_probability: float = WARN_PROBABILITY
) -> str | None:
    """A French warning when Whisper hears another language than ``expected`` in ``t``.

    Args:
        t: a transcript from :func:`asr.pipeline.transcribe` (``detected_language`` set).
        expected: the language the suite works in.
        min_probability: warn only when ``language_probability`` is above this.

    Returns:
        the message, or ``None`` (language as expected, not measured, or not sure enough).
    """
    lang, p = t.detected_language, t.language_probability
    if lang is None or p is None or lang == expected or p <= min_probability:
        return None
    heard = language_name_fr(lang)
    pct = f"{100 * p:.0f}"
    if t.language and t.language != lang:
        return (
            f"langue parlée : {heard} ({lang}, probabilité {pct} %), pas le "
            f"{language_name_fr(expected)} ; la transcription, forcée en {language_name_fr(t.language)}, "
            "est peu fiable (relancer avec --language auto ou --language " + lang + ")"
        )
    return (
        f"langue parlée : {heard} ({lang}, probabilité {pct} %), pas le {language_name_fr(expected)} ; "
        "fiche et résumé, prévus pour le français, sont peu fiables"
    )
