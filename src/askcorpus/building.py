"""Building: corpus files -> passages -> vectors and BM25 -> a published index generation."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from askcorpus import storage
from askcorpus.attribution import Attributor
from askcorpus.corpus import Corpus, load_corpus
from askcorpus.dense import Dense
from askcorpus.embedding import load_encoder
from askcorpus.errors import IndexFolderError
from askcorpus.index_format import ModelInfo, make_manifest, write_generation
from askcorpus.lexical import Lexical
from askcorpus.onnx_encoder import export_for_build
from askcorpus.passages import merge_footnotes, split_document
from askcorpus.sentences import build_table
from askcorpus.settings import Settings
from askcorpus.types import Passage
from askcorpus.view import lexical_text

TUNING_QUERIES = 500


@contextlib.contextmanager
def published(corpus_root: Path, index_dir: Path, settings: Settings, *, strict: bool,
              progress: bool, version: str) -> Iterator[Path]:
    """Build a new generation of ``index_dir`` and publish it; yields its folder.

    The body runs while the build lock is held (to open the new generation and remove the
    old ones). Disk full, I/O errors or permissions leave the previous index untouched.
    """
    started = time.perf_counter()
    loaded = load_corpus(corpus_root, max_doc_bytes=settings.max_doc_bytes, strict=strict,
                         progress=progress)
    passages = split(loaded, settings)
    encoder = load_encoder(settings.model, batch_size=settings.batch_size)
    vectors = encoder.encode([p.text for p in passages], progress=progress) if passages \
        else np.zeros((0, encoder.dim), dtype=np.float32)
    texts = [p.text for p in passages]
    sentences = build_table(texts, vectors,
                            lambda batch: encoder.encode(batch, progress=progress)
                            if batch else np.zeros((0, encoder.dim), dtype=np.float32))
    dense = Dense.build(vectors, queries=tuning_queries(sentences.vectors))
    footnotes = merge_footnotes(passages)
    lexical = Lexical.build([lexical_text(p, footnotes) for p in passages],
                            k1=settings.bm25_k1, b=settings.bm25_b)
    model = ModelInfo(encoder.name, encoder.revision, encoder.dim)
    export_for_build(settings.model)  # queries then run without torch (onnx_encoder.py)
    try:
        with storage.build_lock(index_dir):
            with storage.new_generation(index_dir) as staging:
                manifest = make_manifest(loaded, passages, model, settings,
                                         time.perf_counter() - started, version, dense.params)
                write_generation(staging, loaded, passages, dense, lexical, sentences, manifest)
                generation = storage.publish(index_dir, staging)
            yield generation
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise IndexFolderError(f"Cannot write the index at {index_dir} ({reason}); the previous "
                               "index is unchanged. Free disk space or fix the folder's "
                               f"permissions, then run `askcorpus build --index {index_dir}` "
                               "again.") from exc


def tuning_queries(sentence_vectors: np.ndarray, count: int = TUNING_QUERIES) -> np.ndarray:
    """Sample query vectors to tune HNSW's efSearch on: sentences, which are question-sized and
    (unlike passages) not rows of the index, so none finds itself. Seeded: builds repeat."""
    if len(sentence_vectors) <= count:
        return sentence_vectors
    rows = np.random.default_rng(0).choice(len(sentence_vectors), count, replace=False)
    return sentence_vectors[np.sort(rows)]


def split(corpus: Corpus, settings: Settings) -> list[Passage]:
    """Every document's passages, each with its speaker and side (attribution.py)."""
    attributor = Attributor(corpus.catalog.actors, corpus.catalog.overrides)
    out: list[Passage] = []
    for document in corpus.documents:
        out.extend(split_document(document, attributor, min_words=settings.min_words,
                                  max_words=settings.max_words))
    return out
