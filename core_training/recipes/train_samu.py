"""Recipe ``train-samu``: the SAMU model (LLM4ALL recipe: vocabulary trim, then LoRA).

Steps: load the base (Gemma 3 270M by default), trim its vocabulary to the tokens of a fixed
corpus (FREDSum non-test transcripts + the training calls + every prompt and candidate text; the
kept ids are saved with the adapter so :func:`samu.model.load_samu_model` rebuilds the same base
from the installed wheel and checks its hash), add LoRA adapters, and train on the project's
written calls (``samu/calls/<split>``) with a loss on the value tokens only: each call is one
token tree (the prompt, then one branch per field holding its gold value), the very layout used
to score candidates at inference (:mod:`samu.model`).

The run directory holds ``config.yaml``, ``metrics.jsonl``, resumable ``checkpoints/`` (state read
with ``torch.load(weights_only=True)``), ``adapter/`` (PEFT files, ``samu_model.json`` with the
SHA-256 of the weights, ``vocab_keep.json``, a model card) and ``summary.json``.

This is the one recipe that reads a head's data (``samu``): it imports :mod:`samu` inside
:func:`main`, so the library modules of ``core_training`` still never import a head.
"""

from __future__ import annotations

import functools
import logging
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from core_training.foundation import FOUNDATION
from core_training.recipes.config import (
    ExampleTrainingConfig,
    Hook,
    Run,
    check_model,
    epoch_shuffled,
    field_error,
    lora_from_config,
    train_options_for,
)

log = logging.getLogger(__name__)
RECIPE = "train-samu"
TRIM_CORPORA = ("fredsum+calls", "calls")
LOSSES = ("lm", "lm+rank")


@dataclass(frozen=True, kw_only=True)
class TrainSamuConfig(ExampleTrainingConfig):
    """LoRA adaptation of a small LLM that scores SAMU form values (loss on value tokens only).

    Args:
        model: base model: ``foundation`` (the project's French dialogue foundation, trimmed
            already: ``trim_vocab`` is ignored), a bundled name or a model directory.
        trim_vocab: trim the vocabulary to the tokens of ``trim_corpus`` before training.
        trim_corpus: ``fredsum+calls`` (FREDSum non-test transcripts, the training calls, the
            prompt and candidate texts) or ``calls`` (the calls and texts only).
        calls_dir: the call corpus (empty: ``samu/calls``).
        split: the split trained on (``train``; never ``dev`` or ``blind``).
        simsamu: simsamu parts (``samu/gold_splits.json``) trained on as well, with the
            project's gold forms: ``dev`` and/or ``test`` (never ``test2``, which measures).
        max_prompt_tokens: prompt length cap (beginning and end of a long call kept).
        lora_layers: adapt only the top N decoder layers (0: all); the frozen bottom layers'
            output on each call is then computed once and reused every epoch (one forward of
            the bottom per call instead of a forward and a backward per step).
        loss: ``lm`` (negative log-likelihood of the gold value tokens, teacher forcing) or
            ``lm+rank`` (plus, per field, the cross-entropy of the gold value among all the
            field's candidates scored as at inference: a longer tree, about twice the tokens).
        rank_weight: weight of the ranking term.

    The optimiser and LoRA fields (``epochs``: passes over the training calls, ``grad_accum``:
    calls per step, ``r``, ``lr``...) are those of :class:`ExampleTrainingConfig`.
    """

    model: str = "gemma3-270m"
    trim_vocab: bool = True
    trim_corpus: str = "fredsum+calls"
    calls_dir: str = ""
    split: str = "train"
    simsamu: tuple[str, ...] = ("dev", "test")
    max_prompt_tokens: int = 512
    lora_layers: int = 6
    loss: str = "lm"
    rank_weight: float = 1.0
    epochs: float = 2.0
    lr: float = 4e-4
    warmup_steps: int = 5
    checkpoint_every: int = 10

    def __post_init__(self):
        super().__post_init__()
        if self.model != FOUNDATION:
            check_model("model", self.model)
        if self.trim_corpus not in TRIM_CORPORA:
            raise field_error(
                "trim_corpus", f"choisir parmi {', '.join(TRIM_CORPORA)}, reçu {self.trim_corpus!r}"
            )
        if self.calls_dir and not Path(self.calls_dir).expanduser().is_dir():
            raise field_error("calls_dir", f"dossier introuvable : {self.calls_dir}")
        if self.split not in ("train",):
            raise field_error(
                "split",
                f"on n'entraîne que sur « train » (dev et blind servent à mesurer), reçu {self.split!r}",
            )
        from samu.corpus import SIMSAMU_TRAINABLE

        bad = [p for p in self.simsamu if p not in SIMSAMU_TRAINABLE]
        if bad or len(set(self.simsamu)) != len(self.simsamu):
            raise field_error(
                "simsamu",
                f"parties simsamu entraînables : {', '.join(SIMSAMU_TRAINABLE)} (test2 sert à mesurer), "
                f"sans doublon ; reçu {list(self.simsamu)}",
            )
        if self.max_prompt_tokens < 32:
            raise field_error("max_prompt_tokens", f"doit être >= 32, reçu {self.max_prompt_tokens}")
        if self.loss not in LOSSES:
            raise field_error("loss", f"choisir parmi {', '.join(LOSSES)}, reçu {self.loss!r}")
        if self.rank_weight < 0:
            raise field_error("rank_weight", f"doit être >= 0, reçu {self.rank_weight}")
        if self.lora_layers < 0:
            raise field_error("lora_layers", f"doit être >= 0, reçu {self.lora_layers}")


def trim_texts(cfg: TrainSamuConfig, spec, calls) -> list[str]:
    """The fixed trimming corpus: the spec's texts, the training calls, and FREDSum (non-test)."""
    from samu.llm import _dialogue

    texts = [spec.instruction + spec.header]
    for f in spec.fields:
        texts += [f"{spec.prefixes[f]} : {t}\n" for _c, t in spec.candidates[f]]
    texts += [_dialogue(c.transcript, 10**9)[0] for c in calls]
    if cfg.trim_corpus == "fredsum+calls":
        from core_training.data import default_shared_dir, fredsum_dialogues

        texts += [t for _d, _f, t in fredsum_dialogues(default_shared_dir() / "fredsum")]
    return texts


def _lora(base, cfg: TrainSamuConfig):
    """``base`` wrapped with LoRA adapters (all layers, or the top ``cfg.lora_layers``)."""
    import torch

    from core_training.lora import _peft, lora_targets

    if not cfg.lora_layers:
        return lora_from_config(base, cfg)
    n_layers = base.config.num_hidden_layers
    if cfg.lora_layers >= n_layers:
        raise field_error(
            "lora_layers", f"doit être < {n_layers} (0 : toutes les couches), reçu {cfg.lora_layers}"
        )
    try:
        targets = list(cfg.target_modules) or lora_targets(base)
        absent = [t for t in targets if t not in lora_targets(base, targets)]
        if absent or not targets:
            raise ValueError(f"target_modules {absent or targets} are not linear layers of this model")
    except ValueError as e:
        raise field_error("target_modules", str(e)) from None
    peft = _peft()
    lcfg = peft.LoraConfig(
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=targets,
        layers_to_transform=list(range(n_layers - cfg.lora_layers, n_layers)),
        bias="none",
        task_type="CAUSAL_LM",
    )
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        return peft.get_peft_model(base, lcfg)


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far, in GB (Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main(cfg: TrainSamuConfig, hook: Hook | None = None) -> dict:
    """Train (or resume) the SAMU model's LoRA adapter; returns the summary (tokens, time, memory)."""

    from core_training.models import load_causal_lm
    from core_training.train import train_loop
    from samu import model as sm_mod
    from samu.corpus import CALLS_DIR, load_simsamu, load_split

    run = Run(cfg, RECIPE)
    if run.summary is not None:
        return run.summary
    t_start = time.perf_counter()
    calls = list(load_split(cfg.split, cfg.calls_dir or CALLS_DIR).values())
    if not calls:
        raise field_error("calls_dir", f"aucun appel dans le split {cfg.split!r}")
    for part in cfg.simsamu:
        try:
            calls += list(load_simsamu(part).values())
        except FileNotFoundError as e:
            raise field_error("simsamu", str(e)) from None
    spec = sm_mod.default_spec(cfg.max_prompt_tokens)

    kept, base_sha = None, None
    if cfg.model == FOUNDATION:  # the French foundation: trimmed already, checked by its hash
        from core_training.foundation import load_base_model

        base, tok, base_sha = load_base_model(FOUNDATION, hook=hook)
    elif cfg.trim_vocab:
        from core_training.trim_vocab import trim_vocabulary

        full, full_tok = load_causal_lm(cfg.model)
        texts = trim_texts(cfg, spec, calls)
        _m, _t, info = trim_vocabulary(full, full_tok, texts)
        kept = info["kept_ids"]
        del full, full_tok, _m, _t
        # the trained base is the one load_samu_model rebuilds from the kept ids (same code path)
        base, tok = sm_mod.load_base(cfg.model, kept, hook=hook)
        base_sha = sm_mod.model_sha256(base, tok)
    else:
        base, tok = load_causal_lm(cfg.model)
        base_sha = sm_mod.model_sha256(base, tok)  # recorded and checked on load
    seconds_prepare = time.perf_counter() - t_start

    examples = []
    for c in calls:
        ex = sm_mod.training_example(
            spec, tok, c.transcript, c.gold["fields"], candidates=cfg.loss == "lm+rank"
        )
        if ex is not None:
            examples.append(ex)
    n = len(examples)
    model = _lora(base, cfg)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_layers = base.config.num_hidden_layers
    skip = n_layers - cfg.lora_layers if cfg.lora_layers else 0
    t_bottom = time.perf_counter()
    if skip:
        for i, ex in enumerate(examples):
            ex["bottom"] = sm_mod.bottom_states(model, ex, skip)
            ex["skip"] = skip
            if hook:
                hook("bottom", i + 1, n)
    seconds_bottom = time.perf_counter() - t_bottom

    batches = epoch_shuffled(examples, cfg.seed)
    steps = cfg.steps_for(n)
    opts = train_options_for(cfg, steps)
    records = train_loop(
        model,
        batches,
        opts,
        run.out,
        loss_fn=functools.partial(sm_mod.value_loss, rank_weight=cfg.rank_weight),
        hook=hook,
    )
    handle = sm_mod.SamuModel(model, tok, spec, name="samu-" + Path(cfg.model).name + "-lora")
    train_info = {
        "recipe": "llm4all train-samu",
        "split": cfg.split,
        **({"simsamu": list(cfg.simsamu)} if cfg.simsamu else {}),
        "calls": n,
        "epochs": cfg.epochs,
        "steps": steps,
        "loss": cfg.loss,
        "lr": cfg.lr,
        "lora": {
            "r": cfg.r,
            "alpha": cfg.alpha,
            "targets": list(cfg.target_modules) or "all projections",
            "layers": f"top {cfg.lora_layers} of {n_layers}" if cfg.lora_layers else "all",
        },
    }
    adapter = sm_mod.save_adapter(handle, run.out / "adapter", cfg.model, kept, base_sha, train_info)
    weights = adapter / sm_mod.WEIGHTS_FILE
    summary = {
        "adapter_dir": str(adapter),
        "model_dir": str(adapter),
        "adapter_sha256": sm_mod.file_sha256(weights),
        "adapter_mb": round(weights.stat().st_size / 1e6, 2),
        "trainable_parameters": n_trainable,
        "calls": n,
        "vocab": len(kept) if kept else None,
        "trimmed_base_sha256": base_sha,
        "steps": records[-1]["step"] if records else 0,
        "tokens": records[-1].get("tokens_total") if records else 0,
        "value_tokens": sum(r.get("value_tokens", 0) * cfg.grad_accum for r in records),
        "train_seconds": records[-1].get("seconds") if records else 0,
        "prepare_seconds": round(seconds_prepare, 1),
        "bottom_seconds": round(seconds_bottom, 1),
        "loss_first": records[0]["loss"] if records else None,
        "loss_last": records[-1]["loss"] if records else None,
        "peak_rss_gb": round(peak_rss_gb(), 2),
    }
    (adapter / "README.md").write_text(sm_mod.model_card(sm_mod.read_adapter_metadata(adapter), summary))
    return run.finish(summary)
