"""The tuned encoder: shipped LoRA factors merged into the packaged MiniLM, offline, once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from askcorpus.adapter import DONE_FILE, FACTORS, WEIGHTS_FILE, merged_weights, tuned_model
from askcorpus.embedding import load_encoder, resolve_model
from askcorpus.errors import ModelError
from askcorpus.settings import BASE_MODEL, TUNED_MODEL


def _base() -> tuple[Path, str]:
    return resolve_model(BASE_MODEL)


def test_the_shipped_factors_are_small_and_low_rank() -> None:
    factors = load_file(str(FACTORS))
    assert FACTORS.stat().st_size < 5_000_000
    pairs = [k.removesuffix(".lora_A") for k in factors if k.endswith(".lora_A")]
    assert len(pairs) == 36  # q, k, v, attention output, intermediate, output x 6 layers
    for key in pairs:
        a, b = factors[f"{key}.lora_A"], factors[f"{key}.lora_B"]
        assert a.shape[0] == b.shape[1] <= 32
        assert np.abs(b).max() > 0  # trained: B starts at zero


def test_merging_adds_b_times_a_to_exactly_the_adapted_weights() -> None:
    base, _ = _base()
    original = load_file(str(base / WEIGHTS_FILE))
    merged = merged_weights(base, FACTORS)
    factors = load_file(str(FACTORS))
    key = "encoder.layer.3.attention.self.query"
    expected = original[f"{key}.weight"] + factors[f"{key}.lora_B"] @ factors[f"{key}.lora_A"]
    np.testing.assert_allclose(merged[f"{key}.weight"], expected, rtol=0, atol=1e-6)
    untouched = "embeddings.word_embeddings.weight"
    assert np.array_equal(merged[untouched], original[untouched])
    changed = sum(not np.array_equal(merged[k], original[k]) for k in original)
    assert changed == 36


def test_the_tuned_model_is_merged_once_and_named_by_its_factors(tmp_path: Path) -> None:
    base, revision = _base()
    folder, tuned_revision = tuned_model(base, revision, cache_dir=tmp_path)
    assert (folder / DONE_FILE).is_file() and (folder / "tokenizer.json").is_file()
    assert tuned_revision.startswith(revision + "+lora:")
    stamp = (folder / WEIGHTS_FILE).stat().st_mtime_ns
    assert tuned_model(base, revision, cache_dir=tmp_path) == (folder, tuned_revision)
    assert (folder / WEIGHTS_FILE).stat().st_mtime_ns == stamp  # reused, not merged again
    other = tmp_path / "other.safetensors"
    factors = load_file(str(FACTORS))
    save_file({k: v * 0.5 for k, v in factors.items()}, str(other))
    other_folder, other_revision = tuned_model(base, revision, other, cache_dir=tmp_path)
    assert other_folder != folder and other_revision != tuned_revision
    assert list(tmp_path.glob(".*")) == []  # no temporary folder left behind


def test_a_half_merged_folder_is_never_trusted(tmp_path: Path) -> None:
    base, revision = _base()
    folder, _ = tuned_model(base, revision, cache_dir=tmp_path / "a")
    broken = tmp_path / "b" / folder.name
    broken.mkdir(parents=True)
    (broken / WEIGHTS_FILE).write_bytes(b"half")
    again, _ = tuned_model(base, revision, cache_dir=tmp_path / "b")
    assert again == broken and (again / DONE_FILE).is_file()
    assert load_file(str(again / WEIGHTS_FILE)).keys() == load_file(
        str(folder / WEIGHTS_FILE)).keys()


def test_missing_or_foreign_factors_are_one_clear_error(tmp_path: Path) -> None:
    base, revision = _base()
    with pytest.raises(ModelError, match="missing"):
        tuned_model(base, revision, tmp_path / "none.safetensors", cache_dir=tmp_path)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"encoder.layer.9.x.lora_A": np.ones((2, 3), np.float32),
               "encoder.layer.9.x.lora_B": np.ones((3, 2), np.float32)}, str(foreign))
    with pytest.raises(ModelError, match="retrain"):
        tuned_model(base, revision, foreign, cache_dir=tmp_path)


def test_the_tuned_encoder_moves_vectors_but_keeps_their_sense() -> None:
    texts = ["Armenia says 520 soldiers have been killed.",
             "How many soldiers did Armenia lose?",
             "The recipe needs two eggs and flour."]
    base = load_encoder(BASE_MODEL).encode(texts)
    tuned = load_encoder(TUNED_MODEL).encode(texts)
    assert np.allclose(np.linalg.norm(tuned, axis=1), 1.0, atol=1e-5)
    moved = (base * tuned).sum(axis=1)
    assert (moved < 0.9999).all() and (moved > 0.8).all()
    assert tuned[0] @ tuned[1] > tuned[0] @ tuned[2]
