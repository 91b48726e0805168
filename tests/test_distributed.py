"""The Ray engine (real local Ray, real model): the passages, speakers and vectors of the local
build, in the same index format. Run with ``pytest -s`` to see the figures."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import askcorpus
from askcorpus import building
from askcorpus.corpus import load_corpus
from askcorpus.distributed import RayEngine
from askcorpus.embedding import load_encoder
from askcorpus.settings import Settings
from synthetic import write_corpus

# The slow test's corpus size; the figure is 20,000 passages.
SYNTHETIC_PASSAGES = int(os.environ.get("ASKCORPUS_SYNTHETIC_PASSAGES", "20000"))
VECTOR_SAMPLE = 1_000  # rows of the 20k build re-encoded locally to compare vectors


def test_an_unreachable_ray_address_is_one_line_before_any_work(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "askcorpus.cli", "build", "--engine", "ray", "--ray-address",
         "127.0.0.1:9", "--index", str(tmp_path / "index")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: Cannot reach a Ray cluster at 127.0.0.1:9; start it (`ray start --head`) or "
        "pass --ray-address (ray_address) the address of its head node."]
    assert not (tmp_path / "index").exists()


def test_a_ray_address_without_the_ray_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(askcorpus.AskcorpusError, match="--engine ray"):
        askcorpus.build(tmp_path, tmp_path / "index", ray_address="127.0.0.1:9")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """A local Ray of 2 CPUs (the machine's), shut down after the module."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape
    return np.sum(a * b, axis=1)


def test_ray_build_of_the_seeds_equals_the_local_build(
        local_ray: Any, seed_index: askcorpus.Index, tmp_path: Path) -> None:
    index = askcorpus.build(seed_index.manifest.corpus.root, tmp_path / "index", engine="ray")
    assert index.manifest.engine == "ray" and seed_index.manifest.engine == "local"
    # Passages, offsets, kinds, speakers, sides and the cue that decided them: identical.
    assert [p.to_dict() for p in index.passages()] == [p.to_dict()
                                                       for p in seed_index.passages()]
    passages = _cosines(index.retriever.vectors, seed_index.retriever.vectors)
    ray_sentences, local_sentences = index.view.sentences, seed_index.view.sentences
    assert ray_sentences is not None and local_sentences is not None
    np.testing.assert_array_equal(ray_sentences.offsets, local_sentences.offsets)
    np.testing.assert_array_equal(ray_sentences.spans, local_sentences.spans)
    sentences = _cosines(ray_sentences.vectors, local_sentences.vectors)
    print(f"\nRay vs local on the seeds: {len(passages)} passages, min cosine "
          f"{passages.min():.6f}; {len(sentences)} sentences, min cosine {sentences.min():.6f}")
    assert passages.min() >= 0.999 and sentences.min() >= 0.999
    question = "How many soldiers does Armenia say have been killed?"
    assert index.ask(question).to_dict()["citations"] == \
        seed_index.ask(question).to_dict()["citations"]


@pytest.mark.slow
def test_ray_engine_on_a_synthetic_corpus_equals_the_local_split_and_model(
        local_ray: Any, tmp_path: Path) -> None:
    """~20k passages: every passage and attribution equal to the local split, and the vectors
    of a sample of rows equal to the local model's (the full local embed is the benchmark's)."""
    corpus = load_corpus(write_corpus(tmp_path / "corpus", SYNTHETIC_PASSAGES))
    settings = Settings()
    result = RayEngine().run(corpus, settings)
    local = building.split(corpus, settings)
    assert len(local) >= 0.9 * SYNTHETIC_PASSAGES
    assert [p.to_dict() for p in result.passages] == [p.to_dict() for p in local]
    assert sum(p.speaker is not None for p in local) > len(local) // 4  # attribution worked
    rows = np.sort(np.random.default_rng(15).choice(len(local), min(VECTOR_SAMPLE, len(local)),
                                                    replace=False))
    encoder = load_encoder(settings.model)
    reference = encoder.encode([local[i].text for i in rows])
    cosines = _cosines(result.vectors[rows], reference)
    embed = [t for t in result.timings if t.stage == "embed"]
    print(f"\nRay on {len(local)} synthetic passages: min cosine {cosines.min():.6f} on "
          f"{len(rows)} rows; {len(embed)} embed tasks on {len({t.worker for t in embed})} "
          "actors")
    assert cosines.min() >= 0.999
    assert len({t.worker for t in embed}) == 2  # the pool used both CPUs
    assert sum(t.rows for t in embed) == len(local)
