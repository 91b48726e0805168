"""Nearest-neighbour index by size: an exact FAISS scan while it is cheap, HNSW beyond.

An exact inner-product scan (``IndexFlatIP``) costs one pass over all vectors per query:
about 1 ms per 10k vectors of dimension 384 on one core, so it stays below the cost of encoding
the query (a few ms with ONNX) up to ``FLAT_MAX`` vectors, and is then the right index: exact,
instant to build, appendable. Past that size the scan dominates a query and grows linearly,
so askcorpus switches to HNSW (Malkov & Yashunin, *Efficient and robust approximate nearest
neighbor search using Hierarchical Navigable Small World graphs*, TPAMI 2018), whose search
cost grows about logarithmically. Its ``efSearch`` (the size of the candidate list kept while
walking the graph) is the recall/latency knob; ``tune_ef_search`` picks the smallest value that
holds recall@10 ≥ ``TARGET_RECALL`` against the exact scan on sample queries, and the build
records it with the other parameters (``AnnParams.to_dict``) for the manifest.

Vectors are unit length, so inner product is cosine and the scores are comparable across
index types.

Example::

    index, params = build_ann(vectors, queries=sample_query_vectors)
    manifest["ann"] = params.to_dict()
    scores, ids = search(index, params, query_vectors, k=10)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from askcorpus.errors import AskcorpusError

# Measured with benchmarks/scale.py on 2 cores, one FAISS thread (BENCHMARKS.md): an exact scan
# takes 0.6 ms at 10k, 3.4 ms at 50k, 10.6 ms at 100k, 24 ms at 200k; an ONNX query encode 4-6 ms.
FLAT_MAX = 50_000
# Graph degree. At 100k, M=16 builds in 10 s (M=32: 25 s) and reaches recall@10 0.98 at
# efSearch 64 (M=32: 0.99); HNSW's build must stay small next to encoding the passages
# (~500/s), so the cheaper graph wins and efSearch buys the recall back.
HNSW_M = 16
EF_CONSTRUCTION = 40  # FAISS's default
# Past this size the M=16 graph plateaus below the target: at 1M (synthetic Perspectrum set,
# benchmarks/scale.py) it reached recall@10 0.935 even at efSearch 2048, while M=32 with
# efConstruction 100 reaches 0.979 at efSearch 128 (p50 0.44 ms, 1 thread; build 398 s on 2
# threads vs ~200 s). Between 100k (M=16 holds 0.987) and 1M the switch point is not measured:
# it is placed low, since recall is the target and build time only a cost.
DENSE_GRAPH_MIN = 250_000
DENSE_HNSW_M = 32
DENSE_EF_CONSTRUCTION = 100
EF_SEARCH_CHOICES = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
DEFAULT_EF_SEARCH = 64  # used when no sample queries are given to tune on
TARGET_RECALL = 0.95
# Tuning queries are not the queries users ask: tune to a little above the target.
TUNE_MARGIN = 0.01
# With a filter that keeps at most this many rows, search them exactly instead of the graph:
# a graph walk under a selective filter loses recall, and a scan of a few thousand rows is cheap.
EXACT_FILTER_MAX = 20_000


@dataclass(frozen=True)
class AnnParams:
    """How a vector index was built and is searched; what the manifest records.

    Attributes:
        kind: ``flat`` (exact inner product) or ``hnsw``.
        size: number of vectors.
        dim: vector dimension.
        m: HNSW graph degree (0 for flat).
        ef_construction: HNSW build-time candidate list (0 for flat).
        ef_search: HNSW query-time candidate list (0 for flat).
        recall_at_10: recall@10 against the exact scan measured when tuning (1.0 for flat;
            ``None`` when not measured).
    """

    kind: str
    size: int
    dim: int
    m: int = 0
    ef_construction: int = 0
    ef_search: int = 0
    recall_at_10: float | None = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnnParams:
        known = {f: data[f] for f in cls.__dataclass_fields__ if f in data}
        params = cls(**known)
        if params.kind not in ("flat", "hnsw"):
            raise AskcorpusError(f"Unknown vector index kind {params.kind!r} in the manifest; "
                                 "rebuild the index with this askcorpus.")
        return params


def choose_params(size: int, dim: int, *, flat_max: int = FLAT_MAX) -> AnnParams:
    """The index type for ``size`` vectors: exact up to ``flat_max``, HNSW above it (a denser
    graph above ``DENSE_GRAPH_MIN``)."""
    if size <= flat_max:
        return AnnParams("flat", size, dim)
    dense = size > DENSE_GRAPH_MIN
    return AnnParams("hnsw", size, dim, m=DENSE_HNSW_M if dense else HNSW_M,
                     ef_construction=DENSE_EF_CONSTRUCTION if dense else EF_CONSTRUCTION,
                     ef_search=DEFAULT_EF_SEARCH, recall_at_10=None)


def build_ann(vectors: np.ndarray, *, queries: np.ndarray | None = None,
              params: AnnParams | None = None, flat_max: int = FLAT_MAX,
              target_recall: float = TARGET_RECALL) -> tuple[Any, AnnParams]:
    """Build the FAISS index for unit ``vectors``; return it with the parameters to record.

    Args:
        vectors: (n, dim) float32, unit rows; row i gets id i.
        queries: sample query vectors (a few hundred real questions, or passages held out)
            used to tune HNSW's ``efSearch``; without them ``DEFAULT_EF_SEARCH`` is used.
        params: force an index type (e.g. from an older manifest); else ``choose_params``.
        flat_max: the largest size searched exactly.
        target_recall: recall@10 against exact that the tuned ``efSearch`` must hold.
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise AskcorpusError(f"Vectors must be a 2-D array, got shape {vectors.shape}.")
    size, dim = vectors.shape
    params = params or choose_params(size, dim, flat_max=flat_max)
    params = replace(params, size=size, dim=dim)
    if params.kind == "flat":
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index, replace(params, recall_at_10=1.0)
    index = faiss.IndexHNSWFlat(dim, params.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = params.ef_construction
    index.add(vectors)
    if queries is not None and len(queries):
        ef, recall = tune_ef_search(index, vectors, queries, target=target_recall)
        params = replace(params, ef_search=ef, recall_at_10=recall)
    index.hnsw.efSearch = params.ef_search
    return index, params


def apply_params(index: Any, params: AnnParams) -> None:
    """Set the query-time parameters recorded in the manifest on a loaded index."""
    if params.kind == "hnsw":
        index.hnsw.efSearch = params.ef_search


def search(index: Any, params: AnnParams, queries: np.ndarray, k: int, *,
           allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` (scores, ids) per query row, like ``faiss.Index.search``; ids -1 pad.

    With ``allowed`` (row ids), only those rows are searched: through FAISS's ID selector for a
    flat index, and exactly (a scan of the allowed rows) for HNSW when at most
    ``EXACT_FILTER_MAX`` rows are allowed, since a graph walk under a selective filter misses.
    """
    import faiss

    queries = np.ascontiguousarray(queries.reshape(-1, params.dim), dtype=np.float32)
    k = min(k, max(params.size, 1))
    if allowed is None:
        return index.search(queries, k)
    allowed = np.asarray(allowed, dtype=np.int64)
    if params.kind == "hnsw" and len(allowed) <= EXACT_FILTER_MAX:
        return _exact_subset(index, queries, allowed, k)
    # A bitmap is built in one vectorised pass and tested in O(1) per row.
    bitmap = np.zeros(params.size, dtype=bool)
    bitmap[allowed[(allowed >= 0) & (allowed < params.size)]] = True
    bits = np.packbits(bitmap, bitorder="little")
    selector = faiss.IDSelectorBitmap(params.size, faiss.swig_ptr(bits))
    if params.kind == "hnsw":
        search_params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(
            params.ef_search, 2 * k))
    else:
        search_params = faiss.SearchParameters(sel=selector)
    return index.search(queries, k, params=search_params)


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Ids of the exact top ``k`` by inner product (the ground truth for recall)."""
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return flat.search(np.ascontiguousarray(queries, dtype=np.float32), k)[1]


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """Mean over queries of |found top-k ∩ true top-k| / k (ann-benchmarks' recall@k)."""
    hits = [len(set(f[:k].tolist()) & set(t[:k].tolist())) / k
            for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) if hits else 1.0


def tune_ef_search(index: Any, vectors: np.ndarray, queries: np.ndarray, *, k: int = 10,
                   target: float = TARGET_RECALL,
                   choices: Sequence[int] = EF_SEARCH_CHOICES) -> tuple[int, float]:
    """The smallest ``efSearch`` in ``choices`` whose recall@k vs exact is ≥ ``target`` (plus
    ``TUNE_MARGIN``) on ``queries``.

    Returns (efSearch, its recall); if none reaches the target, the largest choice.
    """
    truth = exact_neighbours(vectors, queries, k)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    recall = 0.0
    for ef in choices:
        index.hnsw.efSearch = ef
        recall = recall_at_k(index.search(queries, k)[1], truth, k)
        if recall >= min(target + TUNE_MARGIN, 1.0):
            return int(ef), recall
    return int(choices[-1]), recall


def index_bytes(index: Any) -> int:
    """Bytes the index holds in memory (its FAISS serialisation, which mirrors the layout)."""
    import faiss

    return int(faiss.serialize_index(index).nbytes)


def _exact_subset(index: Any, queries: np.ndarray, allowed: np.ndarray,
                  k: int) -> tuple[np.ndarray, np.ndarray]:
    ids = np.unique(allowed[(allowed >= 0) & (allowed < index.ntotal)])
    scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    if len(ids) == 0:
        return scores, out
    sims = queries @ index.reconstruct_batch(ids).T
    take = min(k, len(ids))
    # Highest score first; ties by the lower row id, as FAISS's flat scan orders them.
    order = np.lexsort((np.broadcast_to(ids, sims.shape), -sims), axis=1)[:, :take]
    scores[:, :take] = np.take_along_axis(sims, order, axis=1)
    out[:, :take] = ids[order]
    return scores, out
