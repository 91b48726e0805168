"""Shared fixtures: the real seed index (real model, built once per session) and small corpora."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

import askcorpus

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
HASH_MODEL = "hash:64"  # deterministic tiny embedder: plumbing tests only

hypothesis_settings.register_profile("ci", max_examples=200, deadline=None)
hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def seed_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the seed corpus (tests may not touch the project's seeds/)."""
    target = tmp_path_factory.mktemp("seeds") / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def seed_index(seed_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> askcorpus.Index:
    """The seed corpus indexed with the real all-MiniLM-L6-v2 model."""
    return askcorpus.build(seed_corpus, tmp_path_factory.mktemp("index") / "index")


def write_corpus(folder: Path, files: dict[str, str | bytes], catalog: str | None = None) -> Path:
    """A small corpus folder from a mapping of file name -> content."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if catalog is not None:
        (folder / "catalog.toml").write_text(catalog, encoding="utf-8")
    return folder


FIXTURE_CATALOG = """
[perspectives.north]
label = "North side"
[perspectives.south]
label = "South side"
[perspectives.neutral]
label = "Neutral"
[contest]
parties = ["north", "south"]
[[documents]]
file = "north.txt"
id = "north-news"
title = "North Daily"
perspective = "north"
[[documents]]
file = "south.txt"
id = "south-news"
title = "South Herald"
perspective = "south"
[[documents]]
file = "wire.txt"
id = "wire"
title = "Wire report"
perspective = "neutral"
[[actors]]
name = "Mayor Lena Ortiz"
kind = "person"
aliases = ["Ortiz"]
perspective = "north"
"""

FIXTURE_FILES = {
    "north.txt": "The river dam was finished in spring and it supplies water to every farm in the "
                 "northern valley. Engineers from the north designed the spillway.\n\n"
                 "\"The dam is safe and the water belongs to everyone,\" Ortiz said.\n",
    "south.txt": "Farmers in the south say the river dam has cut their water by half since the "
                 "spring. The southern council demands that the gates be opened.\n",
    "wire.txt": "A neutral survey counted 400 farms along the river. Rainfall this year was "
                "normal, according to the weather service.\n",
}


@pytest.fixture
def fixture_corpus(tmp_path: Path) -> Path:
    """Three short documents across two contest parties and a neutral side."""
    return write_corpus(tmp_path / "corpus", FIXTURE_FILES, FIXTURE_CATALOG)


@pytest.fixture
def hash_index(fixture_corpus: Path, tmp_path: Path) -> askcorpus.Index:
    """The fixture corpus indexed with the deterministic test embedder."""
    return askcorpus.build(fixture_corpus, tmp_path / "index", model=HASH_MODEL)
