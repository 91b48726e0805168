"""The Ray engine: split, attribute and embed a corpus as one Ray Data job on a cluster.

The per-document work (passages and their speakers, passages.py and attribution.py) and the
embedding are the parts that grow with the corpus and need no shared state, so they run in
parallel: documents are split by Ray Data tasks, and passages are embedded by an actor pool
whose every actor loads the model once (``map_batches`` with ``ActorPoolStrategy``). The
driver gets back exactly what the local build computes (passages in corpus order, their
vectors and sentence table) and the local build path does the rest (BM25, FAISS, the store,
the manifest, the crash-safe write), so there is one writer and one index format.

Ray is imported only when a build asks for ``engine="ray"``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlparse

import numpy as np

from askcorpus.attribution import Attributor
from askcorpus.catalog import Override
from askcorpus.corpus import Corpus
from askcorpus.embedding import load_encoder
from askcorpus.errors import AskcorpusError
from askcorpus.passages import split_document
from askcorpus.sentences import SentenceTable, build_table
from askcorpus.settings import Settings
from askcorpus.types import Actor, Document, Passage

ENGINES = ("local", "ray")
DOCUMENTS_PER_TASK = 16
# Passages per embedding task: a few seconds of model work, far above Ray's per-task overhead,
# and small enough that the actors share the last tasks evenly (with 512, 1,024 passages made
# 3 tasks and one actor ran all of them while the other was still loading the model).
PASSAGES_PER_BATCH = 128
# Ray Data's scheduling knobs for the job (restored after it): dispatch only once every actor
# holds its model, and queue at most this many tasks on one actor, so none is left idle.
WAIT_FOR_ACTORS_S = 600
TASKS_PER_ACTOR = 2
CONNECT_TIMEOUT_S = 5.0
SPLIT_CPUS = 0.1


@dataclass(frozen=True)
class TaskTiming:
    """One Ray task's work: which stage, how many rows, how long, in which worker process."""

    stage: str  # "split" or "embed"
    rows: int
    seconds: float
    worker: int


@dataclass(frozen=True)
class RayResult:
    """What the job gives back: the local build's passages, vectors and sentence table."""

    passages: list[Passage]
    vectors: np.ndarray
    sentences: SentenceTable
    timings: tuple[TaskTiming, ...] = ()


@dataclass(frozen=True)
class RayEngine:
    """``building.Engine`` on Ray: a local Ray when ``address`` is None, else that cluster.

    ``actors`` is the size of the embedding actor pool (default: the cluster's CPUs).
    """

    address: str | None = None
    actors: int | None = None
    name: str = "ray"

    def split_and_embed(self, corpus: Corpus, settings: Settings
                        ) -> tuple[list[Passage], np.ndarray, SentenceTable]:
        result = self.run(corpus, settings)
        return result.passages, result.vectors, result.sentences

    def run(self, corpus: Corpus, settings: Settings) -> RayResult:
        """The whole job, with every task's timing (benchmarks/distributed.py reads them)."""
        ray = _import_ray()
        started_here = connect(ray, self.address)
        try:
            actors = self.actors or max(1, int(ray.cluster_resources().get("CPU", 1)))
            return _pipeline(ray, corpus, settings, actors)
        finally:
            if started_here:
                ray.shutdown()


def engine(name: str, address: str | None) -> RayEngine | None:
    """The engine a build asked for: None for the local one, ``RayEngine`` for ``ray``."""
    if name not in ENGINES:
        raise AskcorpusError(f"Unknown engine {name!r}; use one of {', '.join(ENGINES)} "
                             "(CLI: --engine).")
    if name == "local":
        if address is not None:
            raise AskcorpusError("A Ray address needs the Ray engine; add --engine ray "
                                 "(engine='ray') or drop --ray-address.")
        return None
    _import_ray()  # fail before reading the corpus when Ray is missing or the head is down
    _check_address(address)
    return RayEngine(address)


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # the engine's jobs are Ray Data datasets
    except ImportError as exc:
        raise AskcorpusError("The Ray engine needs Ray Data; install it with "
                             "`pip install 'askcorpus[scale]'`, or build without "
                             "--engine ray.") from exc
    return ray


def connect(ray: Any, address: str | None) -> bool:
    """Join the cluster at ``address`` (or start a local Ray); True when this call started it.

    An unreachable address is reported at once: ``ray.init`` would retry for minutes.
    """
    if ray.is_initialized():
        return False
    _check_address(address)
    ray.init(address=address, include_dashboard=False, log_to_driver=False)
    return True


def _check_address(address: str | None) -> None:
    if address is not None and address != "auto" and not _reachable(address):
        raise AskcorpusError(f"Cannot reach a Ray cluster at {address}; start it (`ray start "
                             "--head`) or pass --ray-address (ray_address) the address of its "
                             "head node.")


def _reachable(address: str) -> bool:
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    if parsed.hostname is None or parsed.port is None:
        return False
    try:
        with socket.create_connection((parsed.hostname, parsed.port), CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _pipeline(ray: Any, corpus: Corpus, settings: Settings, actors: int) -> RayResult:
    """Documents -> passages (tasks) -> vectors (an actor pool), gathered in corpus order."""
    context = ray.data.DataContext.get_current()
    knobs = {"enable_progress_bars": False, "wait_for_min_actors_s": WAIT_FOR_ACTORS_S,
             "max_tasks_in_flight_per_actor": TASKS_PER_ACTOR}
    before = {name: getattr(context, name) for name in knobs}
    for name, value in knobs.items():
        setattr(context, name, value)
    try:
        return _gather(_dataset(ray, corpus, settings, actors).take_all())
    finally:
        for name, value in before.items():
            setattr(context, name, value)


def _dataset(ray: Any, corpus: Corpus, settings: Settings, actors: int) -> Any:
    rows = [{"ordinal": i, "document": json.dumps(asdict(d), ensure_ascii=False)}
            for i, d in enumerate(corpus.documents)]
    # Blocks are the unit of parallelism: a small corpus is cut finer, so every actor works.
    per_task = max(1, min(DOCUMENTS_PER_TASK, -(-len(rows) // (4 * actors))))
    blocks = max(1, -(-len(rows) // per_task))
    catalog = corpus.catalog
    # Splitting is light next to embedding: its tasks take a sliver of a CPU, so that an actor
    # pool as large as the cluster never leaves them waiting for a free CPU.
    dataset = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
        split_batch, batch_size=per_task, batch_format="pandas", num_cpus=SPLIT_CPUS,
        fn_kwargs={"actors": tuple(catalog.actors), "overrides": tuple(catalog.overrides),
                   "min_words": settings.min_words, "max_words": settings.max_words},
    ).map_batches(
        Embedder, batch_size=PASSAGES_PER_BATCH, batch_format="pandas",
        num_cpus=1 - SPLIT_CPUS, compute=ray.data.ActorPoolStrategy(size=actors),
        fn_constructor_kwargs={"model": settings.model, "batch_size": settings.batch_size})
    return dataset


def split_batch(batch: Any, *, actors: tuple[Actor, ...], overrides: tuple[Override, ...],
                min_words: int, max_words: int) -> Any:
    """One Ray task: a batch of documents -> one row per passage (speaker and side included)."""
    import pandas as pd

    started = time.perf_counter()
    attributor = Attributor(actors, overrides)
    out: list[dict[str, Any]] = []
    for ordinal, raw in zip(batch["ordinal"], batch["document"], strict=True):
        document = Document(**json.loads(raw))
        for n, passage in enumerate(split_document(document, attributor, min_words=min_words,
                                                   max_words=max_words)):
            out.append({"ordinal": int(ordinal), "n": n, "text": passage.text,
                        "passage": json.dumps(passage.to_dict(), ensure_ascii=False)})
    frame = pd.DataFrame(out, columns=["ordinal", "n", "text", "passage"])
    return _stamp(frame, "split", started)


class Embedder:
    """A Ray actor holding the model: passage vectors and sentence vectors for a batch."""

    def __init__(self, model: str, batch_size: int) -> None:
        self._encoder = load_encoder(model, batch_size=batch_size)

    def __call__(self, batch: Any) -> Any:
        started = time.perf_counter()
        texts = [str(t) for t in batch["text"]]
        vectors = self._encoder.encode(texts)
        # Sentence vectors as the local build makes them (sentences.py), row by row.
        table = build_table(texts, vectors, self._encoder.encode)
        out = batch.drop(columns=["text"])
        out["vector"] = [v.tobytes() for v in vectors]
        out["spans"] = [table.spans[table.offsets[i]:table.offsets[i + 1]].tobytes()
                        for i in range(len(texts))]
        out["sentence_vectors"] = [table.vectors[table.offsets[i]:table.offsets[i + 1]]
                                   .tobytes() for i in range(len(texts))]
        return _stamp(out, "embed", started)


def _stamp(frame: Any, stage: str, started: float) -> Any:
    """Mark every row with its task (worker, start) and the task's seconds, for the timings."""
    frame[f"{stage}_task"] = f"{os.getpid()}:{started!r}"
    frame[f"{stage}_seconds"] = time.perf_counter() - started
    return frame


def _gather(rows: list[dict[str, Any]]) -> RayResult:
    """The job's rows in corpus order, back into the local build's types."""
    rows.sort(key=lambda r: (r["ordinal"], r["n"]))
    passages = [Passage.from_dict(json.loads(r["passage"])) for r in rows]
    vectors = np.stack([np.frombuffer(r["vector"], dtype=np.float32) for r in rows]) \
        if rows else np.zeros((0, 0), dtype=np.float32)
    dim = vectors.shape[1]
    spans = [np.frombuffer(r["spans"], dtype=np.int32).reshape(-1, 2) for r in rows]
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in spans])
    sentence_vectors = [np.frombuffer(r["sentence_vectors"], dtype=np.float32).reshape(-1, dim)
                        for r in rows]
    table = SentenceTable(
        offsets, np.concatenate(spans) if spans else np.zeros((0, 2), dtype=np.int32),
        np.concatenate(sentence_vectors) if rows else np.zeros((0, dim), dtype=np.float32))
    return RayResult(passages, vectors, table, _timings(rows))


def _timings(rows: list[dict[str, Any]]) -> tuple[TaskTiming, ...]:
    """One ``TaskTiming`` per task, from the stamps its rows carry."""
    tasks: dict[tuple[str, str], tuple[float, int]] = {}
    for r in rows:
        for stage in ("split", "embed"):
            key = (stage, str(r[f"{stage}_task"]))
            seconds, count = tasks.get(key, (float(r[f"{stage}_seconds"]), 0))
            tasks[key] = (seconds, count + 1)
    return tuple(TaskTiming(stage, count, seconds, int(task.split(":")[0]))
                 for (stage, task), (seconds, count) in sorted(tasks.items()))
