"""The ONNX query encoder: same vectors as sentence-transformers, no torch at query time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from askcorpus.embedding import load_encoder
from askcorpus.errors import AskcorpusError
from askcorpus.onnx_encoder import (
    OnnxEncoder,
    export_folder,
    export_onnx,
    is_exported,
    load_onnx_encoder,
)
from askcorpus.settings import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    "What casualty figures did Armenia and Azerbaijan each give?",
    "Blockade",
    "  Nasimi Aghayev, the consul general of Azerbaijan in Los Angeles, said the shelling "
    "came from the Armenian side.  ",
    "Ünïcödé — “quotes”, dashes and 1,000 numbers (2020-10-04).",
    # Longer than the model's 256-token window: both encoders must truncate the same way.
    " ".join(["The Lachin corridor was closed and humanitarian supplies could not pass."] * 40),
]


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged model exported once (fp32 and int8) into a private cache folder."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    export_onnx(DEFAULT_MODEL, cache_dir=cache, quantize=True)
    return cache


@pytest.fixture(scope="session")
def onnx_encoder(onnx_cache: Path) -> OnnxEncoder:
    return load_onnx_encoder(cache_dir=onnx_cache, export=False)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_vectors_equal_pytorch_within_cosine_0999(onnx_encoder: OnnxEncoder) -> None:
    reference = load_encoder(DEFAULT_MODEL).encode(TEXTS)
    # One batch (padded to the longest text) and one text at a time must both match.
    batch = onnx_encoder.encode(TEXTS)
    single = np.vstack([onnx_encoder.encode([t]) for t in TEXTS])
    assert cosines(batch, reference).min() >= 0.999
    assert cosines(single, reference).min() >= 0.999


def test_encoder_protocol_matches_the_pytorch_encoder(onnx_encoder: OnnxEncoder) -> None:
    reference = load_encoder(DEFAULT_MODEL)
    assert (onnx_encoder.name, onnx_encoder.revision, onnx_encoder.dim) == \
        (reference.name, reference.revision, reference.dim)
    assert onnx_encoder.backend == "onnx"
    vectors = onnx_encoder.encode(TEXTS[:3], progress=True)
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert onnx_encoder.encode([]).shape == (0, 384)


def test_batch_order_is_kept(onnx_encoder: OnnxEncoder) -> None:
    """Texts are batched by length internally; rows come back in the caller's order."""
    forward = onnx_encoder.encode(TEXTS)
    backward = onnx_encoder.encode(TEXTS[::-1])
    assert np.allclose(forward, backward[::-1], atol=1e-5)


def test_int8_model_is_close_and_named(onnx_cache: Path, onnx_encoder: OnnxEncoder) -> None:
    int8 = load_onnx_encoder(cache_dir=onnx_cache, quantized=True, export=False)
    assert int8.backend == "onnx-int8"
    assert cosines(int8.encode(TEXTS), onnx_encoder.encode(TEXTS)).min() >= 0.9


def test_query_encoding_never_imports_torch(onnx_cache: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from askcorpus.onnx_encoder import load_onnx_encoder\n"
        f"encoder = load_onnx_encoder(cache_dir=Path({str(onnx_cache)!r}), export=False)\n"
        "vector = encoder.encode(['Who closed the Lachin corridor?'])\n"
        "assert vector.shape == (1, 384)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'sentence_transformers'))\n"
        "print(heavy)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_export_is_reused_and_complete(onnx_cache: Path) -> None:
    folder = export_folder(DEFAULT_MODEL, cache_dir=onnx_cache)
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    assert export_onnx(DEFAULT_MODEL, cache_dir=onnx_cache, quantize=True) == folder
    assert (folder / "model.onnx").stat().st_mtime_ns == stamp
    meta = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    assert meta["max_seq_length"] == 256 and meta["int8"] is True
    assert not list(onnx_cache.glob("*.tmp-*")), "no temp folder is left behind"
    assert is_exported(folder, quantized=True)


def test_missing_export_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(AskcorpusError, match="export_onnx"):
        OnnxEncoder(tmp_path)
    with pytest.raises(AskcorpusError, match="export"):
        load_onnx_encoder(cache_dir=tmp_path, export=False)


def test_a_model_without_mean_pooling_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "cls-model"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"}]), encoding="utf-8")
    (model / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": 384, "pooling_mode_cls_token": True,
        "pooling_mode_mean_tokens": False}), encoding="utf-8")
    (model / "sentence_bert_config.json").write_text('{"max_seq_length": 128}', encoding="utf-8")
    with pytest.raises(AskcorpusError, match="mean pooling"):
        export_onnx(str(model), cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists(), "nothing is written for a refused model"
