"""Knowledge distillation: a student learns the teacher's next-token distribution.

Loss = ``alpha_kd * T² * KL(p_teacher^T || p_student^T)`` (forward KL on temperature-softened
logits, Hinton et al.) ``+ alpha_ce * CE(student, next token)`` ``+ alpha_hidden * MSE`` between
mapped hidden states. The student can be a pruned (width or depth), SVD-compressed or simply
smaller model; its vocabulary must match the teacher's.

Hidden states are compared on the ``output_hidden_states`` tuple (index 0 = embeddings, index
``i`` = output of layer ``i - 1``, the last index is the final normed state). A depth-pruned
student's layer ``s`` maps to the teacher layer it was kept from (:func:`layer_mapping`), a
shallower student otherwise to evenly spaced teacher layers; when hidden sizes differ a learned
linear projection per mapped layer (:class:`HiddenProjector`) carries the student state into the
teacher's space.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F

log = logging.getLogger(__name__)


def output_vocab_size(model: torch.nn.Module) -> int:
    """Number of logits the model produces (its output embedding rows)."""
    emb = model.get_output_embeddings()
    if emb is not None and hasattr(emb, "weight"):
        return int(emb.weight.shape[0])
    return int(model.config.vocab_size)


def check_vocab(student: torch.nn.Module, teacher: torch.nn.Module) -> None:
    """Raise ``ValueError`` unless student and teacher produce logits over the same vocabulary."""
    s, t = output_vocab_size(student), output_vocab_size(teacher)
    if s != t:
        raise ValueError(
            f"student vocabulary ({s}) differs from the teacher's ({t}): logit distillation needs the "
            "same tokenizer (distill before trimming the vocabulary, or trim the teacher too)"
        )


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float = 2.0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Forward KL divergence ``KL(p_t || p_s)`` at ``temperature``, scaled by ``T²``, averaged over tokens.

    Args:
        student_logits, teacher_logits: ``[..., vocab]`` (same shape).
        temperature: softening temperature ``T > 0``.
        mask: optional ``[...]`` bool/0-1 tensor of the positions that count.

    Returns:
        A scalar, 0 when the two logits agree up to a per-position constant.
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"logit shapes differ: {tuple(student_logits.shape)} vs {tuple(teacher_logits.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    v = student_logits.shape[-1]
    s = F.log_softmax(student_logits.float().reshape(-1, v) / temperature, dim=-1)
    t = F.log_softmax(teacher_logits.float().reshape(-1, v) / temperature, dim=-1)
    per_token = (t.exp() * (t - s)).sum(-1)
    if mask is not None:
        m = mask.reshape(-1).to(per_token.dtype)
        return (per_token * m).sum() / m.sum().clamp_min(1.0) * temperature**2
    return per_token.mean() * temperature**2


def layer_mapping(
    n_student: int, n_teacher: int, kept_layers: Sequence[int] | None = None
) -> list[tuple[int, int]]:
    """Pairs ``(student_index, teacher_index)`` into the ``output_hidden_states`` tuples.

    Args:
        n_student, n_teacher: number of decoder layers.
        kept_layers: for a depth-pruned student, the teacher layer each student layer was kept
            from (sorted, ``len == n_student``); else student layers map to evenly spaced teacher
            layers.

    Returns:
        One pair per student layer: student layer ``s`` output (index ``s + 1``) to the teacher
        layer output it should imitate; the last student layer always maps to the teacher's last
        (both are the final normed states).
    """
    if n_student < 1 or n_teacher < 1:
        raise ValueError(f"layer counts must be >= 1, got {n_student} and {n_teacher}")
    if kept_layers is not None:
        kept = [int(k) for k in kept_layers]
        if len(kept) != n_student:
            raise ValueError(f"kept_layers has {len(kept)} entries for a {n_student}-layer student")
        if sorted(kept) != kept or len(set(kept)) != len(kept) or kept[0] < 0 or kept[-1] >= n_teacher:
            raise ValueError(
                f"kept_layers must be distinct increasing teacher layers < {n_teacher}, got {kept}"
            )
    else:
        kept = [round((s + 1) * n_teacher / n_student) - 1 for s in range(n_student)]
    pairs = [(s + 1, kept[s] + 1) for s in range(n_student - 1)]
    pairs.append((n_student, n_teacher))
    return pairs


def kept_layers_of(model: torch.nn.Module) -> list[int] | None:
    """The teacher layers a depth-pruned student kept, when its config records them."""
    cfg = model.config
    for key in ("kept_layers", "llm4all_kept_layers"):
        v = getattr(cfg, key, None)
        if v:
            return [int(x) for x in v]
    info = getattr(cfg, "llm4all_pruning", None) or getattr(cfg, "llm4all", None)
    if isinstance(info, dict):
        for key in ("kept_layers", "layers_kept"):
            if info.get(key):
                return [int(x) for x in info[key]]
    return None


class HiddenProjector(torch.nn.Module):
    """One linear map per mapped layer from the student's hidden size to the teacher's.

    Identity-free: when sizes match the projector is empty and :meth:`forward` returns its input.
    """

    def __init__(self, student_size: int, teacher_size: int, n_pairs: int):
        super().__init__()
        self.student_size, self.teacher_size = student_size, teacher_size
        if student_size == teacher_size:
            self.maps = torch.nn.ModuleList()
        else:
            self.maps = torch.nn.ModuleList(
                torch.nn.Linear(student_size, teacher_size, bias=False) for _ in range(n_pairs)
            )

    def forward(self, i: int, h: torch.Tensor) -> torch.Tensor:
        return self.maps[i](h) if len(self.maps) else h


def hidden_loss(
    student_hidden: Sequence[torch.Tensor],
    teacher_hidden: Sequence[torch.Tensor],
    pairs: Sequence[tuple[int, int]],
    projector: HiddenProjector | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean over ``pairs`` of the MSE between (projected) student and teacher hidden states,
    each normalised by the teacher state's mean square so layers of any scale weigh alike."""
    total = 0.0
    for i, (s, t) in enumerate(pairs):
        hs = student_hidden[s].float()
        ht = teacher_hidden[t].float()
        if projector is not None:
            hs = projector(i, hs)
        if hs.shape != ht.shape:
            raise ValueError(
                f"hidden sizes differ ({hs.shape[-1]} vs {ht.shape[-1]}): pass a HiddenProjector"
            )
        err = ((hs - ht) ** 2).mean(-1)
        scale = (ht**2).mean(-1).detach().clamp_min(1e-6)
        r = err / scale
        if mask is not None:
            m = mask.to(r.dtype)
            total = total + (r * m).sum() / m.sum().clamp_min(1.0)
        else:
            total = total + r.mean()
    return total / len(pairs)


class DistillLoss:
    """``loss_fn(student, batch) -> (loss, metrics)`` for :func:`core_training.train.train_loop`.

    Args:
        teacher: the frozen teacher (run under ``no_grad`` in eval mode).
        temperature: KD temperature.
        alpha_kd, alpha_ce, alpha_hidden: weights of the KL, next-token CE and hidden-state terms.
        pairs: layer pairs for the hidden loss (default :func:`layer_mapping` from the student's
            recorded kept layers, else evenly spaced).
        projector: maps for differing hidden sizes (built automatically when needed; its
            parameters must then be trained with the student: see :attr:`parameters`).
    """

    def __init__(
        self,
        teacher: torch.nn.Module,
        student: torch.nn.Module,
        temperature: float = 2.0,
        alpha_kd: float = 1.0,
        alpha_ce: float = 0.0,
        alpha_hidden: float = 0.0,
        pairs: Sequence[tuple[int, int]] | None = None,
        projector: HiddenProjector | None = None,
    ):
        check_vocab(student, teacher)
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.temperature = temperature
        self.alpha_kd, self.alpha_ce, self.alpha_hidden = alpha_kd, alpha_ce, alpha_hidden
        self.pairs = list(pairs) if pairs is not None else None
        self.projector = projector
        if alpha_hidden > 0:
            n_s, n_t = student.config.num_hidden_layers, teacher.config.num_hidden_layers
            if self.pairs is None:
                self.pairs = layer_mapping(n_s, n_t, kept_layers_of(student))
            d_s, d_t = student.config.hidden_size, teacher.config.hidden_size
            if self.projector is None:
                self.projector = HiddenProjector(d_s, d_t, len(self.pairs))

    def parameters(self) -> list[torch.nn.Parameter]:
        """Extra trainable parameters (the hidden-state projections), empty when none."""
        return list(self.projector.parameters()) if self.projector is not None else []

    def __call__(self, student: torch.nn.Module, batch: dict) -> tuple[torch.Tensor, dict]:
        ids = batch["input_ids"]
        mask = batch.get("attention_mask")
        want_hidden = self.alpha_hidden > 0
        with torch.no_grad():
            t_out = self.teacher(
                input_ids=ids, attention_mask=mask, output_hidden_states=want_hidden, use_cache=False
            )
        s_out = student(input_ids=ids, attention_mask=mask, output_hidden_states=want_hidden, use_cache=False)
        metrics: dict[str, float] = {}
        loss = torch.zeros((), dtype=torch.float32)
        if self.alpha_kd > 0:
            kd = kd_loss(s_out.logits, t_out.logits, self.temperature, mask)
            loss = loss + self.alpha_kd * kd
            metrics["kd"] = float(kd.detach())
        if self.alpha_ce > 0:
            logits = s_out.logits[:, :-1].float()
            ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
            loss = loss + self.alpha_ce * ce
            metrics["ce"] = float(ce.detach())
        if want_hidden:
            hl = hidden_loss(s_out.hidden_states, t_out.hidden_states, self.pairs, self.projector, mask)
            loss = loss + self.alpha_hidden * hl
            metrics["hidden"] = float(hl.detach())
        return loss, metrics
