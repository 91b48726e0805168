"""Corpus loading: files on disk (text, Markdown, HTML, JSONL, PDF) become Documents."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from askcorpus import pdf
from askcorpus.catalog import CATALOG_NAME, Catalog, DocumentEntry, load_catalog
from askcorpus.errors import CatalogError, CorpusError
from askcorpus.hashing import sha256_bytes, sha256_stream
from askcorpus.inference import example_questions, stated_metadata
from askcorpus.types import UNLABELED, Document

# The seed corpus ships inside the package (a link to the repository's seeds/ in a checkout),
# so ``askcorpus.build()`` and the README example work from any folder.
SEED_CORPUS = Path(__file__).resolve().parent / "data" / "seeds"
TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES | PDF_SUFFIXES
_BINARY_MAGIC = (b"\x89PNG", b"%PDF", b"PK\x03\x04", b"\x7fELF", b"GIF8", b"\xff\xd8\xff")
_JSONL_KEYS = {"id", "text", "title", "publisher", "date", "url", "perspective", "author", "kind"}


@dataclass(frozen=True)
class CorpusFile:
    """A file of the corpus with its fingerprint (for staleness checks)."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Corpus:
    """Everything read from a corpus folder."""

    root: Path
    catalog: Catalog
    documents: tuple[Document, ...]
    files: tuple[CorpusFile, ...]
    warnings: tuple[str, ...]
    empty: tuple[str, ...] = ()


def fingerprint(root: Path) -> tuple[CorpusFile, ...]:
    """SHA-256 and size of every file askcorpus reads from ``root`` (catalog included)."""
    out = []
    for path in _candidate_files(root):
        try:
            digest, size = sha256_stream(path)
        except OSError as exc:
            raise CorpusError(f"Cannot read {_rel(path, root)} ({exc.strerror}); check its "
                              "permissions and rebuild.") from exc
        out.append(CorpusFile(_rel(path, root), digest, size))
    return tuple(out)


def changed_since(root: Path, built: dict[str, str]) -> list[str]:
    """Corpus files added, removed or edited since a build read ``built`` (path -> SHA-256)."""
    if not root.is_dir():
        return [f"{root} (corpus folder missing)"]
    now = {f.path: f.sha256 for f in fingerprint(root)}
    return sorted({p for p in built.keys() | now.keys() if built.get(p) != now.get(p)})


def file_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Every file's path, size and modification time: cheap to compare, hashes only on change."""
    try:
        return tuple(sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                            for p in root.rglob("*") if p.is_file()))
    except OSError:
        return ()


def load_corpus(root: Path | str, *, max_doc_bytes: int = 20_000_000,
                strict: bool = False, progress: bool = False) -> Corpus:
    """Read every supported file under ``root`` into Documents, validated against the catalog.

    Example:
        >>> corpus = load_corpus("seeds")  # doctest: +SKIP
        >>> [d.doc_id for d in corpus.documents][:1]  # doctest: +SKIP
        ['cbsla-2020']
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"Corpus folder {root} does not exist; pass the folder of your "
                          "documents as `corpus` (CLI: --corpus).")
    catalog = load_catalog(root)
    _check_catalog_files(root, catalog)
    warnings: list[str] = []
    documents: list[Document] = []
    empty: list[str] = []
    seen: dict[str, str] = {}
    for path in _progress(_candidate_files(root), progress):
        if path.name == CATALOG_NAME:
            continue
        rel = _rel(path, root)
        entry = catalog.entry_for(rel)
        if catalog.documents and entry is None:
            message = f"{rel} is not in {CATALOG_NAME}; it is indexed as unlabeled."
            if strict:
                raise CatalogError(f"{rel} is not in {CATALOG_NAME}; add it, or build without "
                                   "strict=True (CLI: --strict).")
            warnings.append(message)
        raw = _read_bounded(path, rel, max_doc_bytes)
        reason = _skip_reason(raw, max_doc_bytes, path.suffix.lower()) if raw is not None else \
            f"larger than the {max_doc_bytes}-byte limit ({path.stat().st_size} bytes)"
        if raw is None or reason:
            warnings.append(f"Skipped {rel}: {reason}.")
            continue
        digest = sha256_bytes(raw)
        if digest in seen:
            warnings.append(f"Skipped {rel}: identical to {seen[digest]}.")
            continue
        seen[digest] = rel
        try:
            found = _documents_of(path, rel, raw, entry)
        except pdf.PdfError as exc:  # one bad PDF is skipped, saying why; the rest is indexed
            warnings.append(f"Skipped {rel}: {exc}.")
            continue
        for doc in found:
            if not doc.text.strip():
                warnings.append(f"{rel} is empty; it has no passages.")
                empty.append(rel)
            documents.append(doc)
    _reject_duplicate_ids(documents)
    _require_text(root, documents, warnings)
    if not catalog.examples:
        # The web UI and the index offer these; without a catalog they come from the corpus.
        catalog = replace(catalog, examples=example_questions(documents))
    return Corpus(root, catalog, tuple(documents), fingerprint(root), tuple(warnings),
                  tuple(empty))


def _progress(files: list[Path], show: bool) -> Iterable[Path]:
    """The files, with a "Reading files" bar when ``show`` (builds from the CLI)."""
    if not show or not files:
        return files
    from tqdm.auto import tqdm

    # delay: a folder read in under a second shows no bar at all.
    return tqdm(files, desc="Reading files", unit="file", dynamic_ncols=True, delay=1.0)


def decode_text(raw: bytes, rel: str, encoding: str | None = None) -> str:
    """Decode strictly as UTF-8 (or UTF-16 with a BOM, or the catalog's ``encoding``), drop
    the BOM, normalise newlines once."""
    if encoding is not None:
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            where = f" (byte offset {exc.start})" if isinstance(exc, UnicodeDecodeError) else ""
            raise CorpusError(f"{rel} cannot be decoded as {encoding}{where}; fix its "
                              "'encoding' in the catalog or re-save it as UTF-8.") from exc
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{rel} is not valid UTF-16 (byte offset {exc.start}); "
                              "re-save it as UTF-8 and rebuild.") from exc
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorpusError(f"{rel} is not valid UTF-8 (byte offset {exc.start}); "
                              "re-save it as UTF-8 and rebuild.") from exc
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def html_to_text(markup: str) -> tuple[str, str | None]:
    """Readable text of an HTML page (scripts, styles and comments dropped) and its title."""
    # selectolax >= 1.0 removed the Modest backend (selectolax.parser raises ImportError).
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(markup)
    tree.strip_tags(["script", "style", "noscript", "template", "iframe", "object", "svg"])
    title_node = tree.css_first("title") or tree.css_first("h1")
    title = title_node.text(strip=True) if title_node else None
    blocks = "h1,h2,h3,h4,h5,h6,p,li,blockquote,pre,td,th,dt,dd,figcaption"
    paragraphs = []
    for node in tree.css(blocks):
        if _has_block_ancestor(node, blocks):
            continue
        text = " ".join(node.text(deep=True, separator=" ").split())
        if text:
            paragraphs.append(text)
    if not paragraphs and tree.body is not None:
        paragraphs = [" ".join(line.split()) for line in
                      tree.body.text(separator="\n").split("\n") if line.strip()]
    return "\n\n".join(paragraphs), (title or None)


def _has_block_ancestor(node: object, blocks: str) -> bool:
    names = set(blocks.split(","))
    parent = node.parent  # type: ignore[attr-defined]
    while parent is not None:
        if parent.tag in names:
            return True
        parent = parent.parent
    return False


def _documents_of(path: Path, rel: str, raw: bytes, entry: DocumentEntry | None) -> list[Document]:
    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        text, pages = pdf.extract(raw)
        return [replace(_document(rel, text, entry, path.name), pages=pages)]
    text = decode_text(raw, rel, entry.encoding if entry is not None else None)
    if suffix in JSONL_SUFFIXES:
        return _jsonl_documents(text, rel)
    title = None
    if suffix in HTML_SUFFIXES:
        text, title = html_to_text(text)
    stated = stated_metadata(text, suffix)
    if title is not None:
        stated = replace(stated, title=title)
    return [_document(rel, text, entry, stated.title or path.name, stated)]


def _document(rel: str, text: str, entry: DocumentEntry | None, fallback_title: str,
              stated: object = None) -> Document:
    """A catalog entry's fields win; what the file states fills only the fields it leaves out."""
    date = getattr(stated, "date", None)
    publisher = getattr(stated, "publisher", None)
    author = getattr(stated, "author", None)
    if entry is None:
        return Document(doc_id=_id_from_path(rel), path=rel, title=fallback_title, text=text,
                        date=date, publisher=publisher, author=author)
    return Document(doc_id=entry.doc_id, path=rel, title=entry.title or fallback_title, text=text,
                    perspective=entry.perspective, publisher=entry.publisher or publisher,
                    author=entry.author or author, date=entry.date or date, url=entry.url,
                    kind=entry.kind)


def _jsonl_documents(text: str, rel: str) -> list[Document]:
    docs = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{rel} line {number} is not valid JSON ({exc.msg}); "
                              "fix it.") from exc
        if not isinstance(row, dict) or not isinstance(row.get("id"), str | int) \
                or not isinstance(row.get("text"), str):
            raise CorpusError(f"{rel} line {number} needs a string 'id' and 'text'.")
        unknown = sorted(set(row) - _JSONL_KEYS)
        if unknown:
            raise CorpusError(f"{rel} line {number} has unknown key '{unknown[0]}'.")
        optional = {k: (str(row[k]) if row.get(k) is not None else None)
                    for k in ("publisher", "date", "url", "author", "kind")}
        docs.append(Document(doc_id=str(row["id"]), path=rel,
                             title=str(row.get("title") or row["id"]),
                             text=row["text"].replace("\r\n", "\n").replace("\r", "\n"),
                             perspective=str(row.get("perspective") or UNLABELED), **optional))
    return docs


def _read_bounded(path: Path, rel: str, max_doc_bytes: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``max_doc_bytes`` (never read whole)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_doc_bytes + 1)
    except OSError as exc:
        raise CorpusError(f"Cannot read {rel} ({exc.strerror}); check its permissions and "
                          "rebuild.") from exc
    return None if len(raw) > max_doc_bytes else raw


def _skip_reason(raw: bytes, max_doc_bytes: int, suffix: str = "") -> str | None:
    if len(raw) > max_doc_bytes:
        return f"larger than the {max_doc_bytes}-byte limit ({len(raw)} bytes)"
    if suffix in PDF_SUFFIXES:
        return None if b"%PDF-" in raw[:1024] else "not a PDF (no %PDF- header)"
    if raw.startswith(_BINARY_MAGIC):
        return "binary content (a known binary file signature)"
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary content (NUL bytes)"
    return None


def _candidate_files(root: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or (path.suffix.lower() not in SUPPORTED
                                        and name != CATALOG_NAME):
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(root.resolve()):
                continue
            files.append(path)
    return files


def _check_catalog_files(root: Path, catalog: Catalog) -> None:
    resolved_root = root.resolve()
    escaping = [d.file for d in catalog.documents
                if Path(d.file).is_absolute()
                or not (root / d.file).resolve().is_relative_to(resolved_root)]
    if escaping:
        raise CatalogError(f"{root / CATALOG_NAME}: document path(s) {', '.join(escaping)} lie "
                           "outside the corpus folder; list only files inside it.")
    missing = [d.file for d in catalog.documents if not (root / d.file).is_file()]
    if missing:
        raise CatalogError(f"{root / CATALOG_NAME} names missing file(s): {', '.join(missing)}; "
                           "add them to the folder or remove their entries.")


def _require_text(root: Path, documents: list[Document], warnings: list[str]) -> None:
    """A corpus with nothing to index is an error, not an empty index that answers nothing."""
    if any(d.text.strip() for d in documents):
        return
    kinds = ", ".join(sorted(SUPPORTED))
    if not documents:
        skipped = [w for w in warnings if w.startswith("Skipped ")]
        found = f" (skipped: {'; '.join(s.removeprefix('Skipped ') for s in skipped[:3])})" \
            if skipped else ""
        raise CorpusError(f"Corpus folder {root} holds no documents askcorpus can read{found}; "
                          f"add {kinds} files to it.")
    raise CorpusError(f"Corpus folder {root} holds only empty documents "
                      f"({', '.join(d.path for d in documents[:3])}); add text to them.")


def _reject_duplicate_ids(documents: list[Document]) -> None:
    seen: dict[str, str] = {}
    for doc in documents:
        if doc.doc_id in seen:
            raise CorpusError(f"Document id '{doc.doc_id}' is used by both {seen[doc.doc_id]} "
                              f"and {doc.path}; give each document a unique id.")
        seen[doc.doc_id] = doc.path


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _id_from_path(rel: str) -> str:
    return rel.rsplit(".", 1)[0].replace("/", "-")


def has_documents(root: Path) -> bool:
    """Whether ``root`` holds at least one file of a supported kind."""
    return any(p.suffix.lower() in SUPPORTED for p in root.rglob("*") if p.is_file())
