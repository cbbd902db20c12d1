"""``llm4all <recette> --config FICHIER.yaml [--clé valeur ...]``: run a training-core recipe.

Recipes: trim-vocab, prune, compress-svd, distill, continue-pretrain, grow, lora, and
``perplexity --model DIR --text FICHIER``. Overrides are converted to the type of the config
field they name (``--ratio 0.3``, ``--merge false``, ``--target-modules q_proj,v_proj``); a
boolean field may be given alone (``--overwrite``). The progress hook becomes tqdm bars (plain lines, one a minute, in a log file).

Errors (bad config, unknown key, missing file...) print one French line on stderr and exit
with code 2; a failure of an outside tool exits with 1; an interrupted run (Ctrl-C) exits with
130 and resumes when the same command is run again.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import typing

from apps.progress import ProgressBars
from asr.transcript import json_dumps_strict

log = logging.getLogger(__name__)


class UsageError(ValueError):
    pass


def _is_bool(tp) -> bool:
    if tp is bool:
        return True
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    return len(args) == 1 and args[0] is bool


def parse_args(cls, args: list[str]) -> tuple[str | None, dict[str, str], bool, bool]:
    """``(config_path, overrides, quiet, help)`` from ``--config F --key value ...``."""
    from core_training.recipes.config import key_name

    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    config = None
    overrides: dict[str, str] = {}
    quiet = want_help = False
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-h", "--help", "--aide"):
            want_help = True
            i += 1
            continue
        if a in ("-q", "--quiet"):
            quiet = True
            i += 1
            continue
        if not a.startswith("--"):
            raise UsageError(f"argument inattendu « {a} » (attendu --clé valeur)")
        key, eq, value = a[2:].partition("=")
        name = key_name(key)
        if not eq:
            nxt = args[i + 1] if i + 1 < len(args) else None
            if name in fields and _is_bool(hints[name]) and (nxt is None or nxt.startswith("--")):
                value = "true"
            elif nxt is None or nxt.startswith("--"):
                raise UsageError(f"--{key} : valeur manquante")
            else:
                value = nxt
                i += 1
        i += 1
        if name == "config":
            config = value
        else:
            overrides[name] = value
    return config, overrides, quiet, want_help


def usage(recipe: str, cls) -> str:
    hints = typing.get_type_hints(cls)
    lines = [f"usage : llm4all {recipe} [--config FICHIER.yaml] [--clé valeur ...] [-q]", ""]
    doc = (cls.__doc__ or "").strip().splitlines()
    if doc:
        lines += [doc[0], ""]
    lines.append("clés (YAML ou --clé) :")
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        tname = getattr(tp, "__name__", str(tp)).replace("typing.", "")
        default = "(obligatoire)" if f.default is dataclasses.MISSING else f"= {f.default!r}"
        lines.append(f"  --{f.name.replace('_', '-'):<22} {tname:<16} {default}")
    return "\n".join(lines)


def _fmt_ppl(d: dict | None) -> str:
    if not d:
        return "-"
    if "ppl_token" in d:  # one domain (one-shot recipes)
        return f"{d['ppl_token']:.2f}"
    return ", ".join(
        f"{k} {v['ppl_token']:.2f}" for k, v in d.items() if isinstance(v, dict) and "ppl_token" in v
    )


def report(recipe: str, summary: dict) -> str:
    """A short French report of a recipe's summary."""
    if recipe == "perplexity":
        return (
            f"perplexité (jetons) : {summary['ppl_token']:.3f}\n"
            f"perplexité (mots)   : {summary['ppl_word']:.3f}\n"
            f"bits par caractère  : {summary['bpc']:.4f}\n"
            f"jetons évalués      : {summary['tokens']}"
        )
    lines = [f"terminé : {summary.get('model_dir') or summary.get('out')}"]
    if "perplexity_before" in summary:
        lines.append(f"perplexité avant : {_fmt_ppl(summary.get('perplexity_before'))}")
    if "perplexity_teacher" in summary:
        lines.append(f"perplexité maître : {_fmt_ppl(summary.get('perplexity_teacher'))}")
    if "perplexity_after" in summary:
        lines.append(f"perplexité après : {_fmt_ppl(summary.get('perplexity_after'))}")
    if "parameter_reduction" in summary:
        lines.append(f"paramètres : -{100 * summary['parameter_reduction']:.1f} %")
    if summary.get("steps"):
        lines.append(
            f"entraînement : {summary['steps']} pas, {summary.get('tokens')} jetons, "
            f"{summary.get('train_seconds', 0):.0f} s, perte {summary['loss_first']:.3f} -> {summary['loss_last']:.3f}"
        )
    return "\n".join(lines)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``argv = [recipe, *args]``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from core_training.recipes import RECIPES, get_recipe

    if not argv or argv[0] not in RECIPES:
        got = argv[0] if argv else ""
        print(
            f"llm4all : erreur : recette inconnue « {got} » (recettes : {', '.join(RECIPES)})",
            file=sys.stderr,
        )
        return 2
    recipe, args = argv[0], argv[1:]
    prog = f"llm4all {recipe}"
    cls, run = get_recipe(recipe)
    from core_training.recipes.config import load_config

    try:
        config, overrides, quiet, want_help = parse_args(cls, args)
        if want_help:
            print(usage(recipe, cls))
            return 0
        cfg = load_config(cls, config, overrides)
    except ValueError as e:
        print(f"{prog} : erreur : {_one_line(e)}", file=sys.stderr)
        return 2

    from core_training.distributed import is_main

    main_rank = is_main()  # under torchrun only rank 0 shows progress and the report
    bars = ProgressBars(enabled=not quiet and main_rank, log_every=60.0)  # a log: a line a minute
    try:
        summary = run(cfg, hook=bars)
    except KeyboardInterrupt:
        bars.close()
        print(f"{prog} : interrompu ; relancer la même commande pour reprendre", file=sys.stderr)
        return 130
    except ValueError as e:
        bars.close()
        log.debug("recipe failed", exc_info=True)
        print(f"{prog} : erreur : {_one_line(e)}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError, ImportError) as e:
        bars.close()
        log.debug("recipe failed", exc_info=True)
        print(f"{prog} : échec : {_one_line(e)}", file=sys.stderr)
        return 1
    bars.close()
    if main_rank:
        print(report(recipe, summary))
    if recipe == "perplexity" and not cfg.out:
        log.info("%s", json_dumps_strict(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
