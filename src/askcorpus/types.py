"""Records: the frozen values that flow from the corpus to an answer."""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["answered", "contested", "no_answer"]
PassageKind = Literal["body", "quote", "heading", "footnote"]
UNLABELED = "unlabeled"


@dataclass(frozen=True)
class Perspective:
    """A side that sources speak for, as the catalog declares it."""

    id: str
    label: str
    description: str = ""
    color: str = "#666666"


@dataclass(frozen=True)
class Actor:
    """A person or institution whose words the documents quote or report."""

    name: str
    perspective: str
    aliases: tuple[str, ...] = ()
    title: str = ""
    kind: Literal["person", "institution"] = "institution"


@dataclass(frozen=True)
class Document:
    """One source document; ``text`` is the exact text every offset refers to."""

    doc_id: str
    path: str
    title: str
    text: str
    perspective: str = UNLABELED
    publisher: str | None = None
    author: str | None = None
    date: str | None = None
    url: str | None = None
    kind: str | None = None
    # Where each page starts in ``text`` (PDFs); empty for documents without pages.
    pages: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", tuple(self.pages))  # a list when read from JSON

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset``, or None for a document without pages."""
        if not self.pages:
            return None
        return bisect.bisect_right(self.pages, offset)

    def metadata(self) -> dict[str, Any]:
        """Everything but the text, for manifests and listings."""
        data = asdict(self)
        del data["text"]
        return data


@dataclass(frozen=True)
class Reference:
    """A numbered footnote that a passage cites, with its place in the document."""

    number: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A verbatim span of a document: ``document.text[start:end] == text`` always."""

    passage_id: str
    doc_id: str
    start: int
    end: int
    text: str
    kind: PassageKind = "body"
    speaker: str | None = None
    perspective: str = UNLABELED
    attributed_by: str = "document default"
    section: str | None = None
    paragraph: int = 1
    paragraphs: int = 1
    footnotes: tuple[int, ...] = ()
    footnote_number: int | None = None
    speaker_role: str | None = None  # the role the text gives a speaker the catalog lacks

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["footnotes"] = list(self.footnotes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        return cls(**{**data, "footnotes": tuple(data.get("footnotes", ()))})


@dataclass(frozen=True)
class Citation:
    """A passage as shown to a reader: its source, score, rank and best sentence."""

    n: int
    passage: Passage
    document: Document
    score: float
    rank: int
    highlight: tuple[int, int]
    references: tuple[Reference, ...] = ()
    speaker_title: str | None = None

    @property
    def text(self) -> str:
        return self.passage.text

    @property
    def perspective(self) -> str:
        return self.passage.perspective

    @property
    def highlighted_text(self) -> str:
        start, end = self.highlight
        return self.passage.text[start:end]

    @property
    def page(self) -> int | None:
        """The page (1-based) where the passage starts, for documents with pages (PDFs)."""
        return self.document.page_at(self.passage.start)

    @property
    def page_end(self) -> int | None:
        """The page where the passage ends (a passage may run over a page break)."""
        return self.document.page_at(self.passage.end - 1)

    def pages_label(self) -> str | None:
        """'page 3' or 'pages 3-4' for documents with pages, else None."""
        first, last = self.page, self.page_end
        if first is None or last is None:
            return None
        return f"page {first}" if first == last else f"pages {first}-{last}"

    def location(self) -> str:
        """Where the passage sits, in words a reader can follow."""
        p = self.passage
        pages = self.pages_label()
        where = f"{pages}, " if pages else ""
        return f"{where}paragraph {p.paragraph} of {p.paragraphs}, characters {p.start}-{p.end}"

    def to_dict(self) -> dict[str, Any]:
        p, d = self.passage, self.document
        return {
            "n": self.n,
            "passage_id": p.passage_id,
            "doc_id": p.doc_id,
            # Not "path": gradio_client downloads every dict with a "path" key as a file.
            "source_path": d.path,
            "start": p.start,
            "end": p.end,
            "text": p.text,
            "highlight": list(self.highlight),
            "kind": p.kind,
            "speaker": p.speaker,
            "speaker_title": self.speaker_title,
            "perspective": p.perspective,
            "document_perspective": d.perspective,
            "attributed_by": p.attributed_by,
            "title": d.title,
            "publisher": d.publisher,
            "date": d.date,
            "url": d.url,
            "score": round(self.score, 6),
            "rank": self.rank,
            "location": self.location(),
            "page": self.page,
            "page_end": self.page_end,
            "paragraph": p.paragraph,
            "paragraphs": p.paragraphs,
            "references": [asdict(r) for r in self.references],
        }


@dataclass(frozen=True)
class SummaryLine:
    """One verbatim sentence that speaks for one side, pointing at its citation."""

    perspective: str
    text: str
    citation: int


@dataclass(frozen=True)
class Answer:
    """What askcorpus says about a question: only quotes, each with its source."""

    question: str
    status: Status
    citations: tuple[Citation, ...] = ()
    sides: tuple[tuple[str, tuple[int, ...]], ...] = ()
    summary: tuple[SummaryLine, ...] = ()
    notices: tuple[str, ...] = ()
    nearest: tuple[Citation, ...] = field(default=(), repr=False)
    perspective_labels: tuple[tuple[str, str], ...] = ()

    @property
    def sides_map(self) -> dict[str, tuple[int, ...]]:
        return dict(self.sides)

    def citation(self, n: int) -> Citation:
        return self.citations[n - 1]

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract; keys are only ever added, never renamed or removed (the one
        rename so far, a citation's ``path`` to ``source_path`` in 0.2.0, is in CHANGELOG.md)."""
        return {
            "question": self.question,
            "status": self.status,
            "citations": [c.to_dict() for c in self.citations],
            "sides": {side: list(ns) for side, ns in self.sides},
            "summary": [asdict(s) for s in self.summary],
            "notices": list(self.notices),
            "nearest": [c.to_dict() for c in self.nearest],
            "perspective_labels": dict(self.perspective_labels),
        }


@dataclass(frozen=True)
class BalanceRow:
    """How much of the corpus speaks for one perspective."""

    perspective: str
    label: str
    documents: int
    passages_by_publisher: int
    passages_by_speaker: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
