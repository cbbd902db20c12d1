"""Tiny random causal LMs built from configs, shared by the core_training tests.

Every builder is deterministic (``seed``), runs on CPU in milliseconds and exercises the
features the compression code must respect: grouped-query attention (4 query heads over
2 key/value groups), attention biases (Qwen2), an explicit ``head_dim`` that differs from
``hidden_size / num_attention_heads`` (Gemma 3) and tied or untied embeddings.

    from tests.core_training.tiny import tiny_model, TINY_KINDS
    model = tiny_model("llama")            # LlamaForCausalLM, eval mode, float32
    ids = random_ids(model, batch=2, seq=12)
"""

from __future__ import annotations

from asr._compat import ensure_torchaudio_importable

ensure_torchaudio_importable()

import torch  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    Gemma3TextConfig,
    LlamaConfig,
    MistralConfig,
    Qwen2Config,
)

TINY_KINDS = ("llama", "qwen2", "mistral", "gemma3")

FRENCH_SAMPLE = [
    "medecin : bonjour, vous appelez pour votre frère ?",
    "patient : oui, il s'est blessé au bras avec un couteau.",
    "medecin : est-ce qu'il respire normalement ? il est conscient ?",
    "patient : oui il parle, mais il saigne beaucoup, je suis très inquiète.",
    "medecin : d'accord, on vous envoie une équipe, restez à côté de lui.",
    "P1 : Monsieur le ministre, la réforme des retraites est-elle juste ?",
    "EM : Je crois que c'est une réforme nécessaire pour notre pays.",
]

_COMMON = dict(
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=3,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=128,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=0,
)


def tiny_tokenizer(texts=None, vocab_size: int = 400):
    """A real byte-level BPE tokenizer trained in milliseconds on French sentences (offline).

    Special tokens: ``<pad>`` = 0, ``<bos>`` = 1 (added in front of every encoding), ``<eos>`` = 2,
    matching :func:`tiny_config`. Any text encodes (256-symbol byte alphabet).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<bos>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts or FRENCH_SAMPLE) * 3, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>"
    )


def tiny_config(kind: str = "llama", vocab_size: int = 128, **overrides):
    """A transformers config for a tiny model of ``kind`` (one of :data:`TINY_KINDS`).

    Args:
        kind: architecture family.
        vocab_size: vocabulary size (use the real tokenizer's ``len(tokenizer)`` to pair
            a tiny model with a real tokenizer).
        **overrides: any config field.
    """
    kw = dict(_COMMON, vocab_size=vocab_size)
    if kind == "llama":
        cfg = LlamaConfig(**{**kw, "head_dim": 8, "tie_word_embeddings": False, **overrides})
    elif kind == "qwen2":
        # Qwen2 has biases on q/k/v projections; tied embeddings like the small Qwen2 models
        cfg = Qwen2Config(**{**kw, "tie_word_embeddings": True, **overrides})
    elif kind == "mistral":
        cfg = MistralConfig(
            **{**kw, "head_dim": 8, "sliding_window": 16, "tie_word_embeddings": False, **overrides}
        )
    elif kind == "gemma3":
        n = overrides.pop("num_hidden_layers", kw.pop("num_hidden_layers"))
        kw.pop("num_hidden_layers", None)
        layer_types = overrides.pop(
            "layer_types", ["sliding_attention" if (i + 1) % 3 else "full_attention" for i in range(n)]
        )
        cfg = Gemma3TextConfig(
            **{
                **kw,
                "num_hidden_layers": n,
                "layer_types": layer_types,
                "head_dim": 16,  # != hidden_size / heads (8): head_dim must stay explicit
                "query_pre_attn_scalar": 16,
                "sliding_window": 16,
                "tie_word_embeddings": True,
                **overrides,
            }
        )
    else:
        raise ValueError(f"kind must be one of {TINY_KINDS}, got {kind!r}")
    return cfg


def tiny_model(kind: str = "llama", vocab_size: int = 128, seed: int = 0, **overrides):
    """A random tiny causal LM of ``kind`` in eval mode (float32, CPU), deterministic in ``seed``.

    Weights are drawn with a larger std than the default init so the outputs depend visibly on
    every parameter (pruning/SVD errors are then measurable, not lost in rounding).
    """
    cfg = tiny_config(kind, vocab_size=vocab_size, **overrides)
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
            elif p.dim() >= 1:
                p.normal_(0.0, 0.2 if p.dim() == 2 else 0.05)
    return model.eval()


def random_ids(model, batch: int = 2, seq: int = 12, seed: int = 1) -> torch.LongTensor:
    """Random token ids ``[batch, seq]`` valid for ``model``'s vocabulary."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, model.config.vocab_size, (batch, seq), generator=g)


def logits(model, ids: torch.LongTensor) -> torch.Tensor:
    """Logits ``[batch, seq, vocab]`` of ``model`` on ``ids`` (no grad)."""
    with torch.no_grad():
        return model(input_ids=ids).logits


def save_and_reload(model, directory) -> torch.nn.Module:
    """Save ``model`` with ``save_pretrained`` and load it back with plain ``from_pretrained``."""
    model.save_pretrained(directory)
    return AutoModelForCausalLM.from_pretrained(str(directory), attn_implementation="eager").eval()


def check_recipe_run(summary: dict, steps: int, window: int, meta_file: str) -> dict:
    """What a task recipe's run must hold (train-samu, train-summary): ``steps`` logged losses,
    the mean loss of the last ``window`` steps under half that of the first ``window``, the
    adapter's metadata carrying the summary's SHA-256, a model card; returns the metadata."""
    import json
    from pathlib import Path

    from core_training.train import read_metrics

    out = Path(summary["out"])
    assert (out / "config.yaml").exists() and (out / "summary.json").exists()
    recs = [r for r in read_metrics(out / "metrics.jsonl") if "loss" in r]
    assert len(recs) == summary["steps"] == steps
    assert summary["tokens"] > 0 and summary["peak_rss_gb"] > 0
    first = sum(r["loss"] for r in recs[:window]) / window
    last = sum(r["loss"] for r in recs[-window:]) / window
    assert last < 0.5 * first, (first, last)
    adapter = Path(summary["adapter_dir"])
    meta = json.loads((adapter / meta_file).read_text())
    assert meta["adapter_sha256"] == summary["adapter_sha256"]
    assert (adapter / "README.md").is_file()
    return meta
