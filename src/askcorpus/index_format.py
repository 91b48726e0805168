"""Index format: the artifacts of one generation, its typed manifest, written and read back.

A generation folder (``storage.py`` owns the folders, ``CURRENT`` and the checksums) holds::

    documents.jsonl   one Document per line, with its full text
    passages.jsonl    one Passage per line (row i = vector i = BM25 row i)
    catalog.json      perspectives, contest parties, actors, example questions
    vectors.faiss     the normalised passage vectors: their only copy, in a FAISS index
                      (flat inner product or HNSW by size; the manifest's ``ann`` says which)
    sentence_*.npy    every passage's sentence spans and vectors (sentences.py)
    bm25/             the bm25s index (stems + exact words, see lexical.py)
    milvus.db/        with ``--store milvus`` and no server: the milvus-lite collection that
                      answers dense top-k queries (milvus_store.py; checked by rows, not SHA)
    manifest.json     what built it and every artifact's SHA-256 (written last)

Reading verifies counts, shapes and that every passage is the exact slice of its document, so
a hand-edited or truncated artifact is reported as corrupt, never answered from.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus import milvus_store, storage
from askcorpus.ann import AnnParams
from askcorpus.bulk import deferred_full_gc, jsonl_bytes
from askcorpus.catalog import Catalog
from askcorpus.corpus import Corpus, CorpusFile
from askcorpus.dense import Dense
from askcorpus.errors import CorruptIndexError, IndexFolderError, StaleIndexError
from askcorpus.hashing import sha256_bytes
from askcorpus.lexical import TOKENIZER, Lexical, index_tokens
from askcorpus.sentences import SentenceTable
from askcorpus.settings import Settings
from askcorpus.types import Actor, Document, Passage, Perspective

DOCUMENTS = "documents.jsonl"
PASSAGES = "passages.jsonl"
CATALOG = "catalog.json"
OLD_VECTORS = "vectors.npy"  # written by askcorpus < 0.x: an index with it is stale
FAISS = "vectors.faiss"
SENTENCE_OFFSETS = "sentence_offsets.npy"
SENTENCE_SPANS = "sentence_spans.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"
BM25 = "bm25"


@dataclass(frozen=True)
class ModelInfo:
    """The model that made the vectors."""

    name: str
    revision: str | None
    dim: int
    normalized: bool = True


@dataclass(frozen=True)
class Bm25Info:
    """How the lexical index was built; ``k1`` and ``b`` are the values it was built with."""

    k1: float
    b: float
    method: str
    library: str
    tokenizer: str


@dataclass(frozen=True)
class StoreInfo:
    """Which store answers dense top-k queries: the generation's FAISS index, or Milvus.

    ``uri`` is a Milvus server's address or a milvus-lite folder (``.db``), or ``None`` for
    milvus-lite inside the generation folder; ``collection`` names the generation's collection.
    """

    kind: str = "faiss"
    uri: str | None = None
    collection: str | None = None

    @classmethod
    def for_build(cls, kind: str, uri: str | None, staging: Path) -> StoreInfo:
        """The store a new generation (built in ``staging``) is written to."""
        if kind not in STORES:
            raise IndexFolderError(f"Unknown store {kind!r}; use one of {', '.join(STORES)} "
                                   "(CLI: --store).")
        if kind == "faiss":
            if uri is not None:
                raise IndexFolderError("A Milvus URI needs the Milvus store; add --store milvus "
                                       "(store='milvus') or drop --milvus-uri.")
            return cls()
        if uri is None:  # milvus-lite inside the generation folder
            return cls(kind, None, "passages")
        # A server, or a milvus-lite folder of the user's: one collection per generation, so a
        # new build never touches the collection being served.
        where = uri if milvus_store.is_server(uri) else str(Path(uri).resolve())
        return cls(kind, where, "askcorpus_" + staging.name.replace("-", "_"))

    def uri_in(self, folder: Path) -> str:
        """Where the store lives for the generation in ``folder``."""
        return self.uri if self.uri is not None else str(folder / milvus_store.EMBEDDED)


STORES = ("faiss", "milvus")


def recorded_store(index_dir: Path) -> tuple[str, str | None]:
    """The store (kind, URI) the current generation of ``index_dir`` was built with, so that a
    rebuild keeps it; FAISS when there is none or its manifest cannot be read."""
    try:
        folder = storage.current_generation(index_dir)
        store = json.loads((folder / storage.MANIFEST).read_text("utf-8")).get("store", {})
        return str(store.get("kind", "faiss")), store.get("uri")
    except (OSError, ValueError, AttributeError, IndexFolderError):
        return "faiss", None


@dataclass(frozen=True)
class CorpusInfo:
    """The corpus folder and the fingerprint of every file read from it."""

    root: str
    files: tuple[CorpusFile, ...]
    empty: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Counts:
    documents: int
    passages: int
    searchable: int


@dataclass(frozen=True)
class Manifest:
    """What built a generation, read from ``manifest.json`` into typed fields."""

    askcorpus_version: str
    model: ModelInfo
    chunking: dict[str, int]
    bm25: Bm25Info
    corpus: CorpusInfo
    counts: Counts
    build_seconds: float
    built_at: str
    ann: AnnParams
    store: StoreInfo = StoreInfo()
    engine: str = "local"  # what split and embedded the passages: "local" or "ray"

    def to_dict(self) -> dict[str, Any]:
        """The JSON body (storage adds ``format_version`` and the artifact checksums)."""
        corpus = asdict(self.corpus)
        corpus["files"] = [asdict(f) for f in self.corpus.files]
        corpus["empty"], corpus["warnings"] = list(self.corpus.empty), list(self.corpus.warnings)
        return {"askcorpus_version": self.askcorpus_version, "model": asdict(self.model),
                "chunking": dict(self.chunking), "bm25": asdict(self.bm25), "corpus": corpus,
                "counts": asdict(self.counts), "ann": self.ann.to_dict(),
                "store": asdict(self.store),
                "build": {"seconds": self.build_seconds, "built_at": self.built_at,
                          "engine": self.engine}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        corpus = data["corpus"]
        return cls(
            askcorpus_version=str(data["askcorpus_version"]),
            model=ModelInfo(**data["model"]),
            chunking={k: int(v) for k, v in data["chunking"].items()},
            bm25=Bm25Info(**data["bm25"]),
            corpus=CorpusInfo(str(corpus["root"]),
                              tuple(CorpusFile(**f) for f in corpus["files"]),
                              tuple(corpus.get("empty", ())), tuple(corpus.get("warnings", ()))),
            counts=Counts(**data["counts"]),
            build_seconds=float(data["build"]["seconds"]),
            built_at=str(data["build"]["built_at"]),
            ann=AnnParams.from_dict(data["ann"]),
            store=StoreInfo(**data.get("store", {})),  # older indexes: FAISS
            engine=str(data["build"].get("engine", "local")))


@dataclass(frozen=True)
class CatalogView:
    """The catalog as stored in an index: what answers need to label sides and speakers."""

    perspectives: tuple[Perspective, ...]
    contest_parties: tuple[str, ...]
    actors: tuple[Actor, ...]
    examples: tuple[str, ...]

    @classmethod
    def of(cls, catalog: Catalog) -> CatalogView:
        return cls(tuple(catalog.perspective_map().values()), tuple(catalog.contest_parties),
                   tuple(catalog.actors), tuple(catalog.examples))

    def to_dict(self) -> dict[str, Any]:
        return {"perspectives": [asdict(p) for p in self.perspectives],
                "contest_parties": list(self.contest_parties),
                "actors": [{**asdict(a), "aliases": list(a.aliases)} for a in self.actors],
                "examples": list(self.examples)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CatalogView:
        return cls(tuple(Perspective(**p) for p in data["perspectives"]),
                   tuple(data["contest_parties"]),
                   tuple(Actor(**{**a, "aliases": tuple(a["aliases"])}) for a in data["actors"]),
                   tuple(data.get("examples", ())))


@dataclass(frozen=True)
class Generation:
    """One verified generation, loaded: immutable, swapped whole when a newer one appears."""

    name: str
    manifest: Manifest
    documents: tuple[Document, ...]
    passages: tuple[Passage, ...]
    catalog: CatalogView
    dense: Dense
    lexical: Lexical
    sentences: SentenceTable

    @property
    def vectors(self) -> np.ndarray:
        """The passage vectors, read from the FAISS index (a view, not a copy)."""
        return self.dense.vectors


def make_manifest(corpus: Corpus, passages: list[Passage], model: ModelInfo,
                  settings: Settings, seconds: float, version: str, ann: AnnParams, *,
                  store: StoreInfo = StoreInfo(), engine: str = "local") -> Manifest:
    return Manifest(
        askcorpus_version=version, model=model,
        chunking={"min_words": settings.min_words, "max_words": settings.max_words},
        bm25=Bm25Info(settings.bm25_k1, settings.bm25_b, "lucene", "bm25s", TOKENIZER),
        corpus=CorpusInfo(str(corpus.root.resolve()), tuple(corpus.files), tuple(corpus.empty),
                          tuple(corpus.warnings)),
        counts=Counts(len(corpus.documents), len(passages),
                      sum(p.kind != "footnote" for p in passages)),
        build_seconds=round(seconds, 3),
        built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), ann=ann, store=store,
        engine=engine)


@deferred_full_gc()
def write_generation(staging: Path, corpus: Corpus, passages: list[Passage],
                     dense: Dense, lexical: Lexical, sentences: SentenceTable,
                     manifest: Manifest, lexical_texts: list[str] | None = None) -> Records:
    """Write every artifact into ``staging``, the manifest last (through ``storage``); returns
    the records written, which ``lent`` can offer to the reader of this generation.

    With a Milvus store, ``lexical_texts`` (what BM25 indexed, row by row) give its words.
    """
    rows = {DOCUMENTS: jsonl_bytes(corpus.documents), PASSAGES: jsonl_bytes(passages)}
    for name, data in rows.items():
        storage.write_bytes(staging / name, data)
    storage.write_bytes(staging / CATALOG, json.dumps(
        CatalogView.of(corpus.catalog).to_dict(), ensure_ascii=False, sort_keys=True).encode())
    for name, array in ((SENTENCE_OFFSETS, sentences.offsets),
                        (SENTENCE_SPANS, sentences.spans), (SENTENCE_VECTORS, sentences.vectors)):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        storage.write_bytes(staging / name, buffer.getvalue())
    storage.write_bytes(staging / FAISS, dense.to_bytes())
    (staging / BM25).mkdir()
    with tempfile.TemporaryDirectory() as scratch:
        lexical.save(Path(scratch))
        for path in sorted(Path(scratch).iterdir()):
            storage.write_bytes(staging / BM25 / path.name, path.read_bytes())
    records = Records(tuple(corpus.documents), tuple(passages),
                      (sha256_bytes(rows[DOCUMENTS]), sha256_bytes(rows[PASSAGES])))
    store = manifest.store
    if store.kind != "milvus":
        storage.write_manifest(staging, manifest.to_dict())
        return records
    texts = lexical_texts if lexical_texts is not None else [p.text for p in passages]
    milvus_store.write(store.uri_in(staging), str(store.collection), passages, dense.vectors,
                       [milvus_store.analyzer_words(index_tokens(t)) for t in texts],
                       k1=manifest.bm25.k1, b=manifest.bm25.b)
    storage.write_manifest(staging, manifest.to_dict(), unchecked=milvus_store.EMBEDDED)
    return records


@dataclass(frozen=True)
class Records:
    """The documents and passages a build wrote, and the SHA-256 of the two files holding them."""

    documents: tuple[Document, ...]
    passages: tuple[Passage, ...]
    digests: tuple[str, str]  # documents.jsonl, passages.jsonl


_lent: dict[tuple[str, str], Records] = {}
_lent_lock = threading.Lock()


@contextlib.contextmanager
def lent(records: Records) -> Iterator[None]:
    """While the block runs, a generation whose documents.jsonl and passages.jsonl have
    ``records``' checksums is read with these records instead of parsing the two files again.

    The build that wrote them opens the new index inside such a block (api.build): its
    checksums are verified as for any read, and the files are exactly the bytes serialised from
    these records, so parsing them back would only make equal copies (a fifth of a 10,000-
    document incremental rebuild). Outside the block every read parses: the next build, or
    another process, reads its previous generation from disk.
    """
    with _lent_lock:
        _lent[records.digests] = records
    try:
        yield
    finally:
        with _lent_lock:
            _lent.pop(records.digests, None)


@deferred_full_gc()
def read_generation(index_dir: Path) -> Generation:
    """The generation ``CURRENT`` names, verified artifact by artifact."""
    folder = storage.current_generation(index_dir)
    raw = storage.read_manifest(folder)
    hint = storage.rebuild_hint(index_dir)
    if raw.get("bm25", {}).get("tokenizer") != TOKENIZER \
            or SENTENCE_VECTORS not in raw.get("artifacts", {}):
        raise StaleIndexError(f"{index_dir} was built by an askcorpus that made its search "
                              f"words differently; {hint}.")
    if OLD_VECTORS in raw["artifacts"] or "ann" not in raw:
        raise StaleIndexError(f"{index_dir} was built by an older askcorpus (vectors stored "
                              f"twice, no vector index parameters); {hint}.")
    try:
        manifest = Manifest.from_dict(raw)
        documents, passages = _records(folder, raw["artifacts"], hint)
        catalog = CatalogView.from_dict(json.loads((folder / CATALOG).read_text("utf-8")))
    except (KeyError, TypeError, ValueError) as exc:
        # Checksums match but the content is not what this version writes (hand-edited).
        raise CorruptIndexError(f"{folder} is not a valid askcorpus index "
                                f"({type(exc).__name__}: {str(exc)[:80]}); {hint}.") from exc
    _verify_passages(folder, manifest, documents, passages, hint)
    dim, size = manifest.model.dim, len(passages)
    dense = Dense.load(folder / FAISS, params=replace(manifest.ann, size=size, dim=dim),
                       hint=hint)
    offsets, spans, sentence_vectors = (
        _load_array(folder / name, hint)
        for name in (SENTENCE_OFFSETS, SENTENCE_SPANS, SENTENCE_VECTORS))
    sentences = SentenceTable(offsets, spans, sentence_vectors)
    if (problem := sentences.check(size, dim)) is not None:
        raise CorruptIndexError(f"{folder}: {problem}; {hint}.")
    lexical = Lexical.load(folder / BM25, size)
    if manifest.store.kind == "milvus":
        dense = dense.with_searcher(milvus_store.open_search(
            manifest.store.uri_in(folder), str(manifest.store.collection), passages,
            dense.vectors, folder=folder))
    return Generation(folder.name, manifest, documents, passages, catalog, dense, lexical,
                      sentences)


def _records(folder: Path, artifacts: dict[str, Any], hint: str
             ) -> tuple[tuple[Document, ...], tuple[Passage, ...]]:
    """The generation's documents and passages: the ones ``lent`` offers for these checksums
    (already verified against the files), else parsed from the files."""
    digests = tuple(artifacts.get(name, {}).get("sha256") for name in (DOCUMENTS, PASSAGES))
    with _lent_lock:
        known = _lent.get(digests)  # a missing checksum (None) never matches
    if known is not None:
        return known.documents, known.passages
    return (tuple(Document(**row) for row in _read_jsonl(folder / DOCUMENTS, hint)),
            tuple(Passage.from_dict(row) for row in _read_jsonl(folder / PASSAGES, hint)))


def _load_array(path: Path, hint: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise CorruptIndexError(f"{path} cannot be read; {hint}.") from exc


def _read_jsonl(path: Path, hint: str) -> list[dict[str, Any]]:
    """Every line's object, parsed as one JSON array (a third faster than line by line); a
    file that does not parse so is read again line by line to name the bad line."""
    # Not splitlines(): JSON keeps U+2028 and other line separators raw inside strings.
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    try:
        rows = json.loads("[" + ",".join(lines) + "]")
    except json.JSONDecodeError:
        rows = None
    if isinstance(rows, list) and len(rows) == len(lines):
        return rows
    for number, line in enumerate(lines, start=1):
        try:
            json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorruptIndexError(f"{path} line {number} is not valid JSON; {hint}.") \
                from exc
    raise CorruptIndexError(f"{path} holds more JSON values than lines; {hint}.")


def _verify_passages(folder: Path, manifest: Manifest, documents: tuple[Document, ...],
                     passages: tuple[Passage, ...], hint: str) -> None:
    if len(passages) != manifest.counts.passages:
        raise CorruptIndexError(f"{folder} holds {len(passages)} passages, its manifest says "
                                f"{manifest.counts.passages}; {hint}.")
    texts = {d.doc_id: d.text for d in documents}
    for p in passages:
        if texts.get(p.doc_id, "")[p.start:p.end] != p.text or p.start >= p.end:
            raise CorruptIndexError(f"Passage {p.passage_id} in {folder} does not match its "
                                    f"document text; {hint}.")
