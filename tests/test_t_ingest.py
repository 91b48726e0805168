"""Reliability matrix T12-T22: what a build does with odd, broken or hostile corpus files."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest

import askcorpus
from askcorpus.cli import main as cli_main
from askcorpus.corpus import load_corpus
from askcorpus.errors import CatalogError, CorpusError
from askcorpus.settings import Settings
from conftest import FIXTURE_CATALOG, HASH_MODEL, write_corpus
from pdf_helpers import RIVER_PAGES, encrypted_pdf, make_pdf
from reliability_helpers import audited, current_gen, opens_outside, tree_digest

DOC = "A long enough sentence about the river and the farms in the valley. " * 3


def _manifest(index: askcorpus.Index) -> dict:
    return json.loads((current_gen(index.index_dir) / "manifest.json").read_text())


def _build_cli(corpus: Path, index: Path, *extra: str) -> int:
    return cli_main(["build", "--corpus", str(corpus), "--index", str(index),
                     "--model", HASH_MODEL, *extra])


# --------------------------------------------------------------------------- T12
def test_t12_invalid_utf8(hash_index, fixture_corpus, capsys):
    index_dir = hash_index.index_dir
    before = tree_digest(index_dir)
    (fixture_corpus / "bad.txt").write_bytes(b"Good start. " + b"\xff\xfe\xfa" + b" end.")
    with pytest.raises(CorpusError, match=r"bad\.txt is not valid UTF-8 \(byte offset 12\)"):
        askcorpus.build(fixture_corpus, index_dir, model=HASH_MODEL)
    assert _build_cli(fixture_corpus, index_dir) == 2
    err = capsys.readouterr().err
    assert "bad.txt" in err and "byte offset 12" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert tree_digest(index_dir) == before
    # The catalog may name another encoding for one file; then it decodes.
    catalog = FIXTURE_CATALOG + '[[documents]]\nfile = "latin.txt"\nid = "latin"\n' \
        'encoding = "cp1252"\n'
    write_corpus(fixture_corpus, {"latin.txt": "Caf\xe9 on the river dam.".encode("cp1252")},
                 catalog)
    (fixture_corpus / "bad.txt").unlink()
    index = askcorpus.build(fixture_corpus, index_dir, model=HASH_MODEL)
    assert index.document("latin").text == "Café on the river dam."


# --------------------------------------------------------------------------- T13
def test_t13_bom_and_newlines(tmp_path):
    text = "First line about the dam.\nSecond paragraph follows.\n\nThird: the farms said so.\n"
    files = {
        "bom.txt": b"\xef\xbb\xbf" + text.encode(),
        "utf16.txt": text.encode("utf-16"),  # with its BOM
        "utf16be.txt": b"\xfe\xff" + text.encode("utf-16-be"),
        "crlf.txt": text.replace("\n", "\r\n").encode(),
        "cr.txt": text.replace("\n", "\r").encode(),
        "mixed.txt": b"One.\r\nTwo.\rThree.\n\r\nFour about the river dam.",
    }
    corpus = write_corpus(tmp_path / "corpus", files)
    index = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    docs = {d.path: d for d in index.documents()}
    assert set(docs) == set(files)
    for name in ("bom.txt", "utf16.txt", "utf16be.txt", "crlf.txt", "cr.txt"):
        assert docs[name].text == text, name
    assert docs["mixed.txt"].text == "One.\nTwo.\nThree.\n\nFour about the river dam."
    for doc in docs.values():
        assert "\ufeff" not in doc.text and "\r" not in doc.text
        passages = index.passages_of(doc.doc_id)
        assert passages
        for p in passages:
            assert p.text == doc.text[p.start:p.end]


# --------------------------------------------------------------------------- T14
def test_t14_binary_and_oversized(tmp_path):
    limit = 1_000_000
    corpus = write_corpus(tmp_path / "corpus", {
        "ok.txt": DOC,
        "nul.txt": b"text\x00with\x00nul bytes" * 10,
        "png.txt": b"\x89PNG\r\n\x1a\n" + os.urandom(200),
        "pdf.md": b"%PDF-1.7\n" + os.urandom(200),
        "elf.txt": b"\x7fELF" + os.urandom(100),
    })
    with (corpus / "huge.txt").open("wb") as handle:  # 60 MB of text, over the limit
        for _ in range(60):
            handle.write(b"word " * 200_000 + b"\n")
    tracemalloc.start()
    try:
        loaded = load_corpus(corpus, max_doc_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * limit, f"peak {peak} bytes while skipping a 60 MB file"
    assert [d.path for d in loaded.documents] == ["ok.txt"]
    warnings = "\n".join(loaded.warnings)
    assert "Skipped huge.txt: larger than the 1000000-byte limit" in warnings
    for name in ("nul.txt", "png.txt", "pdf.md", "elf.txt"):
        assert f"Skipped {name}: binary content" in warnings
    index = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL,
                            settings=Settings(max_doc_bytes=limit))
    assert {p.doc_id for p in index.passages()} == {"ok"}


# --------------------------------------------------------------------------- T15
def test_t15_empty_file(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "corpus", {"ok.txt": DOC, "empty.txt": "",
                                                "blank.md": "  \n\t\n \u3000\n"})
    assert _build_cli(corpus, tmp_path / "index") == 0
    err = capsys.readouterr().err
    assert "empty.txt is empty" in err and "blank.md is empty" in err
    index = askcorpus.open(tmp_path / "index")
    manifest = _manifest(index)
    assert sorted(manifest["corpus"]["empty"]) == ["blank.md", "empty.txt"]
    assert not index.passages_of("empty") and not index.passages_of("blank")
    assert index.passages_of("ok")


# --------------------------------------------------------------------------- T16
def test_t16_duplicate_documents(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": DOC, "sub/copy.txt": DOC,
                                                "other.txt": "The dam was closed in May."})
    index = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    warnings = _manifest(index)["corpus"]["warnings"]
    assert any("sub/copy.txt" in w and "a.txt" in w and "identical" in w for w in warnings)
    texts = [p.text for p in index.passages()]
    assert len(texts) == len(set(texts))
    hits = [c.passage.passage_id for c in index.search("river farms valley", k=10)]
    assert len(hits) == len(set(hits))
    assert {c.document.doc_id for c in index.search("river farms valley", k=10)} <= {"a", "other"}


# --------------------------------------------------------------------------- T17
def test_t17_catalog_names_missing_files(hash_index, fixture_corpus):
    before = tree_digest(hash_index.index_dir)
    (fixture_corpus / "south.txt").unlink()
    (fixture_corpus / "wire.txt").unlink()
    with pytest.raises(CatalogError) as caught:
        askcorpus.build(fixture_corpus, hash_index.index_dir, model=HASH_MODEL)
    assert "south.txt" in str(caught.value) and "wire.txt" in str(caught.value)
    assert tree_digest(hash_index.index_dir) == before
    assert not [p for p in hash_index.index_dir.iterdir() if p.name.startswith("gen-tmp")]


# --------------------------------------------------------------------------- T18
def test_t18_file_not_in_catalog(fixture_corpus, tmp_path, capsys):
    (fixture_corpus / "extra.txt").write_text(DOC)
    index = askcorpus.build(fixture_corpus, tmp_path / "index", model=HASH_MODEL)
    assert any("extra.txt is not in catalog.toml" in w
               for w in _manifest(index)["corpus"]["warnings"])
    assert index.document("extra").perspective == "unlabeled"
    before = tree_digest(tmp_path / "index")
    assert _build_cli(fixture_corpus, tmp_path / "index", "--strict") == 2
    err = capsys.readouterr().err
    assert "extra.txt is not in catalog.toml" in err and "Traceback" not in err
    assert tree_digest(tmp_path / "index") == before


# --------------------------------------------------------------------------- T19
@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "link.txt",
                                    "sub/../../outside.txt"])
def test_t19_catalog_path_escapes_root(tmp_path, target):
    outside = tmp_path / "outside.txt"
    outside.write_text("SECRET " * 50)
    corpus = write_corpus(tmp_path / "corpus", {"ok.txt": DOC})
    (corpus / "link.txt").symlink_to(outside)
    (corpus / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    catalog = f'[[documents]]\nfile = "{target}"\nid = "x"\n'
    (corpus / "catalog.toml").write_text(catalog)
    with audited() as events, pytest.raises(CatalogError, match="outside the corpus folder"):
        askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    assert not opens_outside(events, corpus), opens_outside(events, corpus)
    assert not (tmp_path / "index" / "CURRENT").exists()
    # Without the catalog entry, the escaping symlinks are not followed at all.
    (corpus / "catalog.toml").unlink()
    with audited() as events:
        index = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    assert [d.path for d in index.documents()] == ["ok.txt"]
    assert not [t for k, t in events if k == "open" and "outside" in t]


# --------------------------------------------------------------------------- T20
BAD_CATALOGS = {
    "toml syntax": ('[[documents]]\nfile = "a.txt"\nid = \n', r"line 3"),
    "duplicate id": ('[[documents]]\nfile = "a.txt"\nid = "x"\n[[documents]]\n'
                     'file = "b.txt"\nid = "x"\n', "duplicate document id 'x'"),
    "missing id": ('[[documents]]\nfile = "a.txt"\n', "entry 1 needs a non-empty 'id'"),
    "missing file": ('[[documents]]\nid = "x"\n', "entry 1 needs a non-empty 'file'"),
    "unknown perspective": ('[[documents]]\nfile = "a.txt"\nid = "x"\nperspective = "mars"\n',
                            "perspective 'mars', which is not declared"),
    "unknown key": ('[[documents]]\nfile = "a.txt"\nid = "x"\ntitel = "typo"\n',
                    "unknown key 'titel'"),
    "unknown top key": ('[documentz]\n', "unknown key 'documentz'"),
    "bad actor kind": ('[[actors]]\nname = "A"\nkind = "robot"\n', "kind 'robot'"),
    "party undeclared": ('[contest]\nparties = ["north"]\n', "perspective 'north'"),
    "bad encoding": ('[[documents]]\nfile = "a.txt"\nid = "x"\nencoding = "klingon"\n',
                     "unknown encoding 'klingon'"),
    "not utf-8": (b'[[documents]]\nfile = "\xff"\n', "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD_CATALOGS))
def test_t20_malformed_catalog(tmp_path, case):
    text, expected = BAD_CATALOGS[case]
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": DOC, "b.txt": DOC + "more"})
    path = corpus / "catalog.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CatalogError, match=expected) as caught:
        askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    assert "catalog.toml" in str(caught.value)
    index_dir = tmp_path / "index"
    assert not index_dir.exists() or not any(index_dir.glob("gen-*"))


# --------------------------------------------------------------------------- T21
def test_t21_html_extraction(tmp_path):
    page = """<!doctype html><html><head><title>Dam &amp; River</title>
<style>body { color: red } .x::after { content: "STYLE-LEAK" }</style>
<script>alert("SCRIPT-LEAK")</script></head>
<body><!-- COMMENT-LEAK -->
<noscript>NOSCRIPT-LEAK</noscript><template>TEMPLATE-LEAK</template>
<h1>Water &amp; farms</h1>
<p>Rock &amp; roll&nbsp;fans said &quot;the dam&quot; is &lt;safe&gt; &#8212; &eacute;t&eacute;.</p>
<p>Second <b>bold</b> paragraph<script>alert('inline')</script> ends here.</p>
<svg onload="alert(1)"><text>SVG-LEAK</text></svg>
</body></html>"""
    corpus = write_corpus(tmp_path / "corpus", {"page.html": page})
    index = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    doc = index.documents()[0]
    for leak in ("alert(", "STYLE-LEAK", "COMMENT-LEAK", "NOSCRIPT-LEAK", "TEMPLATE-LEAK",
                 "SVG-LEAK", "<p>", "&amp;", "&quot;", "color: red"):
        assert leak not in doc.text, leak
    assert "Rock & roll fans said \"the dam\" is <safe> — été." in doc.text
    assert "Second bold paragraph ends here." in doc.text
    assert doc.title == "Dam & River"
    for p in index.passages():
        assert p.text == doc.text[p.start:p.end]


# --------------------------------------------------------------------------- T22
def _bomb_pdf() -> bytes:
    """A one-page PDF whose content stream inflates from ~100 kB to 100 MB of zeros."""
    packed = zlib.compress(bytes(100_000_000), 9)
    pdf = make_pdf([["x"]])
    return pdf.replace(b"<< /Length", b"<< /Filter /FlateDecode /Length %d >>\nstream\n"
                       % len(packed) + packed + b"\nendstream\nendobj\n9 0 obj\n<< /Length", 1)


def test_t22_pdfs_are_read_and_hostile_ones_skipped_with_a_reason(tmp_path, capsys):
    """Text PDFs are indexed with their pages; each hostile PDF is one warning saying why (and
    what to do), read in a subprocess bounded in time and memory; the other files still count."""
    hostile = {
        "truncated.pdf": b"%PDF-1.7\n1 0 obj <<",
        "bomb.pdf": _bomb_pdf(),
        "loop.pdf": b"%PDF-1.4\ntrailer << /Prev 9 >>\nstartxref\n9\n%%EOF",
        "UPPER.PDF": b"%PDF-1.4\n",
        "locked.pdf": encrypted_pdf(RIVER_PAGES),
        "scan.pdf": make_pdf([[], []]),
        "fake.pdf": b"Not a PDF at all, just text.",
    }
    corpus = write_corpus(tmp_path / "corpus", {"ok.txt": DOC, "river.pdf": make_pdf(RIVER_PAGES),
                                                **hostile})
    started = time.monotonic()
    assert _build_cli(corpus, tmp_path / "index") == 0
    assert time.monotonic() - started < 120
    err = capsys.readouterr().err
    index = askcorpus.open(tmp_path / "index")
    assert sorted(d.path for d in index.documents()) == ["ok.txt", "river.pdf"]
    warnings = [line for line in err.splitlines() if line.startswith("Warning: Skipped")]
    assert sorted(w.split()[2].rstrip(":") for w in warnings) == sorted(hostile)
    assert "Skipped locked.pdf: an encrypted PDF; decrypt it" in err
    assert "Skipped scan.pdf: a PDF with no text layer (scanned or image-only); run OCR" in err
    assert "Skipped fake.pdf: not a PDF" in err
    assert "Traceback" not in err
    river = index.document("river")
    assert len(river.pages) == 3
    for p in index.passages_of("river"):
        assert river.text[p.start:p.end] == p.text
