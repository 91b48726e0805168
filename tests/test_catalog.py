"""Catalog validation: every mistake in catalog.toml is one clear sentence naming file and entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from askcorpus.catalog import load_catalog
from askcorpus.corpus import load_corpus
from askcorpus.errors import AskcorpusError, CatalogError
from askcorpus.types import UNLABELED
from conftest import FIXTURE_CATALOG, FIXTURE_FILES, write_corpus

HEADER = """
[perspectives.north]
label = "North side"
[perspectives.south]
label = "South side"
"""


def _entry(file: str, doc_id: str, perspective: str = "north", extra: str = "") -> str:
    return (f'[[documents]]\nfile = "{file}"\nid = "{doc_id}"\nperspective = "{perspective}"\n'
            f"{extra}")


def _error(folder: Path, files: dict[str, str], catalog: str) -> str:
    write_corpus(folder, files, catalog)
    with pytest.raises(CatalogError) as caught:
        load_corpus(folder)
    return str(caught.value)


def assert_one_clear_sentence(message: str, folder: Path) -> None:
    assert "catalog.toml" in message, message
    assert str(folder) in message, message
    assert "\n" not in message, message
    assert message.rstrip().endswith("."), message
    # One sentence: no full stop followed by a new capitalised sentence (paths removed first).
    assert not re.search(r"[.!?]\s+[A-Z]", message.replace(str(folder), "")), message
    assert "Traceback" not in message


def test_catalog_error_is_an_askcorpus_error() -> None:
    assert issubclass(CatalogError, AskcorpusError)


def test_fixture_catalog_loads(fixture_corpus: Path) -> None:
    corpus = load_corpus(fixture_corpus)
    assert [d.doc_id for d in corpus.documents] == ["north-news", "south-news", "wire"]
    assert {d.doc_id: d.perspective for d in corpus.documents} == {
        "north-news": "north", "south-news": "south", "wire": "neutral"}
    assert corpus.catalog.contest_parties == ("north", "south")
    assert corpus.warnings == ()


@pytest.mark.parametrize("where, catalog, key", [
    ("top level", 'colour = "red"\n' + HEADER + _entry("a.txt", "a"), "colour"),
    ("[perspectives.north]", HEADER.replace('label = "North side"',
                                            'label = "North side"\nlabell = "x"')
     + _entry("a.txt", "a"), "labell"),
    ("[[documents]] entry 1", HEADER + _entry("a.txt", "a", extra='titel = "A"\n'), "titel"),
    ("[[documents]] entry 2", HEADER + _entry("a.txt", "a") + _entry("b.txt", "b",
                                                                    extra='pubisher = "P"\n'),
     "pubisher"),
])
def test_unknown_key_names_file_entry_and_key(tmp_path: Path, where: str, catalog: str,
                                              key: str) -> None:
    folder = tmp_path / "corpus"
    message = _error(folder, {"a.txt": "Alpha text.", "b.txt": "Beta text."}, catalog)
    assert f"'{key}'" in message
    assert where in message
    assert_one_clear_sentence(message, folder)


def test_missing_document_files_are_all_listed(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    catalog = HEADER + _entry("a.txt", "a") + _entry("gone-1.txt", "g1") + _entry(
        "sub/gone-2.md", "g2")
    message = _error(folder, {"a.txt": "Alpha text."}, catalog)
    assert "gone-1.txt" in message
    assert "sub/gone-2.md" in message
    assert "a.txt," not in message
    assert_one_clear_sentence(message, folder)


@pytest.mark.parametrize("catalog, entry", [
    (HEADER + _entry("a.txt", "a", perspective="east"), "document 'a'"),
    (HEADER + _entry("a.txt", "a") + '[contest]\nparties = ["north", "west"]\n',
     "[contest]"),
    (HEADER + _entry("a.txt", "a") + '[[actors]]\nname = "Ortiz"\nperspective = "east"\n',
     "actor 'Ortiz'"),
])
def test_undeclared_perspective_names_entry_and_perspective(tmp_path: Path, catalog: str,
                                                            entry: str) -> None:
    folder = tmp_path / "corpus"
    message = _error(folder, {"a.txt": "Alpha text."}, catalog)
    assert entry in message
    assert "'east'" in message or "'west'" in message
    assert "not declared" in message
    assert_one_clear_sentence(message, folder)


def test_duplicate_document_id_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    catalog = HEADER + _entry("a.txt", "same") + _entry("b.txt", "same")
    message = _error(folder, {"a.txt": "Alpha text.", "b.txt": "Beta text."}, catalog)
    assert "duplicate" in message.lower()
    assert "'same'" in message
    assert_one_clear_sentence(message, folder)


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    catalog = HEADER + '[[documents]]\nfile = "a.txt"\nid = "a\nperspective = "north"\n'
    message = _error(folder, {"a.txt": "Alpha text."}, catalog)
    assert "TOML" in message
    assert "line" in message
    assert_one_clear_sentence(message, folder)


@pytest.mark.parametrize("path", ["../outside.txt", "sub/../../outside.txt", "/etc/hostname"])
def test_document_path_outside_the_corpus_is_rejected(tmp_path: Path, path: str) -> None:
    (tmp_path / "outside.txt").write_text("Secret text outside the corpus.", encoding="utf-8")
    folder = tmp_path / "corpus"
    message = _error(folder, {"a.txt": "Alpha text."}, HEADER + _entry(path, "escape"))
    assert path in message
    assert "outside" in message
    assert_one_clear_sentence(message, folder)


def test_load_catalog_of_a_folder_without_one_is_empty(tmp_path: Path) -> None:
    catalog = load_catalog(tmp_path)
    assert catalog.documents == ()
    assert UNLABELED in catalog.perspective_map()


def test_folder_without_catalog_is_indexed_as_unlabeled(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "plain", FIXTURE_FILES)
    corpus = load_corpus(folder)
    assert sorted(d.path for d in corpus.documents) == sorted(FIXTURE_FILES)
    for d in corpus.documents:
        assert d.title == Path(d.path).name
        assert d.perspective == UNLABELED
        assert d.text == FIXTURE_FILES[d.path]
    assert len({d.doc_id for d in corpus.documents}) == len(FIXTURE_FILES)


def test_file_missing_from_catalog_is_a_warning_or_strict_error(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "corpus", {**FIXTURE_FILES, "extra.txt": "Extra text."},
                          FIXTURE_CATALOG)
    corpus = load_corpus(folder)
    extra = next(d for d in corpus.documents if d.path == "extra.txt")
    assert extra.perspective == UNLABELED
    assert any("extra.txt" in w for w in corpus.warnings)
    with pytest.raises(CatalogError, match=r"extra\.txt"):
        load_corpus(folder, strict=True)
