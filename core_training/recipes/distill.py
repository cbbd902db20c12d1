"""Recipe ``distill``: a (pruned, SVD-compressed or smaller) student learns from a teacher.

Loss: forward KL on temperature-softened logits + next-token CE (by default KL at T = 1 plus
CE, lr 3e-5, 100 steps: the setting measured best, as in ``configs/distill.yaml``), optionally
hidden-state MSE with a layer mapping that follows a depth-pruned student's kept layers.
Perplexity of teacher and student on the validation text is measured before and after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core_training.recipes.config import (
    Hook,
    Run,
    TrainingConfig,
    blocks_for,
    check_model,
    evaluate_domains,
    evaluation_before,
    field_error,
    is_svd_dir,
    load_model,
    save_model_to,
    train_summary,
    train_val_texts,
)

log = logging.getLogger(__name__)
RECIPE = "distill"


@dataclass(frozen=True, kw_only=True)
class DistillConfig(TrainingConfig):
    """Distillation teacher -> student.

    Args:
        student: the student (model directory, SVD directory from ``compress-svd``, bundled name).
        teacher: the teacher (default: Gemma 3 270M).
        temperature: softening temperature of the KL term (> 0).
        alpha_kd, alpha_ce, alpha_hidden: weights of the KL, next-token CE and hidden-state terms.
        layer_map: explicit teacher layer for each student layer (hidden loss), e.g. ``0,2,5``;
            empty: the kept layers recorded by depth pruning, else evenly spaced layers.
        train_embeddings: also train the student's (tied) embeddings.
    """

    student: str
    teacher: str = "gemma3-270m"
    # defaults = the setting measured best (benchmarks/results/distill.json, README): KL at T = 1
    # plus next-token CE, lr 3e-5 (1e-4 and above degrade a pruned Gemma), 100 steps
    temperature: float = 1.0
    alpha_kd: float = 1.0
    alpha_ce: float = 1.0
    alpha_hidden: float = 0.0
    layer_map: tuple[int, ...] = ()
    train_embeddings: bool = False
    lr: float = 3e-5

    def __post_init__(self):
        super().__post_init__()
        check_model("student", self.student)
        check_model("teacher", self.teacher)
        if not self.temperature > 0:
            raise field_error("temperature", f"doit être > 0, reçu {self.temperature}")
        for name in ("alpha_kd", "alpha_ce", "alpha_hidden"):
            if getattr(self, name) < 0:
                raise field_error(name, f"doit être >= 0, reçu {getattr(self, name)}")
        if self.alpha_kd + self.alpha_ce + self.alpha_hidden <= 0:
            raise field_error(
                "alpha_kd", "au moins un des poids alpha_kd, alpha_ce, alpha_hidden doit être > 0"
            )


def main(cfg: DistillConfig, hook: Hook | None = None) -> dict:
    """Run (or resume) distillation; returns the summary (also in ``summary.json``)."""
    from core_training.distill import DistillLoss, check_vocab, layer_mapping
    from core_training.evaluate import count_parameters
    from core_training.recipes.continue_pretrain import freeze_embeddings
    from core_training.train import BlockBatches, train_loop

    run = Run(cfg, RECIPE)
    if run.summary is not None:
        return run.summary
    if hook:
        hook("load", 0, 2)
    teacher, tok = load_model(cfg.teacher)
    if hook:
        hook("load", 1, 2)
    svd_student = is_svd_dir(cfg.student)
    student, s_tok = load_model(cfg.student)
    if hook:
        hook("load", 2, 2)
    try:
        check_vocab(student, teacher)
    except ValueError as e:
        raise field_error("student", f"vocabulaire différent de celui du maître ({e})") from None
    pairs = None
    if cfg.layer_map:
        n_s, n_t = student.config.num_hidden_layers, teacher.config.num_hidden_layers
        try:
            pairs = layer_mapping(n_s, n_t, list(cfg.layer_map))
        except ValueError as e:
            raise field_error("layer_map", str(e)) from None

    train_texts, val_texts = train_val_texts(cfg.train_data, cfg.val_data)
    domains = {"validation": val_texts}
    before = evaluation_before(run, student, s_tok, domains, cfg, hook)
    if run.fresh or not run.records("eval_teacher"):
        run.log(
            {
                "step": 0,
                "event": "eval_teacher",
                "perplexity": evaluate_domains(teacher, tok, domains, cfg, hook),
            }
        )
    teacher_ppl = run.records("eval_teacher")[-1]["perplexity"]

    blocks = blocks_for(train_texts, tok, cfg.block_size, cfg.max_train_tokens)
    batches = BlockBatches(blocks, cfg.batch_size, seed=cfg.seed)
    loss_fn = DistillLoss(
        teacher,
        student,
        temperature=cfg.temperature,
        alpha_kd=cfg.alpha_kd,
        alpha_ce=cfg.alpha_ce,
        alpha_hidden=cfg.alpha_hidden,
        pairs=pairs,
    )
    extra = {"projector": loss_fn.projector} if loss_fn.parameters() else None
    for p in student.parameters():
        p.requires_grad_(True)
    if not cfg.train_embeddings:
        freeze_embeddings(student)
    records = train_loop(
        student, batches, cfg.train_options(), run.out, loss_fn=loss_fn, hook=hook, extra_modules=extra
    )
    after = evaluate_domains(student, s_tok, domains, cfg, hook)
    run.log({"step": cfg.steps, "event": "eval_after", "perplexity": after})
    run.save_model(lambda d: save_model_to(student, s_tok, d, svd_format=svd_student))
    params_t = count_parameters(teacher)["total"]
    params_s = count_parameters(student)["total"]
    ratio = None
    if after.get("validation") and teacher_ppl.get("validation"):
        ratio = after["validation"]["ppl_token"] / teacher_ppl["validation"]["ppl_token"]
    return run.finish(
        {
            "model_dir": str(run.model_dir),
            "teacher_parameters": params_t,
            "student_parameters": params_s,
            "parameter_reduction": 1 - params_s / params_t,
            "perplexity_teacher": teacher_ppl,
            "perplexity_before": before,
            "perplexity_after": after,
            "ppl_ratio_to_teacher": ratio,
            "layer_pairs": loss_fn.pairs,
            **train_summary(records),
        }
    )
