"""Atheris harness over askcorpus's untrusted-input paths (RELIABILITY.md T49).

Targets: ``corpus.decode_text`` (file bytes -> text), ``corpus.html_to_text`` (HTML extraction),
``segment``/``passages`` splitting (the chunker, with attribution), ``lexical.tokenize`` and
``query.clean_question`` (the question validator). The only exceptions allowed to escape are
askcorpus's typed ``AskcorpusError``s; anything else, or a broken invariant, is a crash.

    pip install atheris
    python fuzz/fuzz_ingest.py -max_total_time=60 -artifact_prefix=fuzz/crashes/ fuzz/corpus/

A crasher (saved by libFuzzer as ``fuzz/crashes/crash-*``) becomes a regression test by
adding its bytes to ``REGRESSIONS`` in tests/test_t_load.py (test_t49).
"""

from __future__ import annotations

import contextlib
import sys
import time

if __name__ == "__main__":  # under atheris: instrument askcorpus's own code for coverage
    import atheris

    _instrumented = atheris.instrument_imports(include=["askcorpus"])
else:  # imported by the pytest regression test (tests/test_t_load.py): no atheris needed
    _instrumented = contextlib.nullcontext()

with _instrumented:
    from askcorpus.attribution import Attributor
    from askcorpus.corpus import decode_text, html_to_text
    from askcorpus.errors import AskcorpusError
    from askcorpus.lexical import tokenize
    from askcorpus.passages import split_document
    from askcorpus.query import clean_question
    from askcorpus.segment import blocks, sentences
    from askcorpus.types import Actor, Document

MAX_SECONDS = 2.0  # per input: anything slower is a hang worth reporting
ACTORS = (
    Actor("Mayor Lena Ortiz", "north", aliases=("Ortiz",), kind="person"),
    Actor("Southern Council", "south", aliases=("the council",)),
)
_ATTRIBUTOR = Attributor(ACTORS)


def check_text(text: str) -> None:
    """Chunk ``text`` and check the invariants every passage must keep."""
    document = Document(doc_id="fuzz", path="fuzz.txt", title="fuzz", text=text)
    passages = split_document(document, _ATTRIBUTOR, min_words=5, max_words=30)
    previous_end = 0
    for p in passages:
        if document.text[p.start:p.end] != p.text:
            raise AssertionError(f"passage {p.passage_id} is not verbatim")
        if not p.text.strip() or not 0 <= p.start < p.end <= len(text):
            raise AssertionError(f"passage {p.passage_id} has bad bounds {p.start}-{p.end}")
        if p.start < previous_end:
            raise AssertionError(f"passage {p.passage_id} overlaps the previous one")
        previous_end = p.end
    for block in blocks(text):
        for s in sentences(text, block):
            if not block.start <= s.start < s.end <= block.end:
                raise AssertionError("sentence outside its block")


def target(data: bytes) -> None:
    """One fuzz input through every target; only AskcorpusError may escape."""
    started = time.perf_counter()
    try:
        text = decode_text(data, "fuzz.txt")
        if "\r" in text:
            raise AssertionError("decode_text left a carriage return")
    except AskcorpusError:
        text = data.decode("utf-8", errors="replace")
    check_text(text)
    extracted, _title = html_to_text(text)
    check_text(extracted)
    tokenize(text)
    with contextlib.suppress(AskcorpusError):
        clean_question(text, max_chars=2000)
    with contextlib.suppress(AskcorpusError, UnicodeDecodeError):
        clean_question(data.decode("utf-8", errors="surrogatepass"), max_chars=2000)
    if time.perf_counter() - started > MAX_SECONDS:
        raise AssertionError(f"one input took {time.perf_counter() - started:.1f}s")


def main() -> None:
    import atheris

    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
