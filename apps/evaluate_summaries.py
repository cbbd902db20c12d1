"""``llm4all evaluate-summaries``: ROUGE-1/2/L on the FREDSum test split, ours vs. peers and baselines.

Every system is scored in the same run with the same scorer (French word tokenizer, best of the
three abstractive references per file): the published peer outputs (Barthez, ChatGPT,
OpenAssistant-Llama-30B), lead-N and the extractive oracle under our budget rule, our extractive
system, optionally our LLM system, and optionally folders of summaries made beforehand
(``<name>.summary.txt`` from ``llm4all summarize``).

A file that could not be evaluated (a test-split file without transcript or reference, a
``--pred`` folder without that file's summary, a system that raised) is reported (``ÉCHEC``, and
under ``failed`` / ``not_evaluated`` in the JSON) and makes the exit code 1; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from core_training.data import default_shared_dir
from summarize.core import DEFAULT_BUDGET, SummaryOptions, summarize, with_full_names
from summarize.evaluate import (
    FredsumItem,
    SystemScores,
    common_names,
    evaluate,
    format_table,
    list_test_split,
    load_items,
    oracle_system,
)
from summarize.extractive import lead_summary
from summarize.fredsum import PEER_SYSTEMS, read_fredsum
from summarize.text import count_words

log = logging.getLogger(__name__)

DEFAULT_ROOT = default_shared_dir() / "fredsum"  # $LLM4ALL_SHARED_DATA or ../shared/data


def peer_system(name: str) -> Callable[[FredsumItem], str | None]:
    return lambda item: item.peers.get(name)


def lead_system(item: FredsumItem) -> str:
    """Lead-N: the first sentences, same budget rule and same speaker display as ours."""
    t, _ = with_full_names(read_fredsum(item.transcript))
    return lead_summary(t, DEFAULT_BUDGET(count_words(t.text)))


def ours_system(options: SummaryOptions, llm=None) -> Callable[[FredsumItem], str]:
    def run(item: FredsumItem) -> str:
        return summarize(read_fredsum(item.transcript), options, llm=llm).text

    return run


def folder_system(folder: Path) -> Callable[[FredsumItem], str]:
    """Summaries made beforehand: ``<stem>.summary.txt`` (or ``<stem>.txt``) in ``folder``.

    A missing summary is a failure of that system on that file (``FileNotFoundError``), not a
    file to leave out silently: the folder was meant to cover every evaluated file.
    """

    def run(item: FredsumItem) -> str:
        for p in (folder / f"{item.stem}.summary.txt", folder / item.name):
            if p.is_file():
                return p.read_text(encoding="utf-8")
        raise FileNotFoundError(f"pas de résumé {item.stem}.summary.txt (ni {item.name}) dans {folder}")

    return run


def build_systems(
    peers: bool = True,
    baselines: bool = True,
    extractive: bool = True,
    llm=None,
    llm_name: str | None = None,
    folders: list[Path] = (),
) -> dict[str, Callable]:
    """The systems of the comparison, in table order."""
    systems: dict[str, Callable] = {}
    if baselines:
        systems["lead-N"] = lead_system
        systems["oracle extractif"] = oracle_system(DEFAULT_BUDGET)
    if peers:
        for p in PEER_SYSTEMS:
            systems[p] = peer_system(p)
    if extractive:
        systems["ours: extractif"] = ours_system(SummaryOptions(method="extractive"))
    if llm is not None:
        systems[f"ours: llm {llm_name or ''}".strip()] = ours_system(
            SummaryOptions(method="llm", model=llm_name), llm
        )
    for f in folders:
        systems[f"dossier {f.name}"] = folder_system(f)
    return systems


def report(
    results: dict[str, SystemScores],
    items: list[FredsumItem],
    extra: dict | None = None,
    common: list[str] | None = None,
) -> dict:
    """JSON-ready results: means on the common files (default: those every system has) and on
    each system's own files, per-file scores."""
    common = common if common is not None else common_names(results)
    out = {
        "dataset": "FREDSum test split",
        "n_files": len(items),
        "common_files": common,
        "scorer": {
            "metrics": "ROUGE-1/2/L F-measure (rouge_score, rougeL = LCS on the whole text), percent",
            "tokenizer": "summarize.text.FrenchTokenizer (lower-case, Unicode letters kept, no stemming)",
            "references": "summary_abstractive/{1,2,3}, best reference per file and metric",
        },
        "budget_rule": {
            "ratio": DEFAULT_BUDGET.ratio,
            "minimum": DEFAULT_BUDGET.minimum,
            "maximum": DEFAULT_BUDGET.maximum,
        },
        "machine": machine(),
        "systems": {},
    }
    for name, r in results.items():
        out["systems"][name] = {
            "common": r.mean(common),
            "own_files": r.mean(),
            "n_files": len(r.per_file),
            "median_seconds_per_file": r.median_seconds(),
            "median_words": r.median_words(),
            "failed": r.failed,
            "per_file": r.per_file,
        }
    if extra:
        out.update(extra)
    return out


def machine() -> dict:
    import os

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="llm4all evaluate-summaries",
        description="ROUGE-1/2/L sur le test de FREDSum (meilleure des trois références par fichier) : "
        "nos systèmes, les sorties publiées (Barthez, ChatGPT, OpenAssistant) et les références "
        "lead-N et oracle extractif, dans la même exécution.",
    )
    p.add_argument("--root", default=str(DEFAULT_ROOT), help=f"dossier FREDSum (défaut : {DEFAULT_ROOT})")
    p.add_argument(
        "--files", nargs="*", default=None, help="noms de fichiers du test à évaluer (défaut : tous)"
    )
    p.add_argument("--limit", type=int, default=None, help="n'évaluer que les N premiers fichiers du test")
    p.add_argument("--llm", action="store_true", help="évaluer aussi notre résumé par LLM (lent)")
    p.add_argument(
        "--model",
        default=None,
        help="modèle du LLM : nom fourni (gemma3-270m, smollm2) ou dossier transformers",
    )
    p.add_argument(
        "--pred",
        action="append",
        default=[],
        help="dossier de résumés déjà faits (<nom>.summary.txt) à évaluer aussi (répétable)",
    )
    p.add_argument("--no-peers", action="store_true", help="sans les sorties publiées")
    p.add_argument("--no-baselines", action="store_true", help="sans lead-N ni oracle")
    p.add_argument("--json", default=None, help="écrire les résultats détaillés dans ce fichier JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="sans barre de progression")
    return p


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        if a.limit is not None and a.limit < 1:
            raise ValueError(f"--limit doit être >= 1, reçu {a.limit}")
        items = load_items(a.root, a.files)
        not_evaluated: dict[str, str] = {}
        if a.files:
            unknown = set(a.files) - {i.name for i in items}
            if unknown:
                raise ValueError(f"fichiers inconnus ou sans référence : {', '.join(sorted(unknown))}")
        else:  # test-split files load_items left out (no transcript, no reference): failures too
            loaded = {i.name for i in items}
            not_evaluated = {
                n: f"transcription ou résumé de référence introuvable dans {a.root}"
                for n in list_test_split(a.root)[: a.limit]
                if n not in loaded
            }
        if a.limit:
            items = items[: a.limit]
        if not items:
            raise ValueError("aucun fichier à évaluer")
        folders = [Path(f) for f in a.pred]
        for f in folders:
            if not f.is_dir():
                raise ValueError(f"--pred {f} : dossier introuvable")
    except ValueError as e:
        print(f"erreur : {e}", file=sys.stderr)
        return 2
    llm, llm_name = None, None
    if a.llm:
        from apps.runner import load_llm

        llm_name = a.model or "gemma3-270m"
        llm, error = load_llm(a.model)
        if error:
            print(error, file=sys.stderr)
            return 2
    systems = build_systems(
        peers=not a.no_peers, baselines=not a.no_baselines, llm=llm, llm_name=llm_name, folders=folders
    )
    from tqdm import tqdm

    bar = tqdm(total=len(items) * len(systems), disable=a.quiet, file=sys.stderr, unit="résumé")

    def hook(step: str, done: int, total: int) -> None:
        bar.n = done
        bar.set_postfix_str(step[:30])
        bar.refresh()

    t0 = time.perf_counter()
    results = evaluate(items, systems, hook=hook)
    bar.close()
    print(format_table(results))
    common = common_names(results)
    print(
        f"\n{len(common)} fichier(s) communs à tous les systèmes sur {len(items)} "
        "(ROUGE F1 en %, meilleure des 3 références ; les sorties publiées manquent pour Destaing_Mitterrand_2)."
    )
    failed = {n: r.failed for n, r in results.items() if r.failed}
    for name, why in not_evaluated.items():
        print(f"  ÉCHEC {name} : {why}", file=sys.stderr)
    for n, f in failed.items():
        for name, why in f.items():
            print(f"  ÉCHEC {n} sur {name} : {why}", file=sys.stderr)
    if a.json:
        from asr.transcript import atomic_write_text, json_dumps_strict

        extra = {"seconds_total": round(time.perf_counter() - t0, 1), "not_evaluated": not_evaluated}
        data = report(results, items, extra)
        # a mean over no file is NaN: written as null, never as the non-JSON NaN
        atomic_write_text(a.json, json_dumps_strict(data, ensure_ascii=False, indent=1) + "\n")
    return 1 if failed or not_evaluated else 0


if __name__ == "__main__":
    sys.exit(main())
