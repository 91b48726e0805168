"""The query path runs on the ONNX export the build wrote: no torch to answer a question."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import askcorpus
from askcorpus.embedding import SentenceEncoder
from askcorpus.onnx_encoder import (
    default_cache_dir,
    export_folder,
    export_for_build,
    is_exported,
    query_encoder,
)

SRC = Path(__file__).resolve().parents[1] / "src"
QUESTIONS = ["How many soldiers has Armenia lost?", "Who closed the Lachin corridor?",
             "Is the fighting on Armenian soil?"]


def test_build_exports_the_model_and_queries_use_it(seed_index: askcorpus.Index) -> None:
    folder = export_folder(seed_index.settings.model, cache_dir=default_cache_dir())
    assert is_exported(folder)  # written (or reused) by the build, outside site-packages
    encoder = seed_index.encoder()
    assert getattr(encoder, "backend", None) == "onnx"
    onnx = encoder.encode(QUESTIONS)
    torch = SentenceEncoder(seed_index.settings.model).encode(QUESTIONS)
    assert np.all(np.sum(onnx * torch, axis=1) >= 0.999)


def test_ask_imports_no_torch(seed_index: askcorpus.Index) -> None:
    script = (
        "import json, sys\n"
        "import askcorpus\n"
        f"index = askcorpus.open({str(seed_index.index_dir)!r}, check_stale=False)\n"
        f"answer = index.ask({QUESTIONS[0]!r})\n"
        "print(json.dumps({'status': answer.status, 'backend': index.encoder().backend,\n"
        "                  'heavy': sorted(m for m in ('torch', 'sentence_transformers',\n"
        "                                  'transformers') if m in sys.modules)}))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["backend"] == "onnx" and result["heavy"] == []
    assert result["status"] in ("answered", "contested", "no_answer")


def test_without_an_export_queries_fall_back(tmp_path: Path) -> None:
    assert query_encoder("all-MiniLM-L6-v2", cache_dir=tmp_path) is None
    assert query_encoder("hash:64") is None and export_for_build("hash:64") is None
