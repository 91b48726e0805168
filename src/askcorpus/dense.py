"""Dense search: exact inner product over normalised vectors in FAISS."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from askcorpus.errors import CorruptIndexError


class Dense:
    """A flat inner-product FAISS index (row i = passage i)."""

    def __init__(self, index: object) -> None:
        self._index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> Dense:
        import faiss

        faiss.omp_set_num_threads(1)  # FAISS's threads fight torch's for 2 cores (DESIGN.md)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @classmethod
    def load(cls, path: Path, *, dim: int, size: int,
             hint: str = "rebuild it with `askcorpus build`") -> Dense:
        import faiss

        faiss.omp_set_num_threads(1)  # FAISS's threads fight torch's for 2 cores (DESIGN.md)
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise CorruptIndexError(f"{path} cannot be read by FAISS; {hint}.") from exc
        if index.d != dim or index.ntotal != size:
            raise CorruptIndexError(f"{path} holds {index.ntotal} vectors of dimension {index.d}, "
                                    f"the manifest says {size} of {dim}; {hint}.")
        return cls(index)

    @property
    def size(self) -> int:
        return int(self._index.ntotal)  # type: ignore[attr-defined]

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    def to_bytes(self) -> bytes:
        """The index serialised as FAISS writes it to a file."""
        import faiss

        return faiss.serialize_index(self._index).tobytes()

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> list[tuple[int, float]]:
        """Top ``k`` rows by inner product, limited to ``allowed`` row ids when given.

        FAISS pads missing results with id -1; those are dropped, never used as an index.
        """
        import faiss

        if k <= 0 or self.size == 0:
            return []
        params = None
        if allowed is not None:
            if len(allowed) == 0:
                return []
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(
                np.asarray(allowed, dtype=np.int64)))
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32),  # type: ignore
                                         min(k, self.size), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True)
                if i >= 0 and np.isfinite(s)]
