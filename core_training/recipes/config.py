"""Shared pieces of the recipes: typed YAML configs, run directories, data and model loading.

Configs are frozen dataclasses whose fields are the YAML keys, one for one. They validate in
``__post_init__`` and raise ``ValueError("field : ...")`` (French: the messages reach CLI users).
:func:`load_config` builds one from a YAML file plus ``--key value`` overrides, converting each
string to the field's declared type; unknown keys are refused with the list of valid ones.

A run directory holds:

- ``config.yaml``: the resolved config (loadable again with ``--config``);
- ``metrics.jsonl``: one JSON record per step (and evaluation records, ``step`` 0 = before);
- ``checkpoints/``: resumable training state (see :mod:`core_training.train`);
- ``model/``: the result, a standard checkpoint (written atomically);
- ``summary.json``: written last; its presence marks a finished run.

Running a recipe again on the same directory with the same config resumes it (or returns the
finished summary); a different config is refused unless ``overwrite`` is set.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asr.progress import Hook
from asr.transcript import json_dumps_strict
from core_training import distributed

log = logging.getLogger(__name__)


CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "summary.json"
METRICS_FILE = "metrics.jsonl"
MODEL_DIR = "model"
# fields that may change between a run and its resumption (a moved directory, more threads...)
RESUME_FREE = {"out", "overwrite", "threads", "checkpoint_every", "keep_checkpoints"}

NAMED_CORPORA = ("french_dialogue", "replay")


def field_error(name: str, message: str) -> ValueError:
    """A ``ValueError`` naming the config field (French message)."""
    return ValueError(f"{name} : {message}")


# --------------------------------------------------------------------------- base configs


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Fields every recipe that writes a run directory shares.

    Args:
        out: output directory of the run.
        overwrite: start afresh even if ``out`` holds another run.
        seed: seeds data order and initialisations.
        threads: torch CPU threads (0: torch's default).
    """

    out: str
    overwrite: bool = False
    seed: int = 0
    threads: int = 0

    def __post_init__(self):
        if not str(self.out).strip():
            raise field_error("out", "dossier de sortie manquant")
        if self.threads < 0:
            raise field_error("threads", f"doit être >= 0, reçu {self.threads}")


@dataclass(frozen=True, kw_only=True)
class TrainingConfig(RunConfig):
    """Fields of the recipes that train (continue-pretrain, distill, grow, lora).

    Args:
        train_data: ``french_dialogue`` (simsamu + FREDSum, train split), ``replay`` or a text
            file (``.txt`` documents separated by blank lines, or ``.jsonl`` with ``text``).
        val_data: validation text: empty for the named corpus' validation split (for a file,
            its last 10 % of documents), else a corpus name or a file.
        steps: optimizer steps.
        batch_size: blocks per micro-batch (under torchrun: the global micro-batch, split evenly
            between the processes).
        block_size: tokens per block.
        grad_accum: micro-batches per optimizer step.
        max_train_tokens: cap on the training text, in tokens (0: all of it).
        lr, warmup_steps, min_lr_ratio: re-warm to ``lr`` then cosine re-decay to ``lr * min_lr_ratio``.
        weight_decay, max_grad_norm: AdamW decay, gradient clipping (0: off).
        checkpoint_every: steps between checkpoints (0: only at the end).
        keep_checkpoints: step checkpoints kept on disk.
        eval_tokens: validation tokens scored before and after training per domain (0: skip).
        eval_block_size: window of the perplexity evaluation.
    """

    train_data: str = "french_dialogue"
    val_data: str = ""
    steps: int = 100
    batch_size: int = 2
    block_size: int = 256
    grad_accum: int = 1
    max_train_tokens: int = 0
    lr: float = 5e-5
    warmup_steps: int = 10
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    checkpoint_every: int = 25
    keep_checkpoints: int = 1
    eval_tokens: int = 8192
    eval_block_size: int = 256

    def __post_init__(self):
        super().__post_init__()
        check_data("train_data", self.train_data)
        if self.val_data:
            check_data("val_data", self.val_data)
        for name in ("steps", "batch_size", "grad_accum", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise field_error(name, f"doit être >= 1, reçu {getattr(self, name)}")
        for name in ("max_train_tokens", "checkpoint_every", "eval_tokens"):
            if getattr(self, name) < 0:
                raise field_error(name, f"doit être >= 0, reçu {getattr(self, name)}")
        if self.block_size < 8:
            raise field_error("block_size", f"doit être >= 8, reçu {self.block_size}")
        if self.eval_block_size < 8:
            raise field_error("eval_block_size", f"doit être >= 8, reçu {self.eval_block_size}")
        if not self.lr > 0:
            raise field_error("lr", f"doit être > 0, reçu {self.lr}")
        if not 0 <= self.warmup_steps <= self.steps:
            raise field_error(
                "warmup_steps", f"doit être entre 0 et steps ({self.steps}), reçu {self.warmup_steps}"
            )
        if not 0 <= self.min_lr_ratio <= 1:
            raise field_error("min_lr_ratio", f"doit être entre 0 et 1, reçu {self.min_lr_ratio}")
        if self.weight_decay < 0:
            raise field_error("weight_decay", f"doit être >= 0, reçu {self.weight_decay}")
        if self.max_grad_norm < 0:
            raise field_error("max_grad_norm", f"doit être >= 0, reçu {self.max_grad_norm}")

    def train_options(self):
        return train_options_for(self, self.steps)


def check_lora_fields(cfg) -> None:
    """Validate a config's LoRA fields (``r``, ``alpha``, ``dropout``)."""
    if cfg.r < 1:
        raise field_error("r", f"doit être >= 1, reçu {cfg.r}")
    if not cfg.alpha > 0:
        raise field_error("alpha", f"doit être > 0, reçu {cfg.alpha}")
    if not 0 <= cfg.dropout < 1:
        raise field_error("dropout", f"doit être dans [0, 1[, reçu {cfg.dropout}")


@dataclass(frozen=True, kw_only=True)
class ExampleTrainingConfig(RunConfig):
    """Fields of the recipes that LoRA-tune a task head on examples (``train-samu``,
    ``train-summary``): one example per micro-batch, ``epochs`` passes over them.

    Args:
        epochs: passes over the examples.
        grad_accum: examples per optimizer step (one example per micro-batch).
        r, alpha, dropout, target_modules: LoRA rank, scaling, dropout, layers (empty: all
            attention and MLP projections).
        lr, warmup_steps, min_lr_ratio, weight_decay, max_grad_norm: AdamW, warm-up then cosine.
        checkpoint_every: steps between checkpoints (0: only at the end).
        keep_checkpoints: step checkpoints kept on disk.
    """

    epochs: float = 1.0
    grad_accum: int = 4
    r: int = 16
    alpha: float = 32.0
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ()
    lr: float = 3e-4
    warmup_steps: int = 3
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    checkpoint_every: int = 5
    keep_checkpoints: int = 1

    def __post_init__(self):
        super().__post_init__()
        if not self.epochs > 0:
            raise field_error("epochs", f"doit être > 0, reçu {self.epochs}")
        for name in ("grad_accum", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise field_error(name, f"doit être >= 1, reçu {getattr(self, name)}")
        check_lora_fields(self)
        for name in ("checkpoint_every", "warmup_steps", "weight_decay", "max_grad_norm"):
            if getattr(self, name) < 0:
                raise field_error(name, f"doit être >= 0, reçu {getattr(self, name)}")
        if not self.lr > 0:
            raise field_error("lr", f"doit être > 0, reçu {self.lr}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise field_error("min_lr_ratio", f"doit être entre 0 et 1, reçu {self.min_lr_ratio}")

    def steps_for(self, n_examples: int) -> int:
        """Optimizer steps of ``epochs`` passes over ``n_examples`` examples."""
        return max(1, math.ceil(self.epochs * n_examples / self.grad_accum))


def train_options_for(cfg, steps: int):
    """The :class:`core_training.train.TrainOptions` of a config's optimiser fields for ``steps``
    steps (warm-up capped at ``steps``)."""
    from core_training.train import TrainOptions

    return TrainOptions(
        steps=steps,
        lr=cfg.lr,
        warmup_steps=min(cfg.warmup_steps, steps),
        min_lr_ratio=cfg.min_lr_ratio,
        weight_decay=cfg.weight_decay,
        max_grad_norm=cfg.max_grad_norm,
        grad_accum=cfg.grad_accum,
        checkpoint_every=cfg.checkpoint_every,
        keep_checkpoints=cfg.keep_checkpoints,
        seed=cfg.seed,
    )


def lora_from_config(base, cfg):
    """``base`` wrapped with LoRA adapters from a config's ``r``, ``alpha``, ``dropout``,
    ``target_modules`` (empty: every linear projection) and ``seed``; a bad target list is a
    ``target_modules`` field error."""
    from core_training.lora import add_lora

    try:
        return add_lora(
            base,
            r=cfg.r,
            alpha=cfg.alpha,
            dropout=cfg.dropout,
            target_modules=cfg.target_modules or None,
            seed=cfg.seed,
        )
    except ValueError as e:
        raise field_error("target_modules", str(e)) from None


def epoch_shuffled(examples: list, seed: int):
    """``batch(i)``: the i-th example of a stream of epochs over ``examples``, each epoch in its
    own seeded order (so a resumed run sees the same examples at the same steps)."""
    import torch

    n = len(examples)

    def batch(i: int):
        epoch, k = divmod(i, n)
        g = torch.Generator().manual_seed(seed * 100_003 + epoch)
        return examples[int(torch.randperm(n, generator=g)[k])]

    return batch


def check_data(name: str, value: str) -> None:
    """Validate a data field: a named corpus or an existing file or directory."""
    if not str(value).strip():
        raise field_error(name, "source de texte manquante")
    if value in NAMED_CORPORA:
        return
    if not Path(value).expanduser().exists():
        raise field_error(
            name, f"fichier introuvable : {value} (ou un corpus nommé : {', '.join(NAMED_CORPORA)})"
        )


def check_model(name: str, value: str) -> None:
    """Validate a model field: a bundled name, a hub id, or an existing model directory."""
    from core_training.models import _ALIASES, BUNDLED

    v = str(value).strip()
    if not v:
        raise field_error(name, "modèle manquant")
    if v in BUNDLED or v in _ALIASES:
        return
    p = Path(v).expanduser()
    looks_like_path = v.startswith((".", "/", "~")) or v.count("/") != 1
    if p.exists():
        if not (p / "config.json").exists():
            raise field_error(name, f"{v} n'est pas un dossier de modèle (pas de config.json)")
    elif looks_like_path:
        raise field_error(
            name, f"dossier de modèle introuvable : {v} (ou un modèle fourni : {', '.join(BUNDLED)})"
        )


# --------------------------------------------------------------------------- typed parsing


def _field_types(cls) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


_TRUE = {"1", "true", "yes", "y", "on", "oui", "vrai"}
_FALSE = {"0", "false", "no", "n", "off", "non", "faux"}


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if tp is bool:
        return "un booléen (true/false)"
    if tp is int:
        return "un entier"
    if tp is float:
        return "un nombre"
    if tp is str:
        return "un texte"
    if origin in (tuple, list):
        return "une liste"
    return str(tp)


def coerce(name: str, tp, value):
    """Convert ``value`` (a YAML value or a command-line string) to the field type ``tp``.

    Raises ``ValueError`` naming the field when it cannot.
    """
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
            return None
        return coerce(name, args[0], value)
    if origin in (tuple, list):
        args = typing.get_args(tp)
        inner = args[0] if args else str
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        elif value is None:
            items = []
        else:
            raise field_error(name, f"attendu {_type_name(tp)}, reçu {value!r}")
        out = [coerce(name, inner, v) for v in items]
        return tuple(out) if origin is tuple else out
    if tp is bool:
        if isinstance(value, bool):
            return value
        s = str(value).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise field_error(name, f"attendu {_type_name(tp)}, reçu {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise field_error(name, f"attendu {_type_name(tp)}, reçu {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip().replace("_", ""))
        except ValueError:
            try:
                f = float(str(value))
                if f.is_integer():
                    return int(f)
            except ValueError:
                pass
            raise field_error(name, f"attendu {_type_name(tp)}, reçu {value!r}") from None
    if tp is float:
        if isinstance(value, bool):
            raise field_error(name, f"attendu {_type_name(tp)}, reçu {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise field_error(name, f"attendu {_type_name(tp)}, reçu {value!r}") from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise field_error(name, f"attendu {_type_name(tp)}, reçu {value!r}")
        return "" if value is None else str(value)
    return value


def key_name(key: str) -> str:
    """``--block-size`` / ``block-size`` / ``block_size`` -> ``block_size``."""
    return key.lstrip("-").replace("-", "_")


def build_config(cls, values: dict):
    """Instantiate ``cls`` from raw ``values`` (YAML or strings), refusing unknown keys."""
    types_ = _field_types(cls)
    kwargs = {}
    for raw_key, value in values.items():
        key = key_name(str(raw_key))
        if key not in types_:
            close = difflib.get_close_matches(key, list(types_), n=1)
            hint = f" (vouliez-vous dire « {close[0]} » ?)" if close else ""
            raise ValueError(f"clé inconnue « {raw_key} »{hint} ; clés possibles : {', '.join(types_)}")
        kwargs[key] = coerce(key, types_[key], value)
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise field_error(missing[0], "valeur obligatoire manquante (dans le YAML ou --" + missing[0] + ")")
    return cls(**kwargs)


def read_yaml(path: str | os.PathLike) -> dict:
    """The mapping in a YAML config file (``ValueError`` in French when it is not one)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"fichier de configuration introuvable : {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise ValueError(f"YAML invalide dans {p} : {str(e).splitlines()[0]}") from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{p} : la configuration doit être un dictionnaire clé: valeur")
    return data


def load_config(cls, path: str | os.PathLike | None = None, overrides: dict | None = None):
    """Config of type ``cls`` from a YAML file (optional) updated with ``overrides``.

    Override values may be strings (command line): they are converted to each field's type.
    """
    values = read_yaml(path) if path else {}
    values = {key_name(str(k)): v for k, v in values.items()}
    for k, v in (overrides or {}).items():
        values[key_name(k)] = v
    return build_config(cls, values)


def config_dict(cfg) -> dict:
    """The config's fields as plain YAML-able values (tuples as lists)."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def dump_yaml(cfg, recipe: str) -> str:
    import yaml

    head = f"# llm4all {recipe} --config config.yaml   (configuration résolue)\n"
    return head + yaml.safe_dump(config_dict(cfg), sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- run directories


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


class Run:
    """A recipe's output directory (see the module docstring).

    Attributes:
        out: the directory.
        summary: the finished run's summary when it had finished already, else None.
        fresh: True when nothing from an earlier run of this config is there.
    """

    def __init__(self, cfg: RunConfig, recipe: str):
        import torch

        self.cfg, self.recipe = cfg, recipe
        self.out = Path(cfg.out).expanduser()
        self.summary: dict | None = None
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        # under torchrun: rank 0 checks and writes the directory, every rank gets its verdict
        distributed.init_from_env()
        self.summary, self.fresh = distributed.on_main(self._prepare)

    def _prepare(self) -> tuple[dict | None, bool]:
        cfg, recipe = self.cfg, self.recipe
        summary = None
        cfg_path = self.out / CONFIG_FILE
        if self.out.exists() and not self.out.is_dir():
            raise field_error("out", f"{self.out} existe et n'est pas un dossier")
        if self.out.is_dir() and any(self.out.iterdir()):
            if cfg.overwrite:
                if not cfg_path.exists() and not (self.out / METRICS_FILE).exists():
                    raise field_error(
                        "out", f"{self.out} n'est pas un dossier de run : je refuse de l'effacer"
                    )
                shutil.rmtree(self.out)
            elif not cfg_path.exists():
                raise field_error(
                    "out", f"{self.out} existe et n'est pas un dossier de run (choisir un autre --out)"
                )
            else:
                self._check_same(cfg_path)
        self.out.mkdir(parents=True, exist_ok=True)
        write_atomic(cfg_path, dump_yaml(cfg, recipe))
        if (self.out / SUMMARY_FILE).exists():
            summary = self._moved(json.loads((self.out / SUMMARY_FILE).read_text()))
        from core_training.train import latest_checkpoint

        return summary, summary is None and latest_checkpoint(self.checkpoints) is None

    def _moved(self, summary: dict) -> dict:
        """A finished run's summary with its paths following the directory if it was moved."""
        old = summary.get("out")
        if not old or old == str(self.out):
            return summary
        out = dict(summary, out=str(self.out))
        for k, v in summary.items():
            if k.endswith("_dir") and isinstance(v, str) and v.startswith(old):
                out[k] = str(self.out) + v[len(old) :]
        return out

    def _check_same(self, cfg_path: Path) -> None:
        import yaml

        head = cfg_path.read_text(encoding="utf-8").splitlines()[:1]
        old = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
        if head and f"llm4all {self.recipe} " not in head[0]:
            raise field_error("out", f"{self.out} contient un autre type de run ({head[0].lstrip('# ')})")
        new = config_dict(self.cfg)
        diff = [k for k in new if k not in RESUME_FREE and old.get(k) != new[k]]
        if diff:
            k = diff[0]
            raise field_error(
                "out",
                f"{self.out} contient un run de configuration différente ({k} : {old.get(k)!r} -> {new[k]!r}) ; "
                "utiliser un autre --out ou --overwrite true",
            )

    @property
    def checkpoints(self) -> Path:
        return self.out / "checkpoints"

    @property
    def metrics(self) -> Path:
        return self.out / METRICS_FILE

    @property
    def model_dir(self) -> Path:
        return self.out / MODEL_DIR

    def start_metrics(self) -> None:
        """A fresh run: forget any metrics of an interrupted attempt that left no checkpoint."""
        if distributed.is_main() and self.metrics.exists():
            self.metrics.unlink()
        distributed.barrier()

    def log(self, record: dict) -> None:
        """Append ``record`` to ``metrics.jsonl`` (rank 0 writes; every rank calls it and waits)."""
        from core_training.train import append_metrics

        if distributed.is_main():
            append_metrics(self.metrics, record)
        distributed.barrier()

    def records(self, event: str | None = None) -> list[dict]:
        from core_training.train import read_metrics

        recs = read_metrics(self.metrics)
        return [r for r in recs if event is None or r.get("event") == event]

    def save_model(self, save: Callable[[Path], None]) -> Path:
        """Call ``save(tmp_dir)`` then rename ``tmp_dir`` to ``model/`` (atomic; rank 0 only)."""

        def write() -> None:
            tmp = Path(tempfile.mkdtemp(prefix=".model.", dir=self.out))
            try:
                save(tmp)
                if self.model_dir.exists():
                    shutil.rmtree(self.model_dir)
                os.replace(tmp, self.model_dir)
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)

        distributed.on_main(write)
        return self.model_dir

    def finish(self, summary: dict) -> dict:
        """Write ``summary.json`` (marks the run finished); returns the summary as read back."""
        text = json_dumps_strict(
            {"recipe": self.recipe, "out": str(self.out), **summary}, indent=2, ensure_ascii=False
        )
        distributed.on_main(lambda: write_atomic(self.out / SUMMARY_FILE, text + "\n"))
        self.summary = json.loads(text)
        return self.summary


# --------------------------------------------------------------------------- data and models


def corpus_dataset(source: str, shared_dir: str | None = None):
    """``DatasetDict`` {"train", "validation"} with a ``text`` column, of a named corpus or a text file.

    Named corpora come from :func:`core_training.datasets.load_corpus` (built once, cached); a
    file (or directory of text files) is read now, its last 10 % of documents (at least one)
    being its validation split.
    """
    from core_training import data
    from core_training.datasets import load_corpus

    if source in NAMED_CORPORA:
        return load_corpus(source, shared_dir) if source == "french_dialogue" else load_corpus(source)
    from datasets import Dataset, DatasetDict

    p = Path(source).expanduser()
    docs = data.replay_corpus(p, val_fraction=0.0)["train"] if p.is_dir() else data.read_text_file(p)
    if not docs:
        raise ValueError(f"aucun texte dans {source}")
    n_val = max(1, len(docs) // 10) if len(docs) > 1 else 0
    train, val = docs[: len(docs) - n_val] or docs, docs[len(docs) - n_val :] or docs
    return DatasetDict(
        {"train": Dataset.from_dict({"text": train}), "validation": Dataset.from_dict({"text": val})}
    )


def corpus(source: str, shared_dir: str | None = None) -> dict[str, list[str]]:
    """``{"train", "validation"}`` documents of a named corpus or a text file (see :func:`corpus_dataset`)."""
    dd = corpus_dataset(source, shared_dir)
    return {k: list(dd[k]["text"]) for k in ("train", "validation")}


def train_val_data(train_data: str, val_data: str = ""):
    """The training documents as a ``datasets.Dataset`` (``text`` column) and the validation
    documents (list) of a :class:`TrainingConfig`'s data fields."""
    tr = corpus_dataset(train_data)
    if not val_data:
        return tr["train"], list(tr["validation"]["text"])
    if val_data in NAMED_CORPORA:
        return tr["train"], corpus(val_data)["validation"]
    from core_training import data

    return tr["train"], data.read_text_file(val_data)


def train_val_texts(train_data: str, val_data: str = "") -> tuple[list[str], list[str]]:
    """Training and validation documents of a :class:`TrainingConfig`'s data fields."""
    train, val = train_val_data(train_data, val_data)
    return list(train["text"]), val


def blocks_for(texts, tokenizer, block_size: int, max_tokens: int = 0):
    """Token blocks ``LongTensor [n, block_size]`` of ``texts`` (a list of documents or a
    ``datasets.Dataset`` with a ``text`` column), at most ``max_tokens`` tokens when > 0.

    Tokenised and packed with ``Dataset.map`` (:func:`core_training.datasets.block_dataset`):
    the blocks of :func:`core_training.data.token_blocks`, cached beside a cached corpus.
    """
    from core_training.datasets import block_dataset, blocks_tensor

    max_docs = None
    if max_tokens:
        # tokenize a generous prefix only: about 3 characters per token in French
        n = 0
        for i, t in enumerate(texts["text"] if hasattr(texts, "column_names") else texts):
            n += len(t)
            if n > max_tokens * 8:
                max_docs = i + 1
                break
    blocks = block_dataset(texts, tokenizer, block_size, max_docs=max_docs)
    if max_tokens:
        blocks = blocks.select(range(min(len(blocks), max(1, max_tokens // block_size))))
    if len(blocks) == 0:
        raise ValueError(f"texte d'entraînement trop court pour un bloc de {block_size} jetons")
    return blocks_tensor(blocks)


def is_svd_dir(path: str | os.PathLike) -> bool:
    """True for a directory written by :func:`core_training.svd.save_svd` (factorised weights)."""
    p = Path(str(path)).expanduser()
    if not (p / "config.json").is_file():
        return False
    from core_training import svd

    return svd.is_svd_checkpoint(p)


def load_model(ref: str):
    """``(model, tokenizer)`` for a bundled name, hub id, model directory or SVD directory.

    The model is float32 on CPU, in eval mode.
    """
    if is_svd_dir(ref):
        from transformers import AutoTokenizer

        from core_training import svd

        directory = str(Path(ref).expanduser())
        model = svd.load_svd(directory)
        tok = AutoTokenizer.from_pretrained(directory)
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        return model.eval(), tok
    from core_training.models import load_causal_lm

    return load_causal_lm(ref)


def save_model_to(model, tokenizer, directory: Path, svd_format: bool = False) -> None:
    """Save a model (standard checkpoint, or the SVD format for factorised students) and its tokenizer."""
    if svd_format:
        from core_training import svd

        svd.save_svd(model, directory)
    else:
        model.save_pretrained(directory, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(directory)


def evaluate_domains(model, tokenizer, domains: dict[str, list[str]], cfg: TrainingConfig, hook: Hook | None):
    """Perplexity on each validation domain (``cfg.eval_tokens`` tokens each); {} when disabled.

    Under torchrun rank 0 evaluates and every rank gets its numbers."""
    if not cfg.eval_tokens:
        return {}
    from core_training.evaluate import perplexity

    def run() -> dict:
        out = {}
        for name, texts in domains.items():
            if texts:
                r = perplexity(
                    model,
                    tokenizer,
                    texts,
                    block_size=cfg.eval_block_size,
                    max_tokens=cfg.eval_tokens,
                    hook=hook,
                )
                out[name] = {k: r[k] for k in ("tokens", "ppl_token", "ppl_word", "bpc", "seconds")}
        return out

    return distributed.on_main(run)


def evaluation_before(run: Run, model, tokenizer, domains, cfg: TrainingConfig, hook: Hook | None) -> dict:
    """Perplexities before training: computed on a fresh run (logged as ``step`` 0), read back on resume."""
    if not run.fresh:
        recs = run.records("eval_before")
        if recs:
            return recs[-1]["perplexity"]
    run.start_metrics()
    res = evaluate_domains(model, tokenizer, domains, cfg, hook)
    run.log({"step": 0, "event": "eval_before", "perplexity": res})
    return res


def train_summary(records: list[dict]) -> dict:
    """Losses, tokens and time of a training run from its step records."""
    if not records:
        return {}
    return {
        "steps": records[-1]["step"],
        "tokens": records[-1].get("tokens_total"),
        "train_seconds": records[-1].get("seconds"),
        "loss_first": records[0]["loss"],
        "loss_last": records[-1]["loss"],
        "tokens_per_s": (records[-1].get("tokens_total") or 0)
        / max(records[-1].get("seconds") or 1e-9, 1e-9),
    }


# --------------------------------------------------------------------------- one-shot recipes


def module_choices(module: str, names: tuple[str, ...], fallback: tuple[str, ...]) -> tuple[str, ...]:
    """A tuple constant of a part of the library (its own list of methods), else ``fallback``."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return fallback
    for n in names:
        v = getattr(mod, n, None)
        if isinstance(v, (tuple, list, set, frozenset)) and v:
            return tuple(v) if not isinstance(v, (set, frozenset)) else tuple(sorted(v))
        if isinstance(v, dict) and v:
            return tuple(v)
    return fallback


@dataclass(frozen=True, kw_only=True)
class OneShotConfig(RunConfig):
    """Fields shared by the one-shot recipes.

    Args:
        model: model to transform.
        calib_data: calibration / reference text (``french_dialogue``, ``replay`` or a file).
        val_data: evaluation text (empty: the validation split of ``calib_data``).
        eval_tokens: validation tokens scored before and after (0: skip).
        eval_block_size: window of the perplexity evaluation.
    """

    model: str = "gemma3-270m"
    calib_data: str = "french_dialogue"
    val_data: str = ""
    eval_tokens: int = 8192
    eval_block_size: int = 256

    def __post_init__(self):
        super().__post_init__()
        check_model("model", self.model)
        check_data("calib_data", self.calib_data)
        if self.val_data:
            check_data("val_data", self.val_data)
        if self.eval_tokens < 0:
            raise field_error("eval_tokens", f"doit être >= 0, reçu {self.eval_tokens}")
        if self.eval_block_size < 8:
            raise field_error("eval_block_size", f"doit être >= 8, reçu {self.eval_block_size}")


@dataclass(frozen=True, kw_only=True)
class CalibratedConfig(OneShotConfig):
    """One-shot recipes that need calibration activations (prune, compress-svd).

    Args:
        calib_samples: calibration sequences drawn from the train split of ``calib_data``.
        calib_seq_len: tokens per calibration sequence.
    """

    calib_samples: int = 16
    calib_seq_len: int = 256

    def __post_init__(self):
        super().__post_init__()
        if self.calib_samples < 1:
            raise field_error("calib_samples", f"doit être >= 1, reçu {self.calib_samples}")
        if self.calib_seq_len < 8:
            raise field_error("calib_seq_len", f"doit être >= 8, reçu {self.calib_seq_len}")


def one_shot_texts(cfg: OneShotConfig) -> tuple[list[str], list[str]]:
    """Calibration (train split of ``calib_data``) and evaluation documents of a one-shot config."""
    c = corpus(cfg.calib_data)
    if not cfg.val_data:
        return c["train"], c["validation"]
    if Path(cfg.val_data).expanduser().is_file():
        from core_training.data import read_text_file

        return c["train"], read_text_file(cfg.val_data)
    return c["train"], corpus(cfg.val_data)["validation"]


def one_shot_eval(model, tok, texts, cfg: OneShotConfig, hook) -> dict:
    """Perplexity on ``cfg.eval_tokens`` tokens of ``texts`` ({} when disabled)."""
    if not cfg.eval_tokens or not texts:
        return {}
    from core_training.evaluate import perplexity

    r = perplexity(model, tok, texts, block_size=cfg.eval_block_size, max_tokens=cfg.eval_tokens, hook=hook)
    return {k: r[k] for k in ("tokens", "ppl_token", "ppl_word", "bpc", "seconds")}


def unpack_transform(result, model):
    """Library transforms may return the model, ``(model, info)`` or modify in place (None)."""
    if result is None:
        return model, {}
    if isinstance(result, tuple):
        info = result[1] if len(result) > 1 and isinstance(result[1], dict) else {}
        return result[0], info
    return result, {}


def jsonable(info: dict) -> dict:
    return json.loads(
        json_dumps_strict(info, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    )


def run_one_shot(
    cfg: OneShotConfig, recipe: str, transform, hook: Hook | None, svd_format: bool = False
) -> dict:
    """Run a one-shot recipe: load, evaluate, ``transform(model, tok, train_texts) -> (model, tok, info)``, evaluate, save."""
    from core_training.evaluate import count_parameters

    run = Run(cfg, recipe)
    if run.summary is not None:
        return run.summary
    run.start_metrics()
    model, tok = load_model(cfg.model)
    train_texts, val_texts = one_shot_texts(cfg)
    params_before = count_parameters(model)
    before = one_shot_eval(model, tok, val_texts, cfg, hook)
    run.log({"step": 0, "event": "eval_before", "perplexity": before, "parameters": params_before})
    t0 = time.perf_counter()
    model, tok, info = transform(model, tok, train_texts)
    seconds = time.perf_counter() - t0
    params_after = count_parameters(model)
    after = one_shot_eval(model, tok, val_texts, cfg, hook)
    run.log(
        {
            "step": 1,
            "event": "eval_after",
            "perplexity": after,
            "parameters": params_after,
            "seconds": seconds,
        }
    )
    run.save_model(lambda d: save_model_to(model, tok, d, svd_format=svd_format))
    return run.finish(
        {
            "model_dir": str(run.model_dir),
            "parameters_before": params_before,
            "parameters_after": params_after,
            "parameter_reduction": 1 - params_after["total"] / params_before["total"],
            "perplexity_before": before,
            "perplexity_after": after,
            "transform_seconds": seconds,
            "info": jsonable(info),
        }
    )


def calibration(cfg: CalibratedConfig, tok, texts):
    """``cfg.calib_samples`` calibration sequences ``[1, calib_seq_len]`` from ``texts`` (seeded)."""
    from core_training.data import calibration_batches

    return calibration_batches(texts, tok, n=cfg.calib_samples, seq_len=cfg.calib_seq_len, seed=cfg.seed)
