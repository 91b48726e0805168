"""Passages: verbatim, ordered, non-overlapping spans that cover the text (properties + seeds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from askcorpus.attribution import Attributor
from askcorpus.corpus import load_corpus
from askcorpus.passages import split_document
from askcorpus.segment import blocks, is_boilerplate, sentences
from askcorpus.settings import Settings
from askcorpus.types import Actor, Document, Passage

SEED_IDS = ["cbsla-2020", "civilnet-2023", "petition-2020", "ngo-letter-2022", "globalarm-2023"]

# Pieces that stress the chunker: abbreviations, numbers, quotes of every kind, CJK, emoji
# (with modifiers and joiners), combining marks, ligatures, superscript footnote digits,
# URLs, very long "words", and every sentence end the segmenter knows.
PIECES = [
    "the", "dam", "Water", "river's", "farms", "Mr.", "Dr.", "U.S.", "e.g.", "No.", "St.",
    "3.5", "1,200", "2020.", "—", "–", "(note)", "[1]", "“quoted", "words,”", "\"plain\"",
    "‘single’", "'apostrophe'", "l'eau", "naïve", "e\u0301te\u0301", "Zu\u0308rich", "ﬁne",
    "中文句子。", "日本語の文章です。", "한국어", "😀", "👍🏽", "👩‍👩‍👧", "x²", "¹", "²³", "⁴⁵⁶",
    "a" * 300, "Supercalifragilistic" * 12, "http://example.org/x?y=1", "<https://a.b/c>",
    "…", ".", "!", "?", ":", ";", ",", "•", "A", "Z.", "said", "he", "“", "”",
]
SEPARATORS = [" ", " ", " ", " ", "\n", "\n\n", "\n \n", "\n\t\n\n", ". ", "? ", "! ", "… ",
              ".\n\n", "\u00a0", "\t", "\r\n", "\n\n¹ ", "\n\n¹² ", "\n\n  • ", "\n\n\n"]

piece = st.one_of(st.sampled_from(PIECES), st.text(min_size=1, max_size=4))
mixed_documents = st.lists(st.tuples(piece, st.sampled_from(SEPARATORS)), max_size=250).map(
    lambda parts: "".join(word + sep for word, sep in parts))

# Documents shaped like real ones: headings, prose paragraphs, quotes, lists and footnotes.
_word = st.one_of(st.sampled_from(PIECES[:30]), st.text(alphabet="abcdefghij中文é", min_size=1,
                                                        max_size=8))
_sentence = st.lists(_word, min_size=1, max_size=25).map(
    lambda words: " ".join(["The", *words]) + ".")
_heading = st.lists(st.sampled_from(["River", "Dam", "Report", "Water", "North", "2020"]),
                    min_size=1, max_size=8).map(" ".join)
_paragraph = st.one_of(
    _heading,
    st.lists(_sentence, min_size=1, max_size=6).map(" ".join),
    _sentence.map(lambda s: f"“{s}” he said."),
    st.lists(_sentence, min_size=1, max_size=4).map(lambda ss: "\n".join(f"  • {x}" for x in ss)),
    st.tuples(st.sampled_from(["¹", "²", "¹⁰", "⁴²"]), _sentence).map(" ".join),
)
structured_documents = st.lists(
    st.tuples(_paragraph, st.sampled_from(["\n\n", "\n\n\n", "\n \n", "\n"])),
    max_size=12).map(lambda parts: "".join(para + sep for para, sep in parts))
word_limits = st.integers(min_value=1, max_value=60).flatmap(
    lambda low: st.tuples(st.just(low), st.integers(min_value=low, max_value=200)))


def _document(text: str, doc_id: str = "doc") -> Document:
    return Document(doc_id=doc_id, path=f"{doc_id}.txt", title=doc_id, text=text)


def _split(document: Document, min_words: int, max_words: int) -> list[Passage]:
    return split_document(document, Attributor(()), min_words=min_words, max_words=max_words)


def _has_boilerplate(text: str) -> bool:
    """True when the chunker would drop some of ``text`` on purpose (a furniture line)."""
    if any(is_boilerplate(line) for line in text.split("\n")):
        return True
    return any(is_boilerplate(text[s.start:s.end])
               for b in blocks(text) for s in sentences(text, b))


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for b in blocks(text) for s in sentences(text, b)]


def _sentences_in(spans: list[tuple[int, int]], passage: Passage) -> int:
    """How many of the segmenter's sentences a passage touches."""
    return sum(1 for start, end in spans if start < passage.end and end > passage.start)


def _uncovered(text: str, passages: list[Passage]) -> list[tuple[int, int]]:
    """Maximal runs of characters outside every passage that hold something other than space."""
    covered = bytearray(len(text))
    for p in passages:
        covered[p.start:p.end] = b"\x01" * (p.end - p.start)
    runs, i = [], 0
    while i < len(text):
        if covered[i] or text[i].isspace():
            i += 1
            continue
        j = i
        while j < len(text) and not covered[j]:
            j += 1
        runs.append((i, j))
        i = j
    return runs


def _dropped_as_boilerplate(text: str, start: int, end: int) -> bool:
    """The run lies in a paragraph classified as boilerplate, or every line of it is one."""
    if any(b.kind == "boilerplate" and b.start <= start and end <= b.end + 1 for b in blocks(text)):
        return True
    lines = [line for line in text[start:end].split("\n") if line.strip()]
    return bool(lines) and all(is_boilerplate(line) for line in lines)


def assert_passage_invariants(document: Document, passages: list[Passage], *,
                              max_words: int) -> None:
    text = document.text
    spans = _sentence_spans(text)
    previous_end = 0
    for p in passages:
        assert p.doc_id == document.doc_id
        assert 0 <= p.start < p.end <= len(text), p
        assert p.text == text[p.start:p.end], p.passage_id
        assert p.text.strip(), f"{p.passage_id} is blank"
        assert p.start >= previous_end, f"{p.passage_id} overlaps or precedes the one before it"
        previous_end = p.end
        words = len(p.text.split())
        if words > max_words:
            assert _sentences_in(spans, p) == 1, (
                f"{p.passage_id} has {words} words > max_words={max_words} and is not a single "
                f"sentence: {p.text!r}")
        assert Passage.from_dict(p.to_dict()) == p
    ids = [p.passage_id for p in passages]
    assert len(ids) == len(set(ids)), "passage ids are not unique"


def assert_full_coverage(document: Document, passages: list[Passage]) -> None:
    missing = [document.text[a:b] for a, b in _uncovered(document.text, passages)]
    assert not missing, f"text outside every passage: {missing[:5]!r}"


# --------------------------------------------------------------------------- properties


def _check_verbatim_ordered_covering(text: str, limits: tuple[int, int]) -> None:
    assume(not _has_boilerplate(text))
    document = _document(text)
    passages = _split(document, *limits)
    assert_passage_invariants(document, passages, max_words=limits[1])
    assert_full_coverage(document, passages)


@given(text=st.text(), limits=word_limits)
def test_any_text_splits_into_verbatim_ordered_covering_passages(text: str,
                                                                 limits: tuple[int, int]) -> None:
    _check_verbatim_ordered_covering(text, limits)


@given(text=mixed_documents, limits=word_limits)
def test_mixed_paragraphs_split_into_verbatim_ordered_covering_passages(
        text: str, limits: tuple[int, int]) -> None:
    _check_verbatim_ordered_covering(text, limits)


@given(text=structured_documents, limits=word_limits)
def test_structured_documents_split_into_verbatim_ordered_covering_passages(
        text: str, limits: tuple[int, int]) -> None:
    _check_verbatim_ordered_covering(text, limits)


@given(text=st.one_of(st.text(), mixed_documents, structured_documents), limits=word_limits)
def test_splitting_is_deterministic(text: str, limits: tuple[int, int]) -> None:
    first = _split(_document(text), *limits)
    second = _split(_document(text), *limits)
    assert first == second
    assert [p.passage_id for p in first] == [p.passage_id for p in second]


@given(text=st.text(alphabet=" \t\n\r\u00a0\u2028\u3000\x0b\x0c", max_size=50),
       limits=word_limits)
def test_empty_or_whitespace_document_has_no_passages(text: str, limits: tuple[int, int]) -> None:
    assert _split(_document(text), *limits) == []


def test_a_sentence_longer_than_max_words_is_kept_whole() -> None:
    sentence = "Long " + " ".join(["word"] * 30) + "."
    document = _document(f"Short one here. {sentence} Another short one.")
    passages = _split(document, 1, 10)
    assert any(p.text == sentence for p in passages)


def test_a_heading_does_not_push_a_passage_over_max_words() -> None:
    document = _document("Dam report\n\nLong " + " ".join(["word"] * 12) + ".")
    passages = _split(document, 1, 10)
    assert_passage_invariants(document, passages, max_words=10)


def test_boilerplate_between_headings_is_left_out() -> None:
    text = ("First headline\n\nRead More Here\n\nSecond headline\n\n"
            "The council met on Monday and agreed to open the gates.\n")
    passages = _split(_document(text), 40, 150)
    assert passages
    assert not [p.text for p in passages if "Read More Here" in p.text]


def test_a_sentence_split_between_two_speakers_loses_no_word() -> None:
    text = "North says 20 farms were flooded, while South says it lost 40 wells.\n"
    attributor = Attributor([Actor("North", "north"), Actor("South", "south")])
    passages = split_document(_document(text), attributor, min_words=40, max_words=150)
    assert [p.speaker for p in passages] == ["North", "South"]
    assert_full_coverage(_document(text), passages)


# --------------------------------------------------------------------------- the real seeds


@pytest.fixture(scope="module")
def seed_split(seed_corpus: Path) -> dict[str, tuple[Document, list[Passage]]]:
    """Every seed document with its passages, cut with the default settings."""
    corpus = load_corpus(seed_corpus)
    attributor = Attributor(corpus.catalog.actors, corpus.catalog.overrides)
    s = Settings()
    return {d.doc_id: (d, split_document(d, attributor, min_words=s.min_words,
                                         max_words=s.max_words))
            for d in corpus.documents}


def test_every_seed_document_is_loaded(seed_split: dict) -> None:
    assert sorted(seed_split) == sorted(SEED_IDS)


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_seed_passages_hold_the_invariants(seed_split: dict, doc_id: str) -> None:
    document, passages = seed_split[doc_id]
    assert passages
    assert_passage_invariants(document, passages, max_words=Settings().max_words)


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_seed_passages_cover_everything_but_boilerplate(seed_split: dict, doc_id: str) -> None:
    document, passages = seed_split[doc_id]
    lost = [document.text[a:b] for a, b in _uncovered(document.text, passages)
            if not _dropped_as_boilerplate(document.text, a, b)]
    assert not lost, f"{doc_id}: text that is in no passage and is not boilerplate: {lost!r}"


def test_seed_splitting_is_deterministic(seed_corpus: Path, seed_split: dict) -> None:
    corpus = load_corpus(seed_corpus)
    attributor = Attributor(corpus.catalog.actors, corpus.catalog.overrides)
    for document in corpus.documents:
        assert split_document(document, attributor) == seed_split[document.doc_id][1]


# --------------------------------------------------------------------------- boilerplate


@pytest.mark.parametrize("furniture", ["View CBS News In", "Chrome Safari Continue",
                                       "Get browser notifications", "Watch CBS News"])
def test_cbs_page_furniture_is_in_no_passage(seed_split: dict, furniture: str) -> None:
    _, passages = seed_split["cbsla-2020"]
    assert not [p.passage_id for p in passages if furniture in p.text]


def test_read_more_here_links_are_not_passages(seed_split: dict) -> None:
    _, passages = seed_split["globalarm-2023"]
    for p in passages:
        assert p.text.strip() != "Read More Here", p.passage_id
        assert not p.text.startswith("Read More Here"), p.passage_id


def test_petition_counter_is_in_no_passage(seed_split: dict) -> None:
    _, passages = seed_split["petition-2020"]
    assert not [p.text for p in passages if "have signed" in p.text]


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_no_seed_passage_contains_a_boilerplate_line(seed_split: dict, doc_id: str) -> None:
    """split_document promises never to include boilerplate, not even between two headings."""
    _, passages = seed_split[doc_id]
    leaks = [(p.passage_id, line.strip()) for p in passages for line in p.text.split("\n")
             if line.strip() and is_boilerplate(line)]
    assert not leaks


# --------------------------------------------------------------------------- footnotes


def test_ngo_letter_has_one_footnote_passage_number_per_footnote(seed_split: dict) -> None:
    _, passages = seed_split["ngo-letter-2022"]
    numbers = {p.footnote_number for p in passages if p.kind == "footnote"}
    assert numbers == set(range(1, 57))
    assert all(p.footnote_number is None for p in passages if p.kind != "footnote")


def test_footnote_passages_start_with_their_marker(seed_split: dict) -> None:
    _, passages = seed_split["ngo-letter-2022"]
    first = {}
    for p in passages:
        if p.kind == "footnote":
            first.setdefault(p.footnote_number, p)
    assert first[10].text.startswith("¹⁰ “Azerbaijan: Cluster Munitions Used")
    assert first[3].text.startswith("³ European Commission against Racism")


def test_body_passage_records_the_footnotes_it_cites(seed_split: dict) -> None:
    _, passages = seed_split["ngo-letter-2022"]
    citing = [p for p in passages if "including with cluster munitions.¹⁰" in p.text]
    assert len(citing) == 1
    assert citing[0].kind != "footnote"
    assert 10 in citing[0].footnotes
