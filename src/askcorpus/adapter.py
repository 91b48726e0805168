"""The tuned encoder: the packaged MiniLM plus the low-rank factors we trained, merged once.

``models/encoder-lora.safetensors`` holds, for each adapted weight ``W`` of the packaged
all-MiniLM-L6-v2, the LoRA factors ``A`` (rank × in) and ``B`` (out × rank, already scaled),
so that the tuned weight is ``W + B @ A``. Shipping the factors keeps what a retrain adds to
git to about a megabyte instead of a 90 MB copy; merging them is numpy and safetensors only
(no torch, no peft), done once into a cached model folder that every other part (PyTorch
build, ONNX export, training) reads as an ordinary sentence-transformers folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from askcorpus.errors import ModelError
from askcorpus.hashing import sha256_file
from askcorpus.settings import TUNED_MODEL

FACTORS = Path(__file__).parent / "models" / "encoder-lora.safetensors"
WEIGHTS_FILE = "model.safetensors"
DONE_FILE = "merged.txt"


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/askcorpus/models`` (``~/.cache/askcorpus/models`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "askcorpus" / "models"


def tuned_model(base: Path, base_revision: str, factors: Path = FACTORS,
                cache_dir: Path | None = None) -> tuple[Path, str]:
    """The merged model folder and its revision (the base's plus the factors' hash).

    The folder is named by the factors' hash, so a retrain gets a new folder and an index
    built with the old factors is told apart by its manifest's revision.
    """
    if not factors.is_file():
        raise ModelError(f"The tuned encoder's factors are missing ({factors}); reinstall "
                         "askcorpus or pass `--model all-MiniLM-L6-v2`.")
    digest = _digest(factors)
    folder = (cache_dir or default_cache_dir()) / f"{TUNED_MODEL}-{digest}"
    if not (folder / DONE_FILE).is_file():
        _merge_into(base, factors, folder)
    return folder, f"{base_revision}+lora:{digest}"


_DIGESTS: dict[tuple[Path, int, int], str] = {}


def _digest(factors: Path) -> str:
    """The factors' short hash, computed once per file version: every model lookup (build,
    ONNX export folder, index freshness, encoder cache) asks for it, a cold ask three times."""
    stat = factors.stat()
    key = (factors.resolve(), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256_file(factors)[:12]
    return _DIGESTS[key]


def merged_weights(base: Path, factors: Path) -> dict[str, Any]:
    """The base model's weights with every ``W + B @ A`` applied (float32 numpy arrays)."""
    import numpy as np
    from safetensors.numpy import load_file

    weights = load_file(str(base / WEIGHTS_FILE))
    low_rank = load_file(str(factors))
    for key in sorted(k for k in low_rank if k.endswith(".lora_A")):
        target = key.removesuffix(".lora_A") + ".weight"
        if target not in weights:
            raise ModelError(f"{factors} adapts '{target}', which the packaged model lacks; "
                             "retrain the encoder with `askcorpus train --encoder`.")
        delta = low_rank[key.removesuffix(".lora_A") + ".lora_B"] @ low_rank[key]
        weights[target] = (weights[target] + delta).astype(np.float32)
    return weights


def _merge_into(base: Path, factors: Path, folder: Path) -> None:
    """Write the merged folder beside its final place, then rename: a crash leaves no
    half-written model, and two processes merging at once both end with a whole one."""
    from safetensors.numpy import save_file

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        shutil.copytree(base, tmp, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(WEIGHTS_FILE, "*.bin", "*.onnx"))
        save_file(merged_weights(base, factors), str(tmp / WEIGHTS_FILE),
                  metadata={"format": "pt"})
        (tmp / DONE_FILE).write_text(f"{base}\n{factors}\n", encoding="utf-8")
        if folder.exists() and not (folder / DONE_FILE).is_file():
            shutil.rmtree(folder)  # left by hand or by an older askcorpus: never trusted
        try:
            tmp.rename(folder)
        except OSError:
            if not (folder / DONE_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
