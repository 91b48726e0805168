"""Corpus view: the passages, documents and sides of one index, as answers read them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from askcorpus.passages import merge_footnotes, references_for
from askcorpus.query import check_filter
from askcorpus.sentences import SentenceTable
from askcorpus.types import (
    UNLABELED,
    Actor,
    BalanceRow,
    Document,
    Passage,
    Perspective,
    Reference,
)


@dataclass(frozen=True)
class CorpusView:
    """Immutable: built once per generation, shared by every question answered from it."""

    passages: tuple[Passage, ...]
    documents: dict[str, Document]
    perspectives: dict[str, Perspective]
    contest_parties: tuple[str, ...]
    actors: dict[str, Actor]
    examples: tuple[str, ...] = ()
    sentences: SentenceTable | None = None
    corpus_sides: frozenset[str] = frozenset()
    actor_titles: dict[str, str] = field(default_factory=dict)
    row_of: dict[str, int] = field(default_factory=dict, repr=False)
    _by_doc: dict[str, tuple[Passage, ...]] = field(default_factory=dict, repr=False)
    _footnotes: dict[str, dict[int, Passage]] = field(default_factory=dict, repr=False)
    _searchable: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    _side_masks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, passages: Sequence[Passage], documents: Iterable[Document],
           perspectives: Iterable[Perspective], contest_parties: Sequence[str],
           actors: Sequence[Actor], examples: Sequence[str] = (),
           sentences: SentenceTable | None = None) -> CorpusView:
        passages = tuple(passages)
        by_doc: dict[str, list[Passage]] = {}
        for p in passages:
            by_doc.setdefault(p.doc_id, []).append(p)
        sides = {p.id: p for p in perspectives}
        return cls(
            passages=passages, documents={d.doc_id: d for d in documents}, perspectives=sides,
            contest_parties=tuple(contest_parties), actors={a.name: a for a in actors},
            examples=tuple(examples), sentences=sentences,
            corpus_sides=frozenset(p.perspective for p in passages),
            actor_titles={a.name: a.title for a in actors},
            row_of={p.passage_id: i for i, p in enumerate(passages)},
            _by_doc={doc: tuple(ps) for doc, ps in by_doc.items()},
            _footnotes={doc: merge_footnotes(ps) for doc, ps in by_doc.items()},
            _searchable=np.array([p.kind != "footnote" for p in passages], dtype=bool),
            _side_masks={pid: np.array([p.perspective == pid for p in passages], dtype=bool)
                         for pid in sides})

    @property
    def ids(self) -> list[str]:
        return [p.passage_id for p in self.passages]

    def searchable(self) -> np.ndarray:
        """A boolean mask over the passages: the rows that may be cited (not footnotes)."""
        return self._searchable.copy()

    def side_mask(self, perspective: str) -> np.ndarray:
        return self._side_masks[perspective]

    def passages_of(self, doc_id: str) -> tuple[Passage, ...]:
        return self._by_doc.get(doc_id, ())

    def references(self, passage: Passage) -> tuple[Reference, ...]:
        return references_for(passage, self._footnotes.get(passage.doc_id, {}))

    def allowed(self, perspectives: list[str] | None, documents: list[str] | None
                ) -> np.ndarray:
        """The searchable rows within the chosen perspectives and documents (checked)."""
        chosen_sides = check_filter(perspectives, self.perspectives, "perspective")
        chosen_docs = check_filter(documents, self.documents, "document")
        mask = self._searchable.copy()
        if chosen_sides:
            mask &= np.array([p.perspective in chosen_sides for p in self.passages], dtype=bool)
        if chosen_docs:
            mask &= np.array([p.doc_id in chosen_docs for p in self.passages], dtype=bool)
        return mask

    def searchable_count(self, doc_id: str | None = None) -> int:
        """How many passages may be cited (of one document, or of the whole corpus)."""
        passages = self.passages if doc_id is None else self.passages_of(doc_id)
        return sum(p.kind != "footnote" for p in passages)

    def balance(self) -> tuple[BalanceRow, ...]:
        """Documents and passages per perspective, by publisher and by speaker."""
        rows = []
        body = [p for p in self.passages if p.kind != "footnote"]
        for pid, perspective in self.perspectives.items():
            docs = [d for d in self.documents.values() if d.perspective == pid]
            by_publisher = sum(1 for p in body if self.documents[p.doc_id].perspective == pid)
            by_speaker = sum(1 for p in body if p.perspective == pid)
            if docs or by_speaker or pid != UNLABELED:
                rows.append(BalanceRow(pid, perspective.label, len(docs), by_publisher,
                                       by_speaker))
        return tuple(rows)


def lexical_text(passage: Passage, footnotes: dict[int, Passage]) -> str:
    """A body passage's words plus those of the footnotes it cites (footnotes: their own)."""
    if passage.kind == "footnote":
        return passage.text
    cited = [footnotes[n].text for n in passage.footnotes if n in footnotes
             and footnotes[n].doc_id == passage.doc_id]
    return " ".join([passage.text, *cited])
