"""Building: corpus files -> passages -> vectors and BM25 -> a published index generation.

A build is incremental: passages whose text (and sentence split) the served generation already
holds keep their passage and sentence vectors, so only added or edited documents are encoded;
the result is still a whole new generation, published crash-safely (storage.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from askcorpus import storage
from askcorpus.attribution import Attributor
from askcorpus.bulk import deferred_full_gc
from askcorpus.catalog import CATALOG_NAME
from askcorpus.corpus import Corpus, fingerprint, load_corpus
from askcorpus.dense import Dense
from askcorpus.embedding import HASH_PREFIX, Encoder, load_encoder, resolve_model
from askcorpus.errors import AskcorpusError, IndexFolderError
from askcorpus.index_format import (
    Generation,
    Manifest,
    ModelInfo,
    StoreInfo,
    lent,
    make_manifest,
    read_generation,
    recorded_store,
    write_generation,
)
from askcorpus.lexical import Lexical
from askcorpus.onnx_encoder import export_for_build
from askcorpus.passages import merge_footnotes, split_document
from askcorpus.segment import sentence_spans
from askcorpus.sentences import SentenceTable, build_table
from askcorpus.settings import Settings
from askcorpus.types import Passage
from askcorpus.view import lexical_text

TUNING_QUERIES = 500


class Engine(Protocol):
    """What splits, attributes and embeds a corpus when not this process (distributed.py).

    Returns the passages in corpus order, their vectors and their sentence table: exactly what
    the local path computes, so everything after (BM25, FAISS, the store, the manifest, the
    crash-safe write) is the same code for every engine.
    """

    name: str

    def split_and_embed(self, corpus: Corpus, settings: Settings
                        ) -> tuple[list[Passage], np.ndarray, SentenceTable]: ...


@contextlib.contextmanager
def published(corpus_root: Path, index_dir: Path, settings: Settings, *, strict: bool,
              progress: bool, version: str, engine: Engine | None = None,
              store: str | None = None, milvus_uri: str | None = None) -> Iterator[Path]:
    """Build a new generation of ``index_dir`` and publish it; yields its folder.

    The body runs while the build lock is held (to open the new generation and remove the
    old ones). Disk full, I/O errors or permissions leave the previous index untouched.
    ``engine`` (default: this process, incrementally) splits and embeds; ``store`` says what
    serves dense search (``faiss``, or ``milvus``: milvus-lite, or the server ``milvus_uri``;
    ``None``: the store the current generation was built with, so a rebuild keeps it).
    """
    with deferred_full_gc(), _published(corpus_root, index_dir, settings, strict=strict,
                                        progress=progress, version=version, engine=engine,
                                        store=store, milvus_uri=milvus_uri) as generation:
        yield generation  # 10,000s of records are made and dropped: see bulk.py


@contextlib.contextmanager
def _published(corpus_root: Path, index_dir: Path, settings: Settings, *, strict: bool,
               progress: bool, version: str, engine: Engine | None, store: str | None,
               milvus_uri: str | None) -> Iterator[Path]:
    started = time.perf_counter()
    if store is None:
        store, milvus_uri = recorded_store(index_dir) if milvus_uri is None else ("milvus",
                                                                                  milvus_uri)
    StoreInfo.for_build(store, milvus_uri, index_dir)  # an unknown store fails before any work
    if store == "milvus":
        from askcorpus import milvus_store

        milvus_store.check(milvus_uri)  # installed and reachable, before the long part
    loaded = load_corpus(corpus_root, max_doc_bytes=settings.max_doc_bytes, strict=strict,
                         progress=progress)
    encoder = load_encoder(settings.model, batch_size=settings.batch_size)
    if engine is None:
        previous = previous_generation(index_dir)
        passages = split(loaded, settings, kept_passages(previous, loaded, settings, version))
        vectors, sentences = embed(passages, encoder, reusable(previous, encoder),
                                   progress=progress)
    else:
        passages, vectors, sentences = engine.split_and_embed(loaded, settings)
    dense = Dense.build(vectors, queries=tuning_queries(sentences.vectors))
    footnotes = merge_footnotes(passages)
    texts = [lexical_text(p, footnotes) for p in passages]
    lexical = Lexical.build(texts, k1=settings.bm25_k1, b=settings.bm25_b)
    model = ModelInfo(encoder.name, encoder.revision, encoder.dim)
    export_for_build(settings.model)  # queries then run without torch (onnx_encoder.py)
    try:
        with storage.build_lock(index_dir):
            with storage.new_generation(index_dir) as staging:
                manifest = make_manifest(
                    loaded, passages, model, settings, time.perf_counter() - started, version,
                    dense.params, store=StoreInfo.for_build(store, milvus_uri, staging),
                    engine=engine.name if engine is not None else "local")
                records = write_generation(staging, loaded, passages, dense, lexical,
                                           sentences, manifest, texts)
                generation = storage.publish(index_dir, staging)
            with lent(records):  # the body opens the new generation: no second parse
                yield generation
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise IndexFolderError(f"Cannot write the index at {index_dir} ({reason}); the previous "
                               "index is unchanged. Free disk space or fix the folder's "
                               f"permissions, then run `askcorpus build --index {index_dir}` "
                               "again.") from exc


@dataclass(frozen=True)
class Reusable:
    """The vectors of the generation being served, found by passage text: an unchanged
    document splits into the same passages, whose vectors need no second encode."""

    generation: Generation  # owns the FAISS index the vectors are a view of
    rows: dict[str, int]

    def old_row(self, passage: Passage) -> int | None:
        """The old row holding ``passage``'s text with the same sentence spans, if any.

        A passage that ``kept_passages`` carried over (the very object of the old generation)
        was split into sentences by this same askcorpus: its stored spans are taken as they
        are, so only the passages of edited documents are split again here.
        """
        row = self.rows.get(passage.text)
        if row is None or self.generation.passages[row] is passage:
            return row
        return row if self.generation.sentences.spans_of(row) == sentence_spans(
            passage.text) else None


def outdated_model(manifest: Manifest, wanted: str) -> bool:
    """Whether an index was built with another model, or another revision of it (a retrained
    encoder), than ``wanted``: its vectors and the shipped decisions would not match."""
    built = manifest.model
    if built.name != wanted or wanted.startswith(HASH_PREFIX):
        return built.name != wanted
    return built.revision != resolve_model(wanted)[1]


def previous_generation(index_dir: Path) -> Generation | None:
    """The generation being served, or None when there is none or it cannot be read."""
    try:
        return read_generation(index_dir)
    except (AskcorpusError, OSError, ValueError):
        # None, damaged, or removed by a concurrent build while being read: redo everything.
        return None


def previous_vectors(index_dir: Path, encoder: Encoder) -> Reusable | None:
    """What the current generation of ``index_dir`` offers for reuse (see ``reusable``)."""
    return reusable(previous_generation(index_dir), encoder)


def reusable(generation: Generation | None, encoder: Encoder) -> Reusable | None:
    """Vectors to reuse: none without a generation, or when another model (or revision)
    made them."""
    if generation is None:
        return None
    model = generation.manifest.model
    if (model.name, model.revision, model.dim) != (encoder.name, encoder.revision, encoder.dim):
        return None
    return Reusable(generation, {p.text: i for i, p in enumerate(generation.passages)})


def embed(passages: Sequence[Passage], encoder: Encoder, reuse: Reusable | None, *,
          progress: bool = False) -> tuple[np.ndarray, SentenceTable]:
    """Passage and sentence vectors (and sentence spans) of ``passages``: copied from ``reuse``
    where a passage is unchanged, encoded for the others only (an incremental build)."""
    dim = encoder.dim
    texts = [p.text for p in passages]
    old = np.array([-1 if reuse is None or (row := reuse.old_row(p)) is None else row
                    for p in passages], dtype=np.int64)
    fresh, kept = np.flatnonzero(old < 0), np.flatnonzero(old >= 0)
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    if len(fresh):
        vectors[fresh] = encoder.encode([texts[i] for i in fresh], progress=progress)
    new = build_table([texts[i] for i in fresh], vectors[fresh],
                      lambda batch: encoder.encode(batch, progress=progress)
                      if batch else np.zeros((0, dim), dtype=np.float32))
    if reuse is None:
        return vectors, new
    before = reuse.generation.sentences
    counts = np.zeros(len(texts), dtype=np.int64)
    counts[kept] = np.diff(before.offsets)[old[kept]]
    counts[fresh] = np.diff(new.offsets)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts)
    # Whole-array copies, not a loop over 10,000s of rows: the bulk of an incremental build.
    vectors[kept] = reuse.generation.vectors[old[kept]]
    table = SentenceTable(offsets, np.zeros((int(offsets[-1]), 2), dtype=np.int32),
                          np.zeros((int(offsets[-1]), dim), dtype=np.float32))
    target, source = sentence_rows(offsets, kept), sentence_rows(before.offsets, old[kept])
    table.spans[target], table.vectors[target] = before.spans[source], before.vectors[source]
    target = sentence_rows(offsets, fresh)  # the fresh passages' sentences, in order
    table.spans[target], table.vectors[target] = new.spans, new.vectors
    return vectors, table


def sentence_rows(offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The sentence rows of passages ``rows``, passage after passage: the concatenation of
    ``range(offsets[r], offsets[r + 1])`` for each r, without a Python loop."""
    starts = offsets[rows]
    lengths = offsets[rows + 1] - starts
    # Row k of block j is starts[j] + (k - where block j begins in the output).
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())


@dataclass(frozen=True)
class Plan:
    """What the next build of an index will do with each changed corpus file."""

    reembed: tuple[str, ...]  # added or edited files: their passages are encoded again
    removed: tuple[str, ...]  # files gone: their passages are dropped
    reread: tuple[str, ...]  # the catalog: speakers and sides read again, nothing re-embedded
    unchanged: int  # files whose passages keep their vectors


def plan(manifest: Manifest) -> Plan:
    """Compare the corpus files now with those the build of ``manifest`` read (SHA-256)."""
    built = {f.path: f.sha256 for f in manifest.corpus.files}
    root = Path(manifest.corpus.root)
    now = {f.path: f.sha256 for f in fingerprint(root)} if root.is_dir() else {}
    changed = sorted(p for p in now if built.get(p) != now[p])
    return Plan(tuple(p for p in changed if Path(p).name != CATALOG_NAME),
                tuple(sorted(built.keys() - now.keys())),
                tuple(p for p in changed if Path(p).name == CATALOG_NAME),
                sum(built.get(p) == sha and Path(p).name != CATALOG_NAME
                    for p, sha in now.items()))


def tuning_queries(sentence_vectors: np.ndarray, count: int = TUNING_QUERIES) -> np.ndarray:
    """Sample query vectors to tune HNSW's efSearch on: sentences, which are question-sized and
    (unlike passages) not rows of the index, so none finds itself. Seeded: builds repeat."""
    if len(sentence_vectors) <= count:
        return sentence_vectors
    rows = np.random.default_rng(0).choice(len(sentence_vectors), count, replace=False)
    return sentence_vectors[np.sort(rows)]


def split(corpus: Corpus, settings: Settings,
          kept: dict[str, tuple[Passage, ...]] | None = None) -> list[Passage]:
    """Every document's passages, each with its speaker and side (attribution.py); a
    document in ``kept`` keeps the passages it had (``kept_passages``)."""
    kept = kept or {}
    attributor = Attributor(corpus.catalog.actors, corpus.catalog.overrides)
    out: list[Passage] = []
    for document in corpus.documents:
        if document.doc_id in kept:
            out.extend(kept[document.doc_id])
        else:
            out.extend(split_document(document, attributor, min_words=settings.min_words,
                                      max_words=settings.max_words))
    return out


def kept_passages(previous: Generation | None, corpus: Corpus, settings: Settings,
                  version: str) -> dict[str, tuple[Passage, ...]]:
    """The passages of documents whose text is unchanged, when nothing that splits or
    attributes changed either (the catalog, the chunking settings, askcorpus itself): then
    splitting them again would give the same passages, speakers and sides."""
    if previous is None:
        return {}
    manifest = previous.manifest
    catalog_then = {f.path: f.sha256 for f in manifest.corpus.files
                    if Path(f.path).name == CATALOG_NAME}
    catalog_now = {f.path: f.sha256 for f in corpus.files if Path(f.path).name == CATALOG_NAME}
    chunking = {"min_words": settings.min_words, "max_words": settings.max_words}
    if (catalog_then, manifest.chunking, manifest.askcorpus_version) != (
            catalog_now, chunking, version):
        return {}
    text_then = {d.doc_id: d.text for d in previous.documents}
    by_doc: dict[str, list[Passage]] = {}
    for p in previous.passages:
        by_doc.setdefault(p.doc_id, []).append(p)
    return {d.doc_id: tuple(by_doc.get(d.doc_id, ())) for d in corpus.documents
            if text_then.get(d.doc_id) == d.text and d.doc_id in by_doc}
