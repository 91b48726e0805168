"""Milvus as the passage store: vectors, passage metadata and BM25 words in one collection.

One collection per index generation holds, per passage row: the unit vector (a FLAT index
with inner product, so a search is exact and answers like FAISS's flat scan), the passage's
metadata as scalar fields (``doc_id``, ``perspective``, ``speaker``, ``kind``, ``start``,
``end``) so per-side and per-document filters run inside Milvus, and the passage's BM25 words
(askcorpus's own stems and exact words, lexical.py) behind a Milvus BM25 function, so Milvus'
full-text search ranks with the same tokens as the local bm25s index.

The store is embedded (milvus-lite: a ``milvus.db`` folder inside the generation) or a Milvus
server (``http://host:19530``). pymilvus is imported only here, only when a store asks for it.
milvus-lite rewrites its own index files when it loads a collection, so its folder is not
checksummed with the other artifacts: opening checks the row count and sample vectors instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus.errors import CorruptIndexError, IndexFolderError
from askcorpus.types import Passage

EMBEDDED = "milvus.db"  # milvus-lite's data folder inside a generation
# Milvus caps a VARCHAR at 65,535 bytes; a longer passage keeps its first words for BM25.
MAX_VARCHAR = 65_535
INSERT_BATCH = 2_000
CONNECT_TIMEOUT_S = 10.0
SAMPLE_ROWS = 3  # rows whose vectors are compared with the local copy on open
# pymilvus pings its server every 10 s; milvus-lite's in-process gRPC server keeps grpcio's
# ping policy and, within minutes, answers them with GOAWAY ("too_many_pings"), which cuts a
# long call (an index build or a load at a million rows) for pymilvus to retry: the retried
# create_index failed with "index already exists" (benchmarks/scale_milvus.py at 1M rows). A
# peer in the same process cannot vanish unnoticed, so the embedded store's client never pings.
EMBEDDED_GRPC = {"grpc.keepalive_time_ms": 2**31 - 1,
                 "grpc.keepalive_permit_without_calls": False}
SCALARS = ("doc_id", "perspective", "speaker", "kind")
# Milvus' analyzer for Latin text (milvus-lite has no other) keeps \w+ runs, lower-cased: the
# exact-word mark "=" of lexical.py would vanish and merge exact words into stems. "ſ" (long s)
# is a word character that NFKC case folding never leaves in a text (it folds to "s"), so a
# marked word can never collide with a stem; alone, it stands for an empty passage's "∅".
EXACT_MARK = "\u017f"


def analyzer_words(tokens: Sequence[str]) -> str:
    """lexical.py's BM25 tokens as text that Milvus' standard analyzer splits back into them."""
    return " ".join(EXACT_MARK + t[1:] if t.startswith("=") else EXACT_MARK if t == "\u2205"
                    else t for t in tokens)


def is_server(uri: str) -> bool:
    """A Milvus server address, as opposed to a milvus-lite ``.db`` path."""
    return uri.startswith(("http://", "https://", "tcp://", "grpc://"))


def connect(uri: str) -> Any:
    """A pymilvus client for ``uri``, or one sentence saying what to install or start."""
    pymilvus = connect_module(embedded=not is_server(uri))
    options = {} if is_server(uri) else {"grpc_options": EMBEDDED_GRPC}
    try:
        return pymilvus.MilvusClient(uri=uri, timeout=CONNECT_TIMEOUT_S, **options)
    except Exception as exc:  # pymilvus raises MilvusException, gRPC errors or OSError
        raise IndexFolderError(f"Cannot reach Milvus at {uri} ({type(exc).__name__}); start "
                               "the server or pass --milvus-uri (milvus_uri) a reachable "
                               "one.") from exc


def check(uri: str | None) -> None:
    """Fail now, in one sentence, when the store cannot be used (not installed, unreachable)."""
    client = connect(uri) if uri is not None and is_server(uri) else None
    if client is None:
        connect_module(embedded=True)
    else:
        client.close()


def connect_module(*, embedded: bool = False) -> Any:
    """The pymilvus module (and milvus-lite for an embedded store), or how to install them."""
    try:
        import pymilvus

        if embedded:
            import milvus_lite  # noqa: F401  (pymilvus starts it for a .db path)
    except ImportError as exc:
        raise IndexFolderError("The Milvus store needs pymilvus and milvus-lite; install them "
                               "with `pip install 'askcorpus[scale]'`.") from exc
    return pymilvus


def release(uri: str) -> None:
    """Stop milvus-lite's in-process server for an embedded ``uri`` (before its folder moves)."""
    if is_server(uri):
        return
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(uri)


def write(uri: str, collection: str, passages: Sequence[Passage], vectors: np.ndarray,
          words: Sequence[str], *, k1: float, b: float) -> None:
    """Create ``collection`` at ``uri`` (replacing one of that name) and insert every row."""
    client = connect(uri)
    try:
        if client.has_collection(collection):
            client.drop_collection(collection)
        client.create_collection(collection, schema=_schema(client, vectors.shape[1]),
                                 index_params=_index_params(client, k1=k1, b=b))
        for start in range(0, len(passages), INSERT_BATCH):
            stop = min(start + INSERT_BATCH, len(passages))
            client.insert(collection, [_row(i, passages[i], vectors[i], words[i])
                                       for i in range(start, stop)])
        client.flush(collection)
    finally:
        client.close()
        release(uri)


def _schema(client: Any, dim: int) -> Any:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    for name in SCALARS:
        schema.add_field(name, DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("start", DataType.INT64)
    schema.add_field("end", DataType.INT64)
    # askcorpus's own BM25 tokens (analyzer_words), so Milvus ranks with the same vocabulary.
    schema.add_field("words", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["words"], output_field_names=["sparse"]))
    return schema


def _index_params(client: Any, *, k1: float, b: float) -> Any:
    params = client.prepare_index_params()
    # FLAT: an exact scan, so Milvus returns FAISS's flat top-k (same answers, not approximate).
    params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                     params={"bm25_k1": k1, "bm25_b": b})
    return params


def _row(row: int, passage: Passage, vector: np.ndarray, words: str) -> dict[str, Any]:
    return {"row": row, "vector": np.asarray(vector, dtype=np.float32),
            "doc_id": passage.doc_id, "perspective": passage.perspective,
            "speaker": passage.speaker or "", "kind": passage.kind,
            "start": passage.start, "end": passage.end, "words": _fit(words)}


def _fit(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= MAX_VARCHAR:
        return text
    return data[:MAX_VARCHAR].decode("utf-8", errors="ignore").rsplit(" ", 1)[0]


def where(*, perspectives: Sequence[str] = (), documents: Sequence[str] = (),
          speakers: Sequence[str] = (), kinds: Sequence[str] = ()) -> str:
    """A Milvus boolean expression over the scalar fields; empty arguments do not filter.

    Example: ``where(perspectives=["azerbaijani"], kinds=["body", "quote"])`` is
    ``perspective in ["azerbaijani"] and kind in ["body", "quote"]``.
    """
    clauses = [f"{field} in {json.dumps(sorted(set(values)), ensure_ascii=False)}"
               for field, values in (("perspective", perspectives), ("doc_id", documents),
                                     ("speaker", speakers), ("kind", kinds)) if values]
    return " and ".join(clauses)


@dataclass(frozen=True)
class Column:
    """One scalar field of every row as integer codes into its distinct values, so that the
    values a row mask holds are one ``bincount``, not a Python set over every row."""

    values: tuple[str, ...]
    codes: np.ndarray  # row -> index into values

    @classmethod
    def of(cls, column: Sequence[str]) -> Column:
        index: dict[str, int] = {}
        codes = np.fromiter((index.setdefault(v, len(index)) for v in column), dtype=np.int64,
                            count=len(column))
        return cls(tuple(index), codes)

    def present(self, mask: np.ndarray) -> np.ndarray:
        """Per value, whether a row of ``mask`` holds it."""
        return np.bincount(self.codes[mask], minlength=len(self.values)) > 0


def clauses_for(columns: dict[str, Column], mask: np.ndarray) -> dict[str, list[str]] | None:
    """The fewest field clauses whose conjunction selects exactly ``mask``'s rows, or None.

    Each step adds the clause that leaves the fewest rows (on a tie, the one of fewer values),
    so a side's searchable rows are ``perspective`` and ``kind``, never also the list of the
    side's documents, which narrows nothing further and at 1M rows is tens of thousands of ids
    that Milvus would parse and match at every query.
    """
    options = {name: (present, present[column.codes]) for name, column in columns.items()
               if not (present := column.present(mask)).all()}
    covered, target, chosen = np.ones(len(mask), dtype=bool), int(mask.sum()), {}
    while options and int(covered.sum()) > target:  # covered always holds every mask row
        name = min(options, key=lambda n: (int((covered & options[n][1]).sum()),
                                           int(options[n][0].sum())))
        present, selects = options.pop(name)
        covered &= selects
        chosen[name] = [v for v, keep in zip(columns[name].values, present, strict=True)
                        if keep]
    return chosen if int(covered.sum()) == target else None


class MilvusSearch:
    """``VectorSearch`` (dense.py) served by a Milvus collection, plus filtered and BM25 search.

    A row mask from retrieval (the searchable rows of some sides and documents) becomes a
    filter on the scalar fields when one describes it exactly, and a list of rows otherwise.
    """

    def __init__(self, client: Any, collection: str, passages: Sequence[Passage]) -> None:
        self._client = client
        self._collection = collection
        self._columns = {"perspective": Column.of([p.perspective for p in passages]),
                         "doc_id": Column.of([p.doc_id for p in passages]),
                         "kind": Column.of([p.kind for p in passages])}
        self.size = len(passages)

    def search(self, query_vectors: np.ndarray, k: int, *, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        expression = "" if allowed is None else self.filter_for(np.asarray(allowed))
        return self.search_where(query_vectors, k, expression)

    def search_where(self, query_vectors: np.ndarray, k: int, expression: str = ""
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top ``k`` by inner product among the rows matching ``expression`` (``where``)."""
        queries = np.ascontiguousarray(query_vectors, dtype=np.float32).reshape(
            len(query_vectors) if np.ndim(query_vectors) == 2 else 1, -1)
        k = max(1, min(k, self.size))
        hits = self._client.search(self._collection, data=list(queries), anns_field="vector",
                                   limit=k, filter=expression, output_fields=["row"],
                                   search_params={"metric_type": "IP"})
        return _padded(hits, k)

    def text_search(self, tokens: Sequence[str], k: int, expression: str = ""
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Milvus' BM25 full-text search for one query's BM25 ``tokens`` (lexical.py)."""
        k = max(1, min(k, self.size))
        hits = self._client.search(self._collection, data=[analyzer_words(tokens)],
                                   anns_field="sparse", limit=k, filter=expression,
                                   output_fields=["row"], search_params={"metric_type": "BM25"})
        scores, ids = _padded(hits, k)
        # milvus-lite reports BM25 as a distance (negated score); a server as the score.
        return np.where(ids >= 0, np.abs(scores), scores), ids

    def count(self) -> int:
        rows = self._client.query(self._collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def vectors_of(self, rows: Sequence[int]) -> np.ndarray:
        """The stored vectors of ``rows``, in that order."""
        found = self._client.get(self._collection, ids=[int(r) for r in rows],
                                 output_fields=["vector"])
        by_row = {int(hit["row"]): np.asarray(hit["vector"], dtype=np.float32) for hit in found}
        return np.stack([by_row[int(r)] for r in rows])

    def close(self) -> None:
        self._client.close()

    def filter_for(self, rows: np.ndarray) -> str:
        """The Milvus expression that selects exactly ``rows`` (ids or a boolean mask)."""
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        mask = np.zeros(self.size, dtype=bool)
        mask[rows[(rows >= 0) & (rows < self.size)]] = True
        clauses = clauses_for(self._columns, mask) if mask.any() else None
        if clauses is not None:
            return where(perspectives=clauses.get("perspective", ()),
                         documents=clauses.get("doc_id", ()), kinds=clauses.get("kind", ()))
        return f"row in {np.flatnonzero(mask).tolist()}"  # an empty list selects nothing


def _padded(hits: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """pymilvus hits as FAISS-shaped (scores, ids), padded with -inf / -1."""
    scores = np.full((len(hits), k), -np.inf, dtype=np.float32)
    ids = np.full((len(hits), k), -1, dtype=np.int64)
    for q, found in enumerate(hits):
        for j, hit in enumerate(list(found)[:k]):
            ids[q, j] = int(hit["row"])
            scores[q, j] = float(hit["distance"])
    return scores, ids


def open_search(uri: str, collection: str, passages: Sequence[Passage], vectors: np.ndarray,
                *, folder: Path) -> MilvusSearch:
    """Connect to the generation's collection and check it holds the generation's rows."""
    fix = f"rebuild it with `askcorpus build --index {folder.parent} --store milvus`"
    if not is_server(uri) and not Path(uri).is_dir():  # else milvus-lite would create it empty
        raise CorruptIndexError(f"{uri} is missing; {fix}.")
    client = connect(uri)
    if not client.has_collection(collection):
        client.close()
        raise CorruptIndexError(f"Milvus at {uri} has no collection {collection} for {folder}; "
                                f"{fix}.")
    client.load_collection(collection)
    store = MilvusSearch(client, collection, passages)
    problem = _mismatch(store, vectors)
    if problem is not None:
        store.close()
        raise CorruptIndexError(f"The Milvus collection {collection} of {folder} {problem}; "
                                f"{fix}.")
    return store


def _mismatch(store: MilvusSearch, vectors: np.ndarray) -> str | None:
    if (count := store.count()) != len(vectors):
        return f"holds {count} rows, the index {len(vectors)}"
    if len(vectors) == 0:
        return None
    rows = sorted({0, len(vectors) // 2, len(vectors) - 1})[:SAMPLE_ROWS]
    cosines = np.sum(store.vectors_of(rows) * vectors[rows], axis=1)
    if np.any(cosines < 0.999):
        return "holds other vectors than the index"
    return None
