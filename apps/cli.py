"""``llm4all`` command line: one entry point, one subcommand per job.

Subcommands stay thin: they parse arguments, call the library, and turn its progress hook
into progress bars.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.WARNING), format="%(levelname)s %(name)s: %(message)s"
    )
    # third-party chatter that says nothing to a user
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def build_parser() -> argparse.ArgumentParser:
    from apps import transcribe

    p = argparse.ArgumentParser(prog="llm4all", description="Suite de dialogue parole + texte en français")
    p.add_argument("--log-level", default="warning", help="debug, info, warning (défaut), error")
    p.add_argument("-q", "--quiet", action="store_true", help="sans barres de progression")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("transcribe", help="audio -> transcriptions en français avec locuteurs")
    transcribe.add_arguments(t)
    t.set_defaults(func=transcribe.run)

    e = sub.add_parser(
        "evaluate-asr",
        help="WER/CER, DER/JER et cpWER de transcriptions par rapport à des références",
        add_help=False,
    )
    e.set_defaults(func=None, passthrough="apps.evaluate_asr")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = build_parser()
    # subcommands implemented as their own argparse programs get the rest of the line
    args, rest = p.parse_known_args(argv)
    _setup_logging(args.log_level)
    if getattr(args, "passthrough", None):
        import importlib

        mod = importlib.import_module(args.passthrough)
        i = argv.index(args.command)
        return int(mod.main(argv[i + 1 :]) or 0)
    if rest:
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
