"""Corpus loading: text, Markdown, HTML and JSONL files become Documents, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askcorpus.corpus import load_corpus
from askcorpus.errors import CorpusError
from askcorpus.types import UNLABELED
from conftest import write_corpus

HTML = """<!DOCTYPE html>
<html><head>
<title>Dam &amp; River Report</title>
<style>p { color: red; } .secret-style { display: none }</style>
<script>var secretScript = "<p>not text</p>"; alert(1);</script>
</head>
<body>
<h1>The dam &mdash; a report</h1>
<p>Water &amp; power for all &lt;farms&gt;, said the engineer&nbsp;today.</p>
<p>Caf&eacute; owners &#8220;agree&#8221; with &#x2018;everyone&#x2019;.</p>
<script>document.write("secretScript2")</script>
</body></html>
"""


def _only(folder: Path):
    corpus = load_corpus(folder)
    assert len(corpus.documents) == 1, corpus.documents
    return corpus.documents[0]


def test_markdown_is_read_verbatim(tmp_path: Path) -> None:
    text = "# The dam\n\nThe **river** dam was finished in spring.\n\n- one\n- two\n"
    document = _only(write_corpus(tmp_path / "c", {"notes.md": text}))
    assert document.text == text
    assert document.title == "The dam"  # the first Markdown heading (issue 12)
    assert document.path == "notes.md"
    assert document.perspective == UNLABELED


def test_text_newlines_and_bom_are_normalised_once(tmp_path: Path) -> None:
    document = _only(write_corpus(tmp_path / "c", {"a.txt": b"\xef\xbb\xbfOne.\r\nTwo.\rThree.\n"}))
    assert document.text == "One.\nTwo.\nThree.\n"


def test_html_drops_script_and_style_and_decodes_entities(tmp_path: Path) -> None:
    document = _only(write_corpus(tmp_path / "c", {"page.html": HTML}))
    assert document.title == "Dam & River Report"
    assert "The dam — a report" in document.text
    assert "Water & power for all <farms>, said the engineer" in document.text
    assert "Café owners “agree” with ‘everyone’." in document.text
    for hidden in ("secretScript", "secret-style", "color: red", "alert(1)", "&amp;", "&lt;",
                   "&mdash;", "<p>"):
        assert hidden not in document.text, hidden


def test_html_without_title_uses_the_file_name(tmp_path: Path) -> None:
    document = _only(write_corpus(tmp_path / "c", {"bare.htm": "<p>Just a paragraph.</p>"}))
    assert document.title == "bare.htm"
    assert document.text == "Just a paragraph."


def test_jsonl_corpus_gives_one_document_per_line(tmp_path: Path) -> None:
    rows = [
        {"id": "r1", "text": "The river dam was finished.\r\nIt holds water."},
        {"id": 2, "text": "Farmers want the gates opened.", "title": "Farmers",
         "publisher": "South Herald", "date": "2020-05", "url": "https://example.org/2",
         "author": "A. Writer", "kind": "news report"},
    ]
    content = "\n".join(json.dumps(r) for r in rows) + "\n\n"
    corpus = load_corpus(write_corpus(tmp_path / "c", {"rows.jsonl": content}))
    first, second = corpus.documents
    assert (first.doc_id, first.title, first.path) == ("r1", "r1", "rows.jsonl")
    assert first.text == "The river dam was finished.\nIt holds water."
    assert first.publisher is None and first.perspective == UNLABELED
    assert second.doc_id == "2"
    assert (second.title, second.publisher, second.date, second.url, second.author,
            second.kind) == ("Farmers", "South Herald", "2020-05", "https://example.org/2",
                             "A. Writer", "news report")


@pytest.mark.parametrize("bad_line", [
    "{not json",
    json.dumps({"id": "x"}),
    json.dumps({"text": "no id"}),
    json.dumps({"id": "x", "text": "t", "colour": "red"}),
    json.dumps(["id", "text"]),
])
def test_bad_jsonl_line_is_named(tmp_path: Path, bad_line: str) -> None:
    content = json.dumps({"id": "ok", "text": "Fine."}) + "\n\n" + bad_line + "\n"
    folder = write_corpus(tmp_path / "c", {"rows.jsonl": content})
    with pytest.raises(CorpusError) as caught:
        load_corpus(folder)
    message = str(caught.value)
    assert "rows.jsonl" in message
    assert "line 3" in message
    assert "\n" not in message


def test_duplicate_document_ids_across_files_are_rejected(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {
        "a.jsonl": json.dumps({"id": "same", "text": "One."}) + "\n",
        "b.jsonl": json.dumps({"id": "same", "text": "Two."}) + "\n"})
    with pytest.raises(CorpusError, match="same"):
        load_corpus(folder)


def test_missing_corpus_folder_is_a_corpus_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_invalid_utf8_names_the_file(tmp_path: Path) -> None:
    folder = write_corpus(tmp_path / "c", {"latin.txt": "Caf\xe9".encode("latin-1")})
    with pytest.raises(CorpusError, match=r"latin\.txt"):
        load_corpus(folder)


def test_fingerprint_lists_every_file_with_its_sha256(fixture_corpus: Path) -> None:
    import hashlib

    corpus = load_corpus(fixture_corpus)
    files = {f.path: f for f in corpus.files}
    assert sorted(files) == ["catalog.toml", "north.txt", "south.txt", "wire.txt"]
    for rel, f in files.items():
        data = (fixture_corpus / rel).read_bytes()
        assert f.sha256 == hashlib.sha256(data).hexdigest()
        assert f.size == len(data)
