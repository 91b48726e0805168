"""The scale series with the Milvus store: milvus-lite beside FAISS, same vectors, same queries.

    python benchmarks/scale_milvus.py --sizes 10000 100000 --ann HNSW        # ~3 min
    python benchmarks/scale_milvus.py --sizes 1000000 --ann HNSW --queries 50  # ~30 min, 7 GB

Vectors and queries are scale.py's (imported, one definition): the Perspectrum passages encoded
with the real model, then noisy mixtures of two of them up to the size; HNSW tunes on the train
claims, every row is measured on the dev claims. The rows get synthetic metadata: documents of
8 passages (a heading, 5 body, a quote, a footnote) taking 4 sides in turn, so the answer
path's per-side filter (the searchable rows of one side) keeps 7/32 of the rows and its
per-document filter 7 rows (the document of the query's exact top hit). Each row's BM25 words
are those of its base sentence (row mod 11,112), so the collection has every field and the
BM25 function of an askcorpus build.

Per size, in one process, on ``--threads`` threads (FAISS's OpenMP and the BLAS that
milvus-lite's FLAT scan calls through numpy; milvus-lite's gRPC server runs in threads of this
same process):

- FAISS's exact scan and its size-chosen index (``scale.measured``): build, index memory, top-10
  p50/p95, recall@10 vs exact, and the filtered searches through ``ann.search`` (what
  retrieval calls);
- milvus-lite through the store's own code: ``milvus_store.write`` (the schema, batches and FLAT
  index of ``--store milvus``), ``milvus_store.open_search`` (load and the open checks), and
  ``MilvusSearch.search``, with ``allowed`` rows for the filters, so the cost of turning them
  into a scalar filter (``filter_for``) is counted as retrieval pays it; the folder's size on
  disk and the growth of the process's resident memory;
- with ``--ann HNSW`` (or ``IVF_FLAT``): the same collection's vector index replaced by
  milvus-lite's own, built per segment, searched at each ``--ef`` (or ``--nprobe``).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import scale
from threadpoolctl import threadpool_limits

from askcorpus import ann, milvus_store
from askcorpus.lexical import index_tokens
from askcorpus.types import Passage

SIDES = ("north", "south", "east", "west")
DOC_KINDS = ("heading", "body", "body", "body", "body", "body", "quote", "footnote")
SEARCHABLE_KINDS = sorted({k for k in DOC_KINDS if k != "footnote"})
COLLECTION = "passages"
# milvus-lite builds one graph per segment of at most 100k rows (its MAX_SEGMENT_ROWS), so each
# gets askcorpus's own parameters for a graph of that size (ann.HNSW_M, ann.EF_CONSTRUCTION).
ANN_BUILD = {"HNSW": {"M": ann.HNSW_M, "efConstruction": ann.EF_CONSTRUCTION},
             "IVF_FLAT": {"nlist": 256}}
Search = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (query, allowed ids) -> top ids


def synthetic_passages(size: int) -> list[Passage]:
    """Metadata of ``size`` rows: documents of len(DOC_KINDS) passages, the sides in turn."""
    per = len(DOC_KINDS)
    return [Passage(f"p{r}", f"d{r // per}", 0, 1, "", kind=DOC_KINDS[r % per],  # type: ignore
                    perspective=SIDES[(r // per) % len(SIDES)]) for r in range(size)]


def bm25_words(size: int) -> list[str]:
    """Each row's BM25 words as the store writes them: its base sentence's (row mod base)."""
    texts = scale._read_texts(scale.PERSPECTRUM / "corpus.jsonl")
    base = [milvus_store.analyzer_words(index_tokens(t)) for t in texts]
    return [base[r % len(base)] for r in range(size)]


def filters(size: int, truth: np.ndarray) -> dict[str, list[np.ndarray]]:
    """Per query, the allowed rows of the answer path's two filters (same rule as
    ``synthetic_passages``): the searchable rows of one side (queries take the sides in turn)
    and of the document holding the query's exact top hit."""
    per, rows = len(DOC_KINDS), np.arange(size)
    searchable = np.array([k != "footnote" for k in DOC_KINDS])[rows % per]
    side_rows = [np.flatnonzero(searchable & ((rows // per) % len(SIDES) == s))
                 for s in range(len(SIDES))]
    doc_rows = [d * per + np.flatnonzero(searchable[:per]) for d in truth[:, 0] // per]
    return {"side": [side_rows[q % len(SIDES)] for q in range(len(truth))],
            "document": [r[r < size] for r in doc_rows]}


def exact_within(vectors: np.ndarray, queries: np.ndarray, allowed: list[np.ndarray]
                 ) -> np.ndarray:
    """Exact top ``K`` per query among its allowed rows, -1 padded (the filtered truth)."""
    out = np.full((len(queries), scale.K), -1, dtype=np.int64)
    for q, ids in enumerate(allowed):
        sims = vectors[ids] @ queries[q]
        best = np.argsort(-sims, kind="stable")[:scale.K]
        out[q, :len(best)] = ids[best]
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's true rows found (padding ignored: a document has < K rows)."""
    shares = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max((t >= 0).sum(), 1)
              for f, t in zip(found, truth, strict=True)]
    return float(np.mean(shares))


def timed_filtered(search: Search, queries: np.ndarray, allowed: list[np.ndarray],
                   truth: np.ndarray) -> dict[str, float]:
    """p50/p95 ms and recall of one filtered search per query (a few warm-up searches first)."""
    for q in range(min(5, len(queries))):
        search(queries[q], allowed[q])
    times, found = [], np.full_like(truth, -1)
    for q, ids in enumerate(allowed):
        started = time.perf_counter()
        top = search(queries[q], ids)
        times.append((time.perf_counter() - started) * 1000)
        found[q, :len(top)] = top
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
            "recall": recall(found, truth)}


def with_filters(row: dict[str, Any], search: Search, queries: np.ndarray,
                 allowed: dict[str, list[np.ndarray]], truths: dict[str, np.ndarray]
                 ) -> dict[str, Any]:
    """``row`` with the filtered searches' figures (``side_p50_ms``, ``document_recall``...)."""
    for name, rows in allowed.items():
        got = timed_filtered(search, queries, rows, truths[name])
        row = {**row, f"{name}_p50_ms": got["p50_ms"], f"{name}_p95_ms": got["p95_ms"],
               f"{name}_recall": got["recall"]}
    return row


def faiss_rows(vectors: np.ndarray, tune: np.ndarray, queries: np.ndarray, truth: np.ndarray,
               allowed: dict[str, list[np.ndarray]], truths: dict[str, np.ndarray]
               ) -> list[dict[str, Any]]:
    """FAISS's exact scan and its size-chosen index, as scale.py measures them, plus filters."""
    out = []
    chosen = ann.choose_params(len(vectors), vectors.shape[1])
    for params in [ann.AnnParams("flat", len(vectors), vectors.shape[1])] + (
            [chosen] if chosen.kind != "flat" else []):
        index, used, row = scale.measured(vectors, tune, queries, params=params, truth=truth)
        row = with_filters({**row, "store": "FAISS", "index": scale.label(row)},
                           lambda q, ids, i=index, p=used: ann.search(
                               i, p, q, scale.K, allowed=ids)[1][0], queries, allowed, truths)
        out.append({**row, "peak_rss_mb": peak_rss_mb()})
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)
        del index
    return out


def milvus_flat(uri: Path, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray,
                allowed: dict[str, list[np.ndarray]], truths: dict[str, np.ndarray]
                ) -> dict[str, Any]:
    """milvus-lite through the store's own write, open and search (FLAT, exact)."""
    passages, words = synthetic_passages(len(vectors)), bm25_words(len(vectors))
    started = time.perf_counter()
    with PeakRss() as written:
        milvus_store.write(str(uri), COLLECTION, passages, vectors, words, k1=1.5, b=0.75)
    build_s = time.perf_counter() - started
    del words
    memory_mb = footprint(uri, vectors)
    started = time.perf_counter()
    store = milvus_store.open_search(str(uri), COLLECTION, passages, vectors, folder=uri.parent)
    open_s = time.perf_counter() - started
    try:
        scale.timed_search(store, queries[:10])  # warm
        latencies = scale.timed_search(store, queries)
        found = store.search(queries, scale.K)[1]
        row = {"size": len(vectors), "store": "milvus-lite", "index": "FLAT (the store's)",
               "build_s": build_s, "write_peak_mb": written.growth_mb, "open_s": open_s,
               "memory_mb": memory_mb,
               "disk_mb": disk_bytes(uri) / 2**20,
               "p50_ms": float(np.percentile(latencies, 50)),
               "p95_ms": float(np.percentile(latencies, 95)),
               "recall_at_10": ann.recall_at_k(found, truth, scale.K),
               "filter_for_ms": timed_ms(lambda: store.filter_for(allowed["side"][0])),
               "side_filter": store.filter_for(allowed["side"][0])}
        row = with_filters(row, lambda q, ids: store.search(q.reshape(1, -1), scale.K,
                                                            allowed=ids)[1][0],
                           queries, allowed, truths)
        return {**row, "peak_rss_mb": peak_rss_mb()}
    finally:
        store.close()


def footprint(uri: Path, vectors: np.ndarray) -> float:
    """MB a fresh process (a query server) holds once it opened the store and searched: this
    process's heap keeps what the write freed, which an open here would reuse unseen."""
    assert isinstance(vectors, np.memmap), "on_disk first: the child reads the same file"
    result = subprocess.run([sys.executable, __file__, "--footprint", str(uri),
                             str(vectors.filename)], capture_output=True, text=True, check=True)
    return float(result.stdout.split()[-1])


def footprint_child(uri: Path, vectors_path: Path) -> None:
    """``footprint``'s child: resident memory growth over open_search and 10 searches."""
    vectors = np.load(vectors_path, mmap_mode="r")
    passages = synthetic_passages(len(vectors))
    milvus_store.connect_module(embedded=True)
    import grpc  # noqa: F401  (the libraries any Milvus client loads: not the store's data)
    import pyarrow.parquet  # noqa: F401

    rss = psutil.Process().memory_info().rss
    store = milvus_store.open_search(str(uri), COLLECTION, passages, vectors, folder=uri.parent)
    for row in range(10):
        store.search(np.asarray(vectors[row:row + 1]), scale.K)
    print((psutil.Process().memory_info().rss - rss) / 2**20)
    store.close()


class PeakRss:
    """The most resident memory the process held above its start while a block ran (sampled
    every 20 ms: milvus-lite's memtable flushes are short spikes)."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._start = self._peak = self._process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._done.wait(0.02):
            self._peak = max(self._peak, self._process.memory_info().rss)

    @property
    def growth_mb(self) -> float:
        return (self._peak - self._start) / 2**20


def milvus_ann(uri: Path, kind: str, knobs: list[int], size: int, queries: np.ndarray,
               truth: np.ndarray, allowed: dict[str, list[np.ndarray]],
               truths: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The collection's vector index replaced by milvus-lite's ``kind``, one row per knob."""
    client = milvus_store.connect(str(uri))
    try:
        started = time.perf_counter()
        client.release_collection(COLLECTION)
        client.drop_index(COLLECTION, "vector")
        params = client.prepare_index_params()
        params.add_index(field_name="vector", index_type=kind, metric_type="IP",
                         params=ANN_BUILD[kind])
        client.create_index(COLLECTION, params)
        client.load_collection(COLLECTION)
        build_s = time.perf_counter() - started
        name = "ef" if kind == "HNSW" else "nprobe"
        rows = []
        for knob in knobs:
            search = ann_search(client, {"metric_type": "IP", "params": {name: knob}})
            search(queries[0], allowed["side"][0])  # warm
            times, found = [], np.full_like(truth, -1)
            for q, query in enumerate(queries):
                started = time.perf_counter()
                top = search(query, np.empty(0, dtype=np.int64))
                times.append((time.perf_counter() - started) * 1000)
                found[q, :len(top)] = top
            row = {"size": size, "store": "milvus-lite",
                   "index": f"{kind} ({_knobs(ANN_BUILD[kind])}, {name}={knob})",
                   "build_s": build_s, "disk_mb": disk_bytes(uri) / 2**20,
                   "p50_ms": float(np.percentile(times, 50)),
                   "p95_ms": float(np.percentile(times, 95)),
                   "recall_at_10": ann.recall_at_k(found, truth, scale.K)}
            rows.append({**with_filters(row, search, queries, allowed, truths),
                         "peak_rss_mb": peak_rss_mb()})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        return rows
    finally:
        client.close()


def ann_search(client: Any, search_params: dict[str, Any]) -> Search:
    """A top-``K`` search of the collection (a scalar filter for non-empty ``allowed``, built
    by the store's ``where``: the side's or the document's searchable kinds)."""
    def search(query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        expression = "" if len(ids) == 0 else _where_of(ids)
        hits = client.search(COLLECTION, data=[query], anns_field="vector", limit=scale.K,
                             filter=expression, output_fields=["row"],
                             search_params=search_params)
        return np.array([int(h["row"]) for h in hits[0]], dtype=np.int64)
    return search


def _where_of(ids: np.ndarray) -> str:
    """The scalar filter of a ``filters`` row set: one side's, or one document's."""
    per = len(DOC_KINDS)
    docs = np.unique(ids // per)
    if len(docs) == 1:
        return milvus_store.where(documents=[f"d{docs[0]}"], kinds=SEARCHABLE_KINDS)
    return milvus_store.where(perspectives=[SIDES[docs[0] % len(SIDES)]],
                              kinds=SEARCHABLE_KINDS)


def _knobs(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def timed_ms(fn: Callable[[], Any], repeats: int = 5) -> float:
    """Median milliseconds of ``fn()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def on_disk(vectors: np.ndarray, path: Path) -> np.ndarray:
    """``vectors`` read back from a file: the page cache holds them, not this process's heap,
    which milvus-lite needs (~5 GB at 1M rows)."""
    np.save(path, vectors)
    return np.load(path, mmap_mode="r")


def disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def series(sizes: list[int], *, ann_kind: str | None, knobs: list[int], scratch: Path,
           queries_max: int | None = None) -> list[dict[str, Any]]:
    """Every row of every size: FAISS's two indexes, then milvus-lite's FLAT (and ANN)."""
    base, tune, queries = scale.real_vectors()
    queries = queries[:queries_max]  # the first dev claims (a slow store at 1M rows)
    warm_up(scratch / "warm-up" / milvus_store.EMBEDDED, base)
    out = []
    for size in sizes:
        vectors = scale.synthetic(base, size)
        truth = ann.exact_neighbours(vectors, queries, scale.K)
        allowed = filters(size, truth)
        truths = {name: exact_within(vectors, queries, rows) for name, rows in allowed.items()}
        out += faiss_rows(vectors, tune, queries, truth, allowed, truths)
        vectors = on_disk(vectors, scratch / f"vectors-{size}.npy")
        uri = scratch / f"size-{size}" / milvus_store.EMBEDDED
        uri.parent.mkdir(parents=True)
        out.append(milvus_flat(uri, vectors, queries, truth, allowed, truths))
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)
        if ann_kind is not None:
            del vectors  # the FLAT rows' copy is not needed by an ANN search
            out += milvus_ann(uri, ann_kind, knobs, size, queries, truth, allowed, truths)
        milvus_store.release(str(uri))
        shutil.rmtree(uri.parent, ignore_errors=True)
    return out


def warm_up(uri: Path, base: np.ndarray) -> None:
    """One tiny collection written and searched, so that the memory growth measured per size
    leaves out the libraries milvus-lite imports (gRPC, pyarrow...) the first time."""
    uri.parent.mkdir(parents=True)
    passages = synthetic_passages(100)
    milvus_store.write(str(uri), COLLECTION, passages, base[:100], bm25_words(100), k1=1.5,
                       b=0.75)
    store = milvus_store.open_search(str(uri), COLLECTION, passages, base[:100],
                                    folder=uri.parent)
    store.search(base[:1], scale.K, allowed=np.arange(10))
    store.close()
    milvus_store.release(str(uri))


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| passages | store: index | build s | build peak MB | open s | memory MB | disk MB | "
             "p50 ms | p95 ms | recall@10 | side filter p50 ms (recall) | document filter p50 "
             "ms (recall) |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        cells = [f"{r[key]:{spec}}" if key in r else "" for key, spec in (
            ("write_peak_mb", ".0f"), ("open_s", ".1f"), ("memory_mb", ".0f"), ("disk_mb", ".0f"))]
        lines.append(
            f"| {r['size']:,} | {r['store']}: {r['index']} | {r['build_s']:.1f} | "
            f"{' | '.join(cells)} | {r['p50_ms']:.2f} | {r['p95_ms']:.2f} | "
            f"{r['recall_at_10']:.3f} | {r['side_p50_ms']:.2f} ({r['side_recall']:.3f}) | "
            f"{r['document_p50_ms']:.2f} ({r['document_recall']:.3f}) |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(scale.SIZES))
    parser.add_argument("--threads", type=int, default=1, help="FAISS and BLAS threads")
    parser.add_argument("--ann", choices=sorted(ANN_BUILD), default=None,
                        help="also measure milvus-lite's own ANN index")
    parser.add_argument("--knobs", type=int, nargs="+", default=[64, 128],
                        help="HNSW ef (or IVF_FLAT nprobe) values to search at")
    parser.add_argument("--scratch", type=Path, default=None, help="where milvus-lite writes")
    parser.add_argument("--queries", type=int, default=None,
                        help="measure only the first N dev claims (every row of the run)")
    parser.add_argument("--footprint", type=Path, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.footprint:
        footprint_child(*args.footprint)
        return
    import faiss

    faiss.omp_set_num_threads(args.threads)
    scratch = Path(tempfile.mkdtemp(prefix="askcorpus-scale-milvus-", dir=args.scratch))
    try:
        with threadpool_limits(limits=args.threads):
            rows = series(args.sizes, ann_kind=args.ann, knobs=args.knobs, scratch=scratch,
                          queries_max=args.queries)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(markdown(rows))


if __name__ == "__main__":
    main()
