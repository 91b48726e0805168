"""Dense search: the passage vectors in one FAISS index (exact or HNSW by size, ann.py).

The FAISS index is the only local copy of the passage vectors, on disk and in memory: a
candidate that only BM25 found gets its cosine from the vector FAISS stores (a view, not a
copy). Who answers a top-k query is a ``VectorSearch``: FAISS by default, or another store
(Milvus, milvus_store.py) holding the same rows, so the rest of retrieval does not change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from askcorpus import ann
from askcorpus.ann import AnnParams
from askcorpus.errors import CorruptIndexError


class VectorSearch(Protocol):
    """The seam between retrieval and a vector store: top-k inner product over rows 0..n-1."""

    def search(self, query_vectors: np.ndarray, k: int, *, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (queries, k), best first, like ``faiss.Index.search``; ids -1
        pad. With ``allowed`` (row ids), only those rows are searched."""
        ...


class FaissSearch:
    """``VectorSearch`` over the generation's own FAISS index (exact or HNSW, ann.py)."""

    def __init__(self, index: Any, params: AnnParams) -> None:
        self._index = index
        self._params = params

    def search(self, query_vectors: np.ndarray, k: int, *, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        return ann.search(self._index, self._params, query_vectors, k, allowed=allowed)


class Dense:
    """A FAISS inner-product index over unit vectors (row i = passage i) and how to search it."""

    def __init__(self, index: Any, params: AnnParams, searcher: VectorSearch | None = None
                 ) -> None:
        self._index = index
        self.params = params
        self._vectors = _stored_vectors(index)
        self.searcher: VectorSearch = searcher or FaissSearch(index, params)

    def with_searcher(self, searcher: VectorSearch) -> Dense:
        """The same vectors with top-k queries answered by ``searcher`` (another store)."""
        return Dense(self._index, self.params, searcher)

    @classmethod
    def build(cls, vectors: np.ndarray, *, queries: np.ndarray | None = None,
              flat_max: int = ann.FLAT_MAX) -> Dense:
        """Index ``vectors``: exact up to ``flat_max`` rows, HNSW tuned on ``queries`` above."""
        import faiss

        faiss.omp_set_num_threads(1)  # FAISS's threads fight torch's for 2 cores (DESIGN.md)
        index, params = ann.build_ann(vectors, queries=queries, flat_max=flat_max)
        return cls(index, params)

    @classmethod
    def load(cls, path: Path, *, params: AnnParams,
             hint: str = "rebuild it with `askcorpus build`") -> Dense:
        """Read the index and apply the query-time parameters the manifest recorded."""
        import faiss

        faiss.omp_set_num_threads(1)  # FAISS's threads fight torch's for 2 cores (DESIGN.md)
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise CorruptIndexError(f"{path} cannot be read by FAISS; {hint}.") from exc
        kind = "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else \
            "flat" if isinstance(index, faiss.IndexFlatIP) else type(index).__name__
        if index.d != params.dim or index.ntotal != params.size or kind != params.kind:
            raise CorruptIndexError(f"{path} ({kind}) holds {index.ntotal} vectors of "
                                    f"dimension {index.d}, the manifest says {params.size} of "
                                    f"{params.dim} ({params.kind}); {hint}.")
        ann.apply_params(index, params)
        return cls(index, params)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def vectors(self) -> np.ndarray:
        """The stored (size, dim) float32 vectors: a read-only view into the FAISS index."""
        return self._vectors

    def cosines(self, rows: np.ndarray | list[int], query: np.ndarray) -> np.ndarray:
        """Inner product (cosine: unit vectors) of ``query`` with the vectors of ``rows``."""
        return self._vectors[np.asarray(rows, dtype=np.int64)] @ query

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    def to_bytes(self) -> bytes:
        """The index serialised as FAISS writes it to a file."""
        import faiss

        return faiss.serialize_index(self._index).tobytes()

    def top(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of the ``k`` best rows, limited to ``allowed`` (a boolean mask over
        the rows, or row ids) when given; padding (-1) dropped."""
        if k <= 0 or self.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if allowed is not None:
            allowed = np.asarray(allowed)
            if allowed.dtype == bool:
                allowed = np.flatnonzero(allowed)
            if len(allowed) == 0:
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            if len(allowed) == self.size:
                allowed = None
        scores, ids = self.searcher.search(query.reshape(1, -1), min(k, self.size),
                                           allowed=allowed)
        keep = (ids[0] >= 0) & np.isfinite(scores[0])
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> list[tuple[int, float]]:
        """Top ``k`` (row, score) by inner product, limited to ``allowed`` row ids when given.

        FAISS pads missing results with id -1; those are dropped, never used as an index.
        """
        rows, scores = self.top(query, k, allowed)
        return [(int(i), float(s)) for i, s in zip(rows, scores, strict=True)]


def _stored_vectors(index: Any) -> np.ndarray:
    """A zero-copy view of the vectors a flat or HNSW-flat index stores (it must outlive it)."""
    import faiss

    storage = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) \
        else index
    n, d = int(storage.ntotal), int(storage.d)
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    view = faiss.rev_swig_ptr(storage.get_xb(), n * d).reshape(n, d)
    view.flags.writeable = False
    return view
