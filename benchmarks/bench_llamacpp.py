"""llama.cpp vs transformers for the shipped summary model (issue 11, item 4): is exporting the
summary model to GGUF and running it under llama.cpp worth it on a 2-core CPU?

Three steps, two Python environments (llama-cpp-python is not in the project venv: it has no
wheel for this platform and is built from its sdist into a separate venv):

1. ``hf`` (project venv): runs the project's own path, ``summarize(t, SummaryOptions(method="llm"),
   llm=load_summary_model(threads=N))``, on the first ``--files`` FREDSum test debates, with
   ``summarize.model.generate`` wrapped to record the exact prompt text, its token ids, the
   ``max_new_tokens`` used and the raw continuation; the prefill time is measured by one extra
   forward pass over the prompt. Writes ``<work>/hf.json``.
2. ``llama`` (llama venv): for each GGUF file, ``llama_cpp.Llama(n_threads=N)``, feeds the *same
   token ids* (so tokenisation cannot differ), times the prefill (``eval`` of the prompt) and then
   decodes greedily with the project's decoding rules applied to llama.cpp's logits in Python
   (repetition penalty 1.05 over prompt + output as transformers does it, no 8-gram repeated,
   same ``max_new_tokens``, stop at ``<eos>``). Also checks that llama.cpp's own tokeniser gives the
   same ids. Writes ``<work>/llama.json``. ``quantize`` (llama venv) makes the Q8_0 / Q4_K_M files
   from the f16 one with ``llama_cpp.llama_model_quantize``.
3. ``report`` (project venv): ROUGE-L (the project's French scorer, ``summarize.evaluate.make_scorer``)
   of each llama.cpp output against the transformers output (raw continuations, and after the
   project's ``clean_output``), the table of medians, ``benchmarks/results/llamacpp.json``.

The GGUF export itself (not in this script): the merged model (foundation + summary LoRA merged,
``save_pretrained``) converted by the sdist's ``vendor/llama.cpp/convert_hf_to_gguf.py``; the
trimmed-vocabulary tokenizer (tokenizer.json only, SentencePiece-style BPE) is not recognised by
the converter (``NotImplementedError: BPE pre-tokenizer was not recognized``), so its vocabulary
was written as a SentencePiece vocab from the original Gemma 3 GGUF's tokens/scores at the kept
ids by ``benchmarks/llamacpp_convert_trimmed.py`` (see the ``conversion`` entry of the JSON).

    .venv/bin/python benchmarks/bench_llamacpp.py hf --files 5 --threads 2
    /work/llama-venv/bin/python benchmarks/bench_llamacpp.py quantize --gguf /work/llama/summary-f16.gguf
    /work/llama-venv/bin/python benchmarks/bench_llamacpp.py llama --threads 2 \
        --gguf /work/llama/summary-f16.gguf /work/llama/summary-q8_0.gguf /work/llama/summary-q4_k_m.gguf
    .venv/bin/python benchmarks/bench_llamacpp.py report
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "llamacpp.json"
WORK = Path("/tmp/llamacpp_bench")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- transformers side


def run_hf(a) -> int:
    sys.path.insert(0, str(ROOT))
    import torch

    import summarize.model as smod
    from apps.evaluate_summaries import DEFAULT_ROOT
    from summarize.core import SummaryOptions, summarize
    from summarize.evaluate import load_items
    from summarize.fredsum import read_fredsum

    t0 = time.perf_counter()
    sm = smod.load_summary_model(threads=a.threads)
    load_s = time.perf_counter() - t0
    items = load_items(Path(a.root) if a.root else DEFAULT_ROOT)[: a.files]
    orig = smod.generate
    captured: dict = {}

    def wrapped(sm_, prompt, max_words, gen=None):
        g = gen or sm_.generation
        enc = sm_.tokenizer(prompt, return_tensors="pt")
        n = int(enc["input_ids"].shape[1])
        captured.update(
            prompt=prompt,
            prompt_ids=enc["input_ids"][0].tolist(),
            max_new_tokens=min(sm_.context_length - n, smod._max_new_tokens(max_words, g.max_new_tokens)),
            generation=vars(g),
        )
        text, info = orig(sm_, prompt, max_words, gen)
        captured.update(raw=text, **info)
        return text, info

    smod.generate = wrapped
    out = []
    try:
        for item in items:
            t = read_fredsum(item.transcript)
            captured.clear()
            t1 = time.perf_counter()
            s = summarize(t, SummaryOptions(method="llm", model=sm.name), llm=sm)
            total = time.perf_counter() - t1
            # prefill alone: one forward pass over the prompt (adapter on, as in generate)
            ids = torch.tensor([captured["prompt_ids"]])
            with torch.inference_mode():
                t2 = time.perf_counter()
                sm.model(input_ids=ids, use_cache=True, logits_to_keep=1)
                prefill = time.perf_counter() - t2
            gen_s = captured["generate_seconds"]
            new = captured["new_tokens"]
            rec = {
                "name": item.name,
                "prompt": captured["prompt"],
                "prompt_ids": captured["prompt_ids"],
                "max_new_tokens": captured["max_new_tokens"],
                "generation": captured["generation"],
                "prompt_tokens": captured["prompt_tokens"],
                "new_tokens": new,
                "raw": captured["raw"],
                "text": s.text,
                "summarize_seconds": round(total, 3),
                "generate_seconds": round(gen_s, 3),
                "prefill_seconds": round(prefill, 3),
                "decode_tokens_per_second": round((new - 1) / max(1e-6, gen_s - prefill), 2)
                if new > 1
                else None,
                "loadavg": _load(),
            }
            out.append(rec)
            print(
                f"[hf] {item.name}: prompt {rec['prompt_tokens']} tok, {new} new tok, prefill {prefill:.2f} s, "
                f"generate {gen_s:.2f} s, summarize {total:.2f} s, load {rec['loadavg']}",
                flush=True,
            )
    finally:
        smod.generate = orig
    _write(
        Path(a.work) / "hf.json",
        {
            "engine": "transformers",
            "threads": a.threads,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "load_seconds": round(load_s, 2),
            "debates": out,
        },
    )
    return 0


# --------------------------------------------------------------------------- llama.cpp side


def run_quantize(a) -> int:
    import llama_cpp

    src = Path(a.gguf[0])
    for label, ftype in (
        ("q8_0", llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0),
        ("q4_k_m", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M),
    ):
        dst = src.with_name(src.name.replace("f16", label))
        p = llama_cpp.llama_model_quantize_default_params()
        p.ftype = ftype
        p.nthread = a.threads
        t0 = time.perf_counter()
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(dst).encode(), p)
        print(
            f"[quantize] {dst.name}: rc={rc}, {time.perf_counter() - t0:.1f} s, "
            f"{dst.stat().st_size / 1e6 if dst.exists() else 0:.1f} MB",
            flush=True,
        )
    return 0


def _greedy(llm, ids: list[int], max_new: int, eos: int, penalty: float, ngram: int):
    """Greedy decoding on llama.cpp logits with transformers' rules: repetition penalty over every
    token seen (prompt included), no ``ngram``-gram twice, stop at ``eos``. Returns
    ``(new_ids, prefill_s, decode_s)``."""
    import numpy as np

    n_vocab = llm.n_vocab()
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(ids)
    prefill = time.perf_counter() - t0
    seq = list(ids)
    seen = np.zeros(n_vocab, dtype=bool)
    seen[np.asarray(seq)] = True
    grams: dict[tuple, set] = {}
    if ngram:
        for i in range(len(seq) - ngram + 1):
            grams.setdefault(tuple(seq[i : i + ngram - 1]), set()).add(seq[i + ngram - 1])
    new: list[int] = []
    t1 = time.perf_counter()
    for _ in range(max_new):
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(n_vocab,)).astype(np.float32)
        if penalty != 1.0:
            sel = logits[seen]
            logits[seen] = np.where(sel > 0, sel / penalty, sel * penalty)
        if ngram and len(seq) >= ngram - 1:
            for tok in grams.get(tuple(seq[len(seq) - ngram + 1 :]), ()):
                logits[tok] = -np.inf
        tok = int(np.argmax(logits))
        new.append(tok)
        if tok == eos:
            break
        if ngram and len(seq) >= ngram - 1:
            grams.setdefault(tuple(seq[len(seq) - ngram + 1 :]), set()).add(tok)
        seq.append(tok)
        seen[tok] = True
        llm.eval([tok])
    decode = time.perf_counter() - t1
    return new, prefill, decode


def run_llama(a) -> int:
    import llama_cpp

    hf = json.loads((Path(a.work) / "hf.json").read_text(encoding="utf-8"))
    engines = []
    for path in a.gguf:
        t0 = time.perf_counter()
        llm = llama_cpp.Llama(
            model_path=path,
            n_ctx=a.n_ctx,
            n_threads=a.threads,
            n_threads_batch=a.threads,
            n_batch=512,
            verbose=False,
        )
        load_s = time.perf_counter() - t0
        eos = llm.token_eos()
        recs = []
        for d in hf["debates"]:
            g = d["generation"]
            ids = d["prompt_ids"]
            own = llm.tokenize(d["prompt"].encode("utf-8"), add_bos=True, special=True)
            t1 = time.perf_counter()
            new, prefill, decode = _greedy(
                llm, ids, d["max_new_tokens"], eos, g["repetition_penalty"], g["no_repeat_ngram_size"]
            )
            total = time.perf_counter() - t1
            text = llm.detokenize([t for t in new if t != eos]).decode("utf-8", errors="replace")
            n_new = len(new)
            recs.append(
                {
                    "name": d["name"],
                    "prompt_tokens": len(ids),
                    "tokenizer_same_ids": own == ids,
                    "tokenizer_ids_differing": sum(1 for x, y in zip(own, ids) if x != y)
                    + abs(len(own) - len(ids)),
                    "new_tokens": n_new,
                    "same_tokens_as_hf_prefix": None,
                    "raw": text,
                    "prefill_seconds": round(prefill, 3),
                    "generate_seconds": round(total, 3),
                    "decode_tokens_per_second": round((n_new - 1) / max(1e-6, decode), 2)
                    if n_new > 1
                    else None,
                    "loadavg": _load(),
                }
            )
            print(
                f"[llama {Path(path).name}] {d['name']}: prompt {len(ids)} tok (own tokenizer same: {own == ids}), "
                f"{n_new} new tok, prefill {prefill:.2f} s, generate {total:.2f} s, load {recs[-1]['loadavg']}",
                flush=True,
            )
        engines.append(
            {
                "gguf": path,
                "size_mb": round(os.path.getsize(path) / 1e6, 1),
                "load_seconds": round(load_s, 2),
                "debates": recs,
            }
        )
        del llm
    _write(
        Path(a.work) / "llama.json",
        {
            "engine": "llama.cpp",
            "llama_cpp_python": llama_cpp.__version__,
            "threads": a.threads,
            "system_info": llama_cpp.llama_print_system_info().decode(errors="replace"),
            "engines": engines,
        },
    )
    return 0


# --------------------------------------------------------------------------- report


def _med(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 3) if xs else None


def run_report(a) -> int:
    sys.path.insert(0, str(ROOT))
    from summarize.evaluate import load_items, make_scorer, score_best_of
    from summarize.llm import clean_output, is_garbage

    scorer = make_scorer()
    refs = {
        it.name: list(it.references.values())
        for it in load_items(
            Path(a.root)
            if a.root
            else __import__("apps.evaluate_summaries", fromlist=["DEFAULT_ROOT"]).DEFAULT_ROOT
        )
    }

    def quality(d):
        c = clean_output(d["raw"], "meeting")
        d["rougeL_vs_references"] = round(score_best_of(c, refs[d["name"]], scorer)["rougeL"], 2)
        d["unusable"] = is_garbage(c, "meeting") or None

    hf = json.loads((Path(a.work) / "hf.json").read_text(encoding="utf-8"))
    ll = json.loads((Path(a.work) / "llama.json").read_text(encoding="utf-8"))
    extra = json.loads(Path(a.extra).read_text(encoding="utf-8")) if a.extra else {}
    by = {d["name"]: d for d in hf["debates"]}

    def row(label, debates, load_s, size_mb=None):
        return {
            "engine": label,
            "size_mb": size_mb,
            "load_seconds": load_s,
            "median_prompt_tokens": _med([d["prompt_tokens"] for d in debates]),
            "median_new_tokens": _med([d["new_tokens"] for d in debates]),
            "median_prefill_seconds": _med([d["prefill_seconds"] for d in debates]),
            "median_decode_tokens_per_second": _med([d["decode_tokens_per_second"] for d in debates]),
            "median_generate_seconds_per_debate": _med([d["generate_seconds"] for d in debates]),
        }

    rows = [row(f"transformers fp32 ({hf['threads']} threads)", hf["debates"], hf["load_seconds"])]
    hf_gen = rows[0]["median_generate_seconds_per_debate"]
    rows[0]["speedup_generate_vs_transformers"] = 1.0
    rows[0]["median_rougeL_vs_transformers_raw"] = 100.0
    rows[0]["median_rougeL_vs_transformers_cleaned"] = 100.0
    rows[0]["identical_outputs"] = len(hf["debates"])
    for d in hf["debates"]:
        quality(d)
    rows[0]["median_rougeL_vs_references"] = _med([d["rougeL_vs_references"] for d in hf["debates"]])
    rows[0]["unusable_outputs"] = sum(bool(d["unusable"]) for d in hf["debates"])
    for e in ll["engines"]:
        for d in e["debates"]:
            quality(d)
            h = by[d["name"]]
            d["rougeL_vs_transformers_raw"] = round(
                100 * scorer.score(h["raw"], d["raw"])["rougeL"].fmeasure, 2
            )
            d["rougeL_vs_transformers_cleaned"] = round(
                100
                * scorer.score(clean_output(h["raw"], "meeting"), clean_output(d["raw"], "meeting"))[
                    "rougeL"
                ].fmeasure,
                2,
            )
            d["identical_to_transformers"] = d["raw"].strip() == h["raw"].strip()
        r = row(
            f"llama.cpp {Path(e['gguf']).stem.split('-')[-1]} ({ll['threads']} threads)",
            e["debates"],
            e["load_seconds"],
            e["size_mb"],
        )
        g = r["median_generate_seconds_per_debate"]
        r["speedup_generate_vs_transformers"] = round(hf_gen / g, 2) if g else None
        r["median_rougeL_vs_transformers_raw"] = _med([d["rougeL_vs_transformers_raw"] for d in e["debates"]])
        r["median_rougeL_vs_transformers_cleaned"] = _med(
            [d["rougeL_vs_transformers_cleaned"] for d in e["debates"]]
        )
        r["identical_outputs"] = sum(d["identical_to_transformers"] for d in e["debates"])
        r["median_rougeL_vs_references"] = _med([d["rougeL_vs_references"] for d in e["debates"]])
        r["unusable_outputs"] = sum(bool(d["unusable"]) for d in e["debates"])
        r["tokenizer_same_ids"] = sum(d["tokenizer_same_ids"] for d in e["debates"])
        rows.append(r)

    cols = [
        ("engine", "engine", 30),
        ("size_mb", "MB", 6),
        ("median_prompt_tokens", "prompt", 6),
        ("median_new_tokens", "new", 5),
        ("median_prefill_seconds", "prefill s", 9),
        ("median_decode_tokens_per_second", "dec tok/s", 9),
        ("median_generate_seconds_per_debate", "gen s/deb", 9),
        ("speedup_generate_vs_transformers", "speedup", 7),
        ("median_rougeL_vs_transformers_raw", "R-L raw", 7),
        ("median_rougeL_vs_transformers_cleaned", "R-L clean", 9),
        ("identical_outputs", "same", 4),
        ("median_rougeL_vs_references", "R-L ref", 7),
        ("unusable_outputs", "bad", 3),
    ]
    lines = [" | ".join(f"{h:>{w}}" for _, h, w in cols)]
    for r in rows:
        lines.append(" | ".join(f"{str(r.get(k)) if r.get(k) is not None else '-':>{w}}" for k, _, w in cols))
    table = "\n".join(lines)
    print(table)
    sizes = {Path(e["gguf"]).stem: e["size_mb"] for e in ll["engines"]}
    res = {
        "issue": "11 item 4: llama.cpp (GGUF) vs transformers for the shipped summary model",
        "files": [d["name"] for d in hf["debates"]],
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": hf.get("torch"),
            "llama_cpp_python": ll.get("llama_cpp_python"),
            "llama_cpp_system_info": ll.get("system_info"),
        },
        "loadavg_at_report": _load(),
        "method": __doc__.split("\n\n")[1:4],
        "rows": rows,
        "table": table,
        "gguf_sizes_mb": sizes,
        **extra,
        "per_debate": {
            "transformers": [
                {k: v for k, v in d.items() if k not in ("prompt", "prompt_ids")} for d in hf["debates"]
            ],
            **{Path(e["gguf"]).stem: e["debates"] for e in ll["engines"]},
        },
    }
    _write(Path(a.out), res)
    print(f"wrote {a.out}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["hf", "quantize", "llama", "report"])
    p.add_argument("--work", default=str(WORK), help="where the two engines' intermediate JSON go")
    p.add_argument("--root", default=None, help="FREDSum directory (default: the project's)")
    p.add_argument("--files", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument("--gguf", nargs="*", default=[])
    p.add_argument(
        "--extra", default="", help="JSON file merged into the report (build and conversion facts)"
    )
    p.add_argument("--out", default=str(OUT))
    a = p.parse_args(argv)
    return {"hf": run_hf, "quantize": run_quantize, "llama": run_llama, "report": run_report}[a.step](a)


if __name__ == "__main__":
    raise SystemExit(main())
