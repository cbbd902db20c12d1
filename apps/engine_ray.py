"""``--engine ray``: the same per-call function on Ray actors that hold the loaded models.

Each actor loads the models once (:func:`apps.pipeline.load_models`) and renders one input's
output set at a time (:func:`apps.process.make_job`, the function the local engine runs). The
driver keeps the one writer role: it commits each output set atomically, records it in the
manifest and writes the index, exactly as the local engine does, so outputs, manifest, index,
per-file failures and resuming are the same. Ray is started locally on demand
(``num_cpus=workers``), or joined with ``--ray-address``.

On a real cluster: inputs must be readable by every worker at the same path (shared storage,
e.g. NFS), the output set travels back to the driver (small text files), and each worker holds
its own copy of the models (memory per worker = one model set).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from apps.progress import file_bar
from apps.runner import Plan, failure_reason, finish_one, write_index

log = logging.getLogger(__name__)


def _import_ray():
    try:
        import ray
    except ImportError as e:
        raise RuntimeError("--engine ray needs Ray: pip install 'ray>=2.9'") from e
    return ray


def check_settings(opts, audio: bool) -> None:
    """Cheap up-front checks in the driver of what every worker would fail on (model names)."""
    _import_ray()
    if audio and opts.front_end.asr.backend == "faster-whisper":
        from asr.models import resolve_whisper

        resolve_whisper(opts.front_end.asr.model)
    if opts.needs_llm and opts.llm_model:
        from core_training.models import resolve_model

        resolve_model(opts.llm_model)
    if opts.needs_samu_model and opts.samu_adapter:
        from samu.model import read_adapter_metadata

        read_adapter_metadata(Path(opts.samu_adapter))
    if opts.needs_summary_model:
        from summarize.model import default_adapter_dir
        from summarize.model import read_adapter_metadata as read_summary_metadata

        read_summary_metadata(default_adapter_dir())


class _Worker:
    """A Ray actor: the loaded models and the job, for its lifetime."""

    def __init__(self, opts, formats, report, key_path, job_name, audio, threads):
        import torch

        from apps.pipeline import load_models
        from apps.process import make_job

        torch.set_num_threads(threads)
        self.holder = {"models": load_models(opts, audio=audio)}
        self.job = make_job(job_name, opts, formats, report, key_path, self.holder)

    def ready(self) -> bool:
        return True

    def memory_mb(self) -> float:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def render(self, path: str, stem: str, sha: str):
        t0 = time.perf_counter()
        try:
            files, row = self.job.render(Path(path), stem, None)
        except Exception as e:  # one file's failure stays one file's failure
            return path, stem, sha, None, None, failure_reason(e), time.perf_counter() - t0
        return path, stem, sha, files, row, None, time.perf_counter() - t0


def ray_engine(
    opts,
    formats: tuple[str, ...],
    report: bool,
    key_path: str | None,
    job_name: str,
    address: str | None,
    workers: int,
    quiet: bool,
    stats: dict | None = None,
) -> Callable[[Plan], None]:
    """The engine callable :func:`apps.runner.execute` runs; ``stats`` (if given) receives the
    workers' peak memory (MB) and the wall time."""

    def run(plan: Plan) -> None:
        if not plan.todo:
            write_index(plan.out, plan.manifest, {})
            return
        ray = _import_ray()
        from asr.audio import is_audio_path

        audio = any(is_audio_path(p) for p, _, _ in plan.todo)
        started = not ray.is_initialized()
        if started:
            kw = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
            ray.init(ignore_reinit_error=True, log_to_driver=False, logging_level=logging.WARNING, **kw)
        # the driver's OpenMP thread count, set before the worker starts (Ray's default of 1 changes
        # the order of CTranslate2's reductions, hence near-tied beams on poor audio)
        import os

        omp = os.environ.get("OMP_NUM_THREADS") or str(os.cpu_count() or 1)
        Worker = ray.remote(num_cpus=1, runtime_env={"env_vars": {"OMP_NUM_THREADS": omp}})(_Worker)
        n = max(1, min(workers, len(plan.todo)))
        actors = [Worker.remote(opts, formats, report, key_path, job_name, audio, 1) for _ in range(n)]
        failed_rows: dict[str, dict] = {}
        t0 = time.perf_counter()
        try:
            try:
                ray.get([a.ready.remote() for a in actors])
            except Exception as e:
                raise RuntimeError(f"les workers Ray n'ont pas pu charger les modèles : {e}") from e
            pool = ray.util.ActorPool(actors)
            results = pool.map_unordered(
                lambda a, item: a.render.remote(str(item[0]), item[1], item[2]), plan.todo
            )
            for path, stem, sha, files, row, error, seconds in file_bar(results, job_name, quiet):
                p = Path(path)
                if error is not None:
                    plan.result.failed.append((path, error))
                    failed_rows[stem] = {
                        "file": str(p.resolve()),
                        "output": stem,
                        "status": "error",
                        "error": error,
                    }
                    continue
                try:
                    finish_one(plan, p, stem, sha, files, row, seconds)
                except OSError as e:
                    plan.result.fail(p, e)
            if stats is not None:
                stats["worker_peak_mb"] = ray.get([a.memory_mb.remote() for a in actors])
                stats["seconds"] = time.perf_counter() - t0
        finally:
            write_index(plan.out, plan.manifest, failed_rows)
            for a in actors:
                ray.kill(a)
            if started:
                ray.shutdown()

    return run
