"""Abstractive summaries with a language model: map-reduce over speaker turns.

1. **Chunk**: the transcript's turns (``Speaker : text`` lines) are packed into chunks that fit
   the model's context next to the prompt and the answer; a turn longer than a chunk is split on
   sentences (its speaker label repeated), never in the middle of a word.
2. **Map**: each chunk is summarised with a French one-shot completion prompt (works with base
   models such as Gemma 3 270M as well as instruction-tuned ones), asking for names.
3. **Reduce**: when the partial summaries together fit the word budget they are joined in
   order; otherwise they are merged by the model (recursively, in groups that fit the context).

Model output is cleaned (prompt echoes cut, repeated sentences dropped, unfinished last sentence
removed) and checked: an empty, repetitive, non-letter or non-French answer is *garbage* and is
replaced by an extractive summary of the same chunk, with a warning in the result. The merge
falls back to the joined partial summaries the same way. Nothing here raises on bad model output.
"""

from __future__ import annotations

import inspect
import logging
import math
import re
from collections.abc import Callable, Sequence

from asr.transcript import Segment, Transcript

from .extractive import extractive_summary
from .text import count_words, french_ratio, split_sentences, tokenize, truncate_words

log = logging.getLogger(__name__)

__all__ = [
    "Chunk",
    "token_counter",
    "context_length",
    "chunk_turns",
    "clean_output",
    "is_garbage",
    "meeting_prompt",
    "call_prompt",
    "merge_prompt",
    "map_reduce",
]

STOP = ("###", "\n\n", "Transcription :", "Résumés partiels :")
# tokens per French word for the conservative estimate when the LLM cannot count tokens
_TOKENS_PER_WORD = 2.0
_DEFAULT_CONTEXT = 2048

# zero-shot: with a one-shot example, a 270M base model copies the example's names
_MEETING_HEAD = """Voici la transcription d'un extrait de débat, suivie de son résumé en français. \
Le résumé dit qui défend quelle idée, en nommant les intervenants.

"""

_CALL_SHOT = """Voici la transcription d'un appel au SAMU, suivie de son résumé clinique en français.

Transcription :
regulateur : SAMU, bonjour, je vous écoute.
appelant : Bonjour, c'est pour ma mère, elle a quatre-vingts ans, elle est tombée dans la salle de bain \
et elle n'arrive plus à se relever.
regulateur : Est-ce qu'elle est consciente ? Elle vous parle ?
appelant : Oui elle me parle, mais elle a très mal à la hanche droite, et sa jambe est tournée.
regulateur : D'accord, ne la bougez pas, je vous envoie une ambulance.

Résumé :
Motif : chute à domicile.
Patient : femme de 80 ans.
Signes clés : consciente, douleur de la hanche droite, jambe en rotation, ne peut pas se relever.
Décision : envoi d'une ambulance, ne pas mobiliser la patiente.

###

"""

_MERGE_HEAD = """Voici les résumés partiels successifs d'un même {what}, puis leur résumé d'ensemble \
en français, qui garde les noms des intervenants et les idées principales de chacun.

Résumés partiels :
"""


def meeting_prompt(chunk: str) -> str:
    """The map prompt for a debate/meeting chunk (``Speaker : text`` lines)."""
    return f"{_MEETING_HEAD}Transcription :\n{chunk}\n\nRésumé :\n"


def call_prompt(chunk: str) -> str:
    """The map prompt for an emergency-call chunk: motif, patient, signes clés, décision."""
    return f"{_CALL_SHOT}Transcription :\n{chunk}\n\nRésumé :\nMotif :"


def merge_prompt(partials: Sequence[str], kind: str = "meeting") -> str:
    """The reduce prompt: numbered partial summaries, then the merged summary."""
    what = "appel" if kind == "call" else "débat"
    body = "\n".join(f"{i}. {p}" for i, p in enumerate(partials, 1))
    tail = "Résumé d'ensemble :\nMotif :" if kind == "call" else "Résumé d'ensemble :\n"
    return _MERGE_HEAD.format(what=what) + body + "\n\n" + tail


# --------------------------------------------------------------------------- model access


def token_counter(llm) -> Callable[[str], int]:
    """``llm.count_tokens`` when it has one, else a conservative estimate (2 tokens per word,
    at least a token per 3 characters)."""
    fn = getattr(llm, "count_tokens", None)
    if callable(fn):
        return fn
    return lambda text: int(max(_TOKENS_PER_WORD * len(text.split()), len(text) / 3)) + 1


def context_length(llm) -> int:
    """``llm.context_length`` when present, else a conservative 2048 tokens."""
    n = getattr(llm, "context_length", None)
    return int(n) if isinstance(n, int) and n > 0 else _DEFAULT_CONTEXT


def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _generate(llm, prompt: str, max_new_tokens: int, stop: Sequence[str]) -> str:
    kw = {"max_new_tokens": max_new_tokens, "stop": list(stop)}
    if _accepts(llm, "repetition_penalty"):
        kw["repetition_penalty"] = 1.15  # small models loop on greedy decoding without it
    out = llm(prompt, **kw)
    return out if isinstance(out, str) else ""


STOP_SENTENCE = (". ", ".\n", "\n\n", "###")


def _main_speakers(segments: Sequence[Segment], n: int) -> list[str]:
    words: dict[str, int] = {}
    for s in segments:
        if s.speaker:
            words[s.speaker] = words.get(s.speaker, 0) + count_words(s.text)
    return [k for k, _ in sorted(words.items(), key=lambda kv: -kv[1])[:n]]


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]


def lead_text(all_segments: Sequence[Segment], chunk_segments: Sequence[Segment], first: bool) -> str:
    """How the answer starts, written for the model so that it names the speakers:
    ``Dans ce débat, A et B`` (the two main speakers of the transcript) for the first chunk,
    ``Ensuite, C`` (the main speaker of the chunk) for the others."""
    if first:
        names = _main_speakers(all_segments, 2)
        return f"Dans ce débat, {_and(names)}" if names else "Dans ce débat,"
    names = _main_speakers(chunk_segments, 1)
    return f"Ensuite, {names[0]}" if names else "Ensuite,"


def _similar(a: str, b: str) -> bool:
    """Two sentences say the same (same words but for at most a quarter)."""
    ta, tb = set(tokenize(a)), set(tokenize(b))
    if not ta or not tb:
        return False
    return len(ta & tb) / min(len(ta), len(tb)) >= 0.75


def generate_sentences(llm, prompt: str, max_words: int, lead: str = "", max_steps: int = 12) -> str:
    """Let the model write a summary one sentence per call, after ``lead``.

    Stops at the budget, at an empty answer, or as soon as a sentence repeats an earlier one
    (greedy decoding of small models loops; each call stops at the end of a sentence, so no
    tokens are spent on the loop). Returns the text including ``lead``.
    """
    text = lead
    sentences: list[str] = []
    for _ in range(max_steps):
        need = max_words - count_words(text)
        if need < 4:
            break
        out = _generate(llm, prompt + text, _max_new_tokens(min(need, 60)), STOP_SENTENCE)
        out = " ".join(out.split())
        if not out or out.startswith(("#", "Transcription")):
            break
        new = split_sentences(out)
        if new and not re.search(r"[.!?…»\"]$", new[-1]) and count_words(new[-1]) < 4:
            new = new[:-1]  # a stub cut by a paragraph end ("Ils"): the summary is over
            if not new:
                break
        if not new:
            break
        fresh = []
        for sent in new:
            if any(_similar(sent, old) for old in sentences + fresh):
                break
            fresh.append(sent)
        if not fresh:
            break
        piece = " ".join(fresh)
        if not re.search(r"[.!?…»\"]$", piece):
            piece += "."
        glue = "" if not text or text.endswith((" ", "\n")) or piece[0] in ",.;:)" else " "
        text = text + glue + piece
        sentences.extend(fresh)
        if len(fresh) < len(new):  # a repeat: the model is looping
            break
    return text.strip()


# --------------------------------------------------------------------------- chunking


class Chunk:
    """A run of whole turns (or sentence pieces of one long turn) and its token count."""

    __slots__ = ("segments", "tokens")

    def __init__(self, segments: list[Segment], tokens: int):
        self.segments = segments
        self.tokens = tokens

    @property
    def text(self) -> str:
        return "\n".join(_line(s) for s in self.segments)


def _line(s: Segment) -> str:
    return f"{s.speaker} : {s.text}" if s.speaker else s.text


def _split_turn(seg: Segment, budget: int, count: Callable[[str], int]) -> list[Segment]:
    """Pieces of a too-long turn, each fitting ``budget`` tokens: whole sentences, else words."""
    pieces: list[str] = []
    for sent in split_sentences(seg.text):
        if count(_line(Segment(0, 0, seg.speaker, sent))) <= budget:
            pieces.append(sent)
            continue
        words, cur = sent.split(), []
        for w in words:
            if cur and count(_line(Segment(0, 0, seg.speaker, " ".join([*cur, w])))) > budget:
                pieces.append(" ".join(cur))
                cur = []
            cur.append(w)
        if cur:
            pieces.append(" ".join(cur))
    out: list[Segment] = []
    cur_text = ""
    for p in pieces:
        trial = f"{cur_text} {p}".strip()
        if cur_text and count(_line(Segment(0, 0, seg.speaker, trial))) > budget:
            out.append(Segment(seg.start, seg.end, seg.speaker, cur_text))
            cur_text = p
        else:
            cur_text = trial
    if cur_text:
        out.append(Segment(seg.start, seg.end, seg.speaker, cur_text))
    return out


def chunk_turns(segments: Sequence[Segment], budget: int, count: Callable[[str], int]) -> list[Chunk]:
    """Pack turns into chunks of at most ``budget`` tokens, cutting only between turns (or,
    for a turn longer than ``budget``, between its sentences)."""
    if budget < 1:
        raise ValueError(f"chunk budget must be >= 1 token, got {budget}")
    chunks: list[Chunk] = []
    cur: list[Segment] = []
    cur_tokens = 0
    for seg in segments:
        if not seg.text.strip():
            continue
        n = count(_line(seg)) + 1  # + the newline
        parts = [seg] if n <= budget else _split_turn(seg, budget - 1, count)
        for part in parts:
            n = count(_line(part)) + 1
            if cur and cur_tokens + n > budget:
                chunks.append(Chunk(cur, cur_tokens))
                cur, cur_tokens = [], 0
            cur.append(part)
            cur_tokens += n
    if cur:
        chunks.append(Chunk(cur, cur_tokens))
    return chunks


# --------------------------------------------------------------------------- output checks


def _norm(s: str) -> str:
    return " ".join(tokenize(s))


def clean_output(text: str, kind: str = "meeting") -> str:
    """Tidy a model answer: cut prompt echoes, drop repeated sentences and an unfinished last
    sentence, collapse spaces. For calls, keep the ``Champ : valeur`` lines."""
    for marker in ("###", "Transcription :", "Résumés partiels", "Résumé :", "Résumé d'ensemble"):
        i = text.find(marker)
        if i >= 0:
            text = text[:i]
    if kind == "call":
        text = "Motif :" + text if not text.lstrip().startswith("Motif") else text
        lines, seen = [], set()
        for line in text.split("\n"):
            line = " ".join(line.split())
            key = _norm(line)
            if not line or key in seen:
                continue
            seen.add(key)
            lines.append(line)
        return "\n".join(lines)
    sents, seen = [], set()
    for s in split_sentences(text):
        key = _norm(s)
        if not key or key in seen:
            continue
        seen.add(key)
        sents.append(s)
    if len(sents) > 1 and not re.search(r"[.!?…»\"]$", sents[-1]):
        sents = sents[:-1]
    return " ".join(sents)


def is_garbage(text: str, kind: str = "meeting") -> str | None:
    """Why a cleaned model answer is unusable, in French, or ``None`` when it is fine."""
    body = (
        re.sub(r"^(Motif|Patient|Signes clés|Décision)\s*:", "", text, flags=re.M) if kind == "call" else text
    )
    toks = tokenize(body)
    if len(toks) < 3:
        return "réponse vide ou trop courte"
    letters = sum(c.isalpha() for c in body)
    if letters < 0.6 * len(re.sub(r"\s", "", body)):
        return "réponse sans texte lisible"
    if len(toks) >= 12:
        grams = [tuple(toks[i : i + 3]) for i in range(len(toks) - 2)]
        if len(set(grams)) < 0.5 * len(grams):
            return "réponse répétitive"
    if french_ratio(body) < 0.5:
        return "réponse qui n'est pas en français"
    return None


# --------------------------------------------------------------------------- map-reduce


def _max_new_tokens(words: int) -> int:
    return int(math.ceil(words * 1.6)) + 16


def map_reduce(transcript: Transcript, llm, max_words: int, options, hook=None) -> tuple[str, int, list[str]]:
    """Summarise ``transcript`` with ``llm`` in at most ``max_words`` words.

    Returns:
        ``(text, number of chunks, warnings)``.

    Raises:
        ValueError: the model's context is too small for the prompt.
    """
    kind = options.kind
    count = token_counter(llm)
    ctx = context_length(llm)
    prompt_fn = call_prompt if kind == "call" else meeting_prompt
    overhead = count(prompt_fn("")) + 8
    segments = [s for s in transcript.segments if s.text.strip()]
    # the answer may take at most a quarter of the context; the transcript chunk the rest
    answer_cap = max(8, int((ctx // 4 - 16) / 1.6))
    n_chunks_guess = max(1, math.ceil(sum(count(_line(s)) for s in segments) / options.chunk_tokens))
    if kind == "meeting":
        words_per_chunk = min(answer_cap, max(25, max_words // n_chunks_guess))
    else:
        words_per_chunk = min(answer_cap, max_words, 80)
    room = ctx - overhead - _max_new_tokens(words_per_chunk)
    budget = min(options.chunk_tokens, room)
    if budget < 64:
        raise ValueError(
            f"model context of {ctx} tokens is too small: {overhead} for the prompt and "
            f"{_max_new_tokens(words_per_chunk)} for the answer leave {room} for the transcript"
        )
    chunks = chunk_turns(segments, budget, count)
    if kind == "meeting":
        words_per_chunk = min(words_per_chunk, max(25, max_words // len(chunks)))
    warnings: list[str] = []
    partials: list[str] = []
    for i, chunk in enumerate(chunks):
        if hook:
            hook("map", i, len(chunks))
        if kind == "meeting":
            lead = lead_text(segments, chunk.segments, i == 0)
            raw = generate_sentences(llm, prompt_fn(chunk.text), words_per_chunk, lead)
            text = clean_output(raw, kind)
            # judge what the model wrote, not the lead we wrote for it
            added = text[len(lead) :] if text.startswith(lead) else text
        else:
            text = clean_output(
                _generate(llm, prompt_fn(chunk.text), _max_new_tokens(words_per_chunk), STOP), kind
            )
            added = text
        why = is_garbage(added, kind)
        if why:
            log.info("chunk %d/%d: unusable model output (%s), extractive fallback", i + 1, len(chunks), why)
            warnings.append(
                f"extrait {i + 1}/{len(chunks)} : {why} du modèle, remplacée par un résumé extractif"
            )
            text = extractive_summary(Transcript(tuple(chunk.segments)), words_per_chunk)
        elif kind == "meeting":
            text = truncate_words(text, words_per_chunk)
        partials.append(text)
    if hook:
        hook("map", len(chunks), len(chunks))
    text = _reduce(partials, llm, max_words, kind, ctx, count, warnings, hook)
    return (
        truncate_words(text, max_words) if kind == "meeting" else _cap_lines(text, max_words),
        len(chunks),
        warnings,
    )


def _cap_lines(text: str, max_words: int) -> str:
    out, n = [], 0
    for line in text.split("\n"):
        k = count_words(line)
        if n + k > max_words:
            rest = max_words - n
            if rest > 3:
                out.append(truncate_words(line, rest))
            break
        out.append(line)
        n += k
    return "\n".join(out)


def _join_unique(partials: Sequence[str]) -> str:
    """Partial summaries joined in order, without sentences that repeat an earlier one."""
    kept: list[str] = []
    for p in partials:
        for sent in split_sentences(p):
            if not any(_similar(sent, k) for k in kept):
                kept.append(sent)
    return " ".join(kept)


def _reduce(partials, llm, max_words, kind, ctx, count, warnings, hook, depth: int = 0) -> str:
    joined = "\n".join(partials) if kind == "call" else _join_unique(partials)
    if len(partials) == 1 or (kind == "meeting" and count_words(joined) <= max_words):
        return joined
    answer = min(_max_new_tokens(max_words), ctx // 3)
    room = ctx - count(merge_prompt([], kind)) - answer - 8
    # groups of partial summaries that fit the context next to the merge prompt
    groups: list[list[str]] = [[]]
    for p in partials:
        if groups[-1] and count(merge_prompt([*groups[-1], p], kind)) - count(merge_prompt([], kind)) > room:
            groups.append([])
        groups[-1].append(p)
    if depth > 4 or (len(groups) == len(partials) and len(partials) > 1 and room < 64):
        warnings.append("résumés partiels trop longs pour être fusionnés par le modèle : mis bout à bout")
        return joined
    merged: list[str] = []
    for g, group in enumerate(groups):
        if hook:
            hook("reduce", g, len(groups))
        if len(group) == 1:
            merged.append(group[0])
            continue
        raw = _generate(llm, merge_prompt(group, kind), answer, STOP)
        text = clean_output(raw, kind)
        why = is_garbage(text, kind)
        if why:
            warnings.append(f"fusion des résumés : {why} du modèle, résumés partiels mis bout à bout")
            text = ("\n" if kind == "call" else " ").join(group)
        merged.append(text)
    if hook:
        hook("reduce", len(groups), len(groups))
    if len(merged) == 1:
        return merged[0]
    return _reduce(merged, llm, max_words, kind, ctx, count, warnings, hook, depth + 1)
