"""PDF text extraction (pypdf), run in a bounded subprocess: a PDF becomes one text and its pages.

The text of a PDF is what pypdf extracts, page by page, joined by a blank line; ``pages`` holds
the offset where each page starts in that text, so a passage's page is a lookup and the rule
``document.text[start:end] == passage.text`` holds for PDFs as for any other file.

Parsing runs in a child process with a timeout and an address-space limit: a truncated file, a
circular ``/Prev`` chain or a compression bomb costs at most ``TIMEOUT_S`` seconds and
``MEMORY_BYTES`` of memory, and ends as one sentence about that file (pypdf has had such
denial-of-service bugs; the build of every other file goes on).
"""

from __future__ import annotations

import json
import subprocess
import sys

PAGE_SEPARATOR = "\n\n"
TIMEOUT_S = 60
MEMORY_BYTES = 2 << 30

# The child reads the PDF's bytes on stdin and writes {"pages": [...]} or {"error": ...} on
# stdout. Isolated (-I): it imports pypdf and the standard library, nothing of the caller. It
# limits its own memory (argv[1] bytes) before importing pypdf: a ``preexec_fn`` would run
# Python between fork and exec, which can deadlock when the parent has other threads (a web
# server, gRPC's), and a deadlocked child reads as a PDF that took too long.
_CHILD = r"""
import io, json, logging, sys
logging.disable(logging.CRITICAL)
def limit_memory(limit):
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # no RLIMIT_AS on this system: the parent's timeout still bounds the work
def main():
    data = sys.stdin.buffer.read()
    from pypdf import PdfReader
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # only an owner password: readable by anyone
            except Exception:
                opened = 0
            if not opened:
                return {"error": "encrypted"}
        return {"pages": [page.extract_text() or "" for page in reader.pages]}
    except Exception as exc:
        return {"error": "unreadable", "detail": f"{type(exc).__name__}: {exc}"[:160]}
limit_memory(int(sys.argv[1]))
sys.stdout.write(json.dumps(main()))
"""


class PdfError(Exception):
    """A PDF whose text cannot be extracted; the message completes "Skipped FILE: …"."""


def extract(raw: bytes) -> tuple[str, tuple[int, ...]]:
    """The text of a PDF and the offset of each page in it, or a :class:`PdfError`.

    Example:
        >>> text, pages = extract(open("report.pdf", "rb").read())  # doctest: +SKIP
        >>> text[pages[1]:pages[1] + 20]  # doctest: +SKIP
        'Page two begins here'
    """
    try:
        done = subprocess.run([sys.executable, "-I", "-c", _CHILD, str(MEMORY_BYTES)],
                              input=raw, capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise PdfError(f"reading this PDF took over {TIMEOUT_S} s (a damaged or hostile "
                       "file); repair it (e.g. `qpdf in.pdf out.pdf`) and rebuild") from exc
    if done.returncode != 0:
        raise PdfError(_crash_reason(done.stderr))
    try:
        result = json.loads(done.stdout)
    except ValueError as exc:
        raise PdfError("the PDF reader gave no result; repair the file and rebuild") from exc
    if result.get("error") == "encrypted":
        raise PdfError("an encrypted PDF; decrypt it (e.g. `qpdf --decrypt`) and rebuild")
    if "error" in result:
        raise PdfError(f"a PDF that cannot be read ({result.get('detail', 'unknown error')}); "
                       "repair it (e.g. `qpdf in.pdf out.pdf`) and rebuild")
    return join_pages([str(page) for page in result["pages"]])


def join_pages(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """One text from the pages' texts (newlines normalised) and each page's start offset."""
    texts = [p.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
             for p in pages]
    if not any(t.strip() for t in texts):
        raise PdfError("a PDF with no text layer (scanned or image-only); run OCR on it "
                       "(e.g. `ocrmypdf in.pdf out.pdf`) and rebuild")
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(texts), tuple(starts)


def _crash_reason(stderr: bytes) -> str:
    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
    if "MemoryError" in tail[0]:
        return (f"reading this PDF needs more than {MEMORY_BYTES >> 30} GiB of memory (a "
                "damaged or hostile file); repair it and rebuild")
    return f"the PDF reader failed ({tail[0][:120]}); repair the file and rebuild"
