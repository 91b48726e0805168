"""Past one machine, measured in one run: the Ray engine against the local build, and the
milvus-lite store against FAISS, on a synthetic corpus made of the seeds' sentences.

    python benchmarks/distributed.py [--passages 20000] [--cpus 2] [--rounds 1] [--queries 110]

Prints: local and Ray build throughput (passages per second, whole build: split, attribution,
embedding, BM25, FAISS, manifest, crash-safe write) and their ratio (target >= 0.8 on a 2-CPU
local Ray; with ``--rounds N`` the builds alternate local, Ray, local, Ray... and the median
ratio is printed, since a shared machine's load drifts); the Ray job's per-task timings (per
actor: tasks, passages, seconds, passages/s, and the busy share of the embedding stage, which
says whether more actors scale it); then, on the same index, warm search p50/p95 of
milvus-lite next to FAISS (the store's own top-10 call, and the whole ``Index.search``) and
the top-10 overlap over the eval questions.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

import askcorpus
from askcorpus import building
from askcorpus.corpus import load_corpus
from askcorpus.distributed import RayEngine, RayResult
from askcorpus.embedding import load_encoder
from askcorpus.onnx_encoder import export_for_build
from askcorpus.sentences import SentenceTable
from askcorpus.settings import Settings
from askcorpus.types import Passage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from synthetic import write_corpus  # noqa: E402  (the tests' generator, one definition)


class RecordingRay:
    """The Ray engine, keeping the job's result so its task timings can be printed."""

    name = "ray"

    def __init__(self) -> None:
        self.result: RayResult | None = None
        self.seconds = 0.0

    def split_and_embed(self, corpus: Any, settings: Settings
                        ) -> tuple[list[Passage], np.ndarray, SentenceTable]:
        started = time.perf_counter()
        self.result = RayEngine().run(corpus, settings)
        self.seconds = time.perf_counter() - started
        return self.result.passages, self.result.vectors, self.result.sentences


def timed_build(corpus: Path, index: Path, engine: RecordingRay | None) -> float:
    """Seconds for a whole build through the one build path (building.published)."""
    started = time.perf_counter()
    with building.published(corpus, index, Settings(), strict=False, progress=False,
                            version=askcorpus.__version__, engine=engine):
        pass
    return time.perf_counter() - started


def print_tasks(result: RayResult, stage_seconds: float) -> None:
    per_actor: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for t in result.timings:
        per_actor[(t.stage, t.worker)].append(t)
    print("Ray per-task timings (stage, worker pid: tasks, rows, busy s, rows/s):")
    for (stage, worker), tasks in sorted(per_actor.items()):
        rows, busy = sum(t.rows for t in tasks), sum(t.seconds for t in tasks)
        print(f"  {stage:5} {worker:>7}: {len(tasks):4} tasks {rows:6} rows {busy:8.1f} s "
              f"{rows / busy if busy else 0:8.1f} rows/s")
    embed = [t for t in result.timings if t.stage == "embed"]
    sizes = [t.seconds / t.rows for t in embed if t.rows]
    busy = sum(t.seconds for t in embed)
    print(f"  embed tasks: {len(embed)}, seconds per passage p50 "
          f"{statistics.median(sizes) * 1000:.1f} ms (min {min(sizes) * 1000:.1f}, max "
          f"{max(sizes) * 1000:.1f}); actors busy {busy:.1f} s of {stage_seconds:.1f} s x "
          f"{len({t.worker for t in embed})} actors = "
          f"{busy / (stage_seconds * len({t.worker for t in embed})):.2f} of the job")


def percentiles(fn: Any, items: list[Any]) -> tuple[float, float]:
    for item in items[:5]:
        fn(item)  # warm
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def compare_stores(faiss_index: askcorpus.Index, milvus_index: askcorpus.Index,
                   questions: list[str]) -> None:
    vectors = [faiss_index.encode_query(q) for q in questions]
    for name, index in (("FAISS", faiss_index), ("milvus-lite", milvus_index)):
        searcher = index.retriever.dense.searcher
        store = percentiles(lambda v, s=searcher: s.search(v.reshape(1, -1), 10), vectors)
        whole = percentiles(lambda q, i=index: i.search(q, 10), questions)
        print(f"  {name:12} store top-10 p50 {store[0]:7.2f} ms p95 {store[1]:7.2f} ms | "
              f"Index.search p50 {whole[0]:7.2f} ms p95 {whole[1]:7.2f} ms")
    for mode in ("dense", "hybrid"):
        shared = []
        for q in questions:
            a = {c.passage.passage_id for c in faiss_index.search(q, 10, mode=mode)}
            b = {c.passage.passage_id for c in milvus_index.search(q, 10, mode=mode)}
            shared.append(len(a & b) / max(len(a), 1))
        print(f"  top-10 overlap ({mode}, {len(questions)} questions): {np.mean(shared):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=20_000)
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray")
    parser.add_argument("--queries", type=int, default=110, help="eval questions to time")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate this many local and Ray builds (median ratio)")
    args = parser.parse_args()
    import ray

    questions = [json.loads(line)["question"] for line in
                 (ROOT / "eval" / "questions.jsonl").read_text("utf-8").splitlines()
                 if line.strip()][:args.queries]
    scratch = Path(tempfile.mkdtemp(prefix="askcorpus-distributed-"))
    try:
        corpus = write_corpus(scratch / "corpus", args.passages)
        count = len(building.split(load_corpus(corpus), Settings()))
        load_encoder(Settings().model)  # both builds find the driver's model loaded,
        export_for_build(Settings().model)  # and the query model exported
        started = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        ray_start = time.perf_counter() - started
        print(f"Synthetic corpus: {count} passages ({args.passages} asked); ray.init "
              f"{ray_start:.1f} s, not counted (a cluster is up before a build)")
        ratios = []
        for n in range(args.rounds):
            shutil.rmtree(scratch / "local", ignore_errors=True)  # full builds, no reuse
            shutil.rmtree(scratch / "ray", ignore_errors=True)
            local = timed_build(corpus, scratch / "local", None)
            engine = RecordingRay()
            remote = timed_build(corpus, scratch / "ray", engine)
            ratios.append(local / remote)
            print(f"  round {n + 1}: local build {local:7.1f} s {count / local:6.1f} passages/s"
                  f" | Ray build {remote:7.1f} s {count / remote:6.1f} passages/s (Ray job "
                  f"{engine.seconds:.1f} s) | Ray / local {local / remote:.2f}x")
        print(f"  Ray / local throughput: {statistics.median(ratios):.2f}x median of "
              f"{len(ratios)} (target >= 0.8x, {args.cpus}-CPU local Ray)")
        assert engine.result is not None
        print_tasks(engine.result, engine.seconds)
        ray.shutdown()
        shutil.copytree(scratch / "local", scratch / "milvus")
        askcorpus.build(corpus, scratch / "milvus", store="milvus")  # reuses the vectors
        print(f"Stores on the same {count} passages (warm, one query at a time):")
        compare_stores(askcorpus.open(scratch / "local"), askcorpus.open(scratch / "milvus"),
                       questions)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
