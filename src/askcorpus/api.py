"""The Python API: build an index of a corpus, open it, search it and ask it questions."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from askcorpus import answering, building, distributed, learned, storage
from askcorpus.corpus import SEED_CORPUS, changed_since, file_signature, has_documents
from askcorpus.embedding import Encoder, load_encoder
from askcorpus.errors import (
    AskcorpusError,
    IncompleteIndexError,
    IndexNotFoundError,
    ModelMismatchError,
    StaleIndexError,
)
from askcorpus.index_format import Generation, Manifest, read_generation
from askcorpus.lexical import tokenize
from askcorpus.onnx_encoder import query_encoder
from askcorpus.query import check_k, clean_question
from askcorpus.retrieve import Candidate, Mode, Retriever, Scores, lexical_weight
from askcorpus.settings import Settings
from askcorpus.types import Actor, Answer, BalanceRow, Citation, Document, Passage, Perspective
from askcorpus.view import CorpusView

try:
    __version__ = version("askcorpus")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"


def build(corpus: str | Path | None = None, index_dir: str | Path = "index",
          model: str | None = None, *, settings: Settings | None = None, strict: bool = False,
          progress: bool = False, engine: str = "local", ray_address: str | None = None,
          store: str | None = None, milvus_uri: str | None = None) -> Index:
    """Build (or rebuild) the index of ``corpus`` in ``index_dir`` as a new generation.

    ``corpus`` defaults to the seed corpus shipped with askcorpus. ``engine="ray"`` splits and
    embeds on a Ray cluster (``ray_address``; a local Ray without one); ``store="milvus"``
    serves dense search from milvus-lite in the index, or from ``milvus_uri`` (default: the
    store the index was built with, else ``"faiss"``).

    Example:
        >>> index = askcorpus.build("my-documents", "index")  # doctest: +SKIP
        >>> index.ask("How many soldiers has Armenia lost?").status  # doctest: +SKIP
        'answered'
    """
    settings = (settings or Settings()).with_model(model)
    index_dir = Path(index_dir)
    with building.published(Path(corpus or SEED_CORPUS), index_dir, settings, strict=strict,
                            progress=progress, version=__version__, store=store,
                            milvus_uri=milvus_uri,
                            engine=distributed.engine(engine, ray_address)) as generation:
        # Not check_stale: a file edited during the build must not fail a published build
        # (the answers will say the index is stale instead).
        index = Index.open(index_dir, settings=settings, check_stale=False)
        storage.remove_old_generations(index_dir, keep=generation.name)
    return index


def open_index(index_dir: str | Path, *, rebuild_from: str | Path | None = None,
               model: str | None = None, allow_model_mismatch: bool = False,
               check_stale: bool = True, settings: Settings | None = None,
               log: bool = False) -> Index:
    """Open and verify an index; a missing, corrupt, stale or mismatched one raises.

    With ``rebuild_from`` (a corpus folder), an index that is missing, incomplete or stale, or
    (when no ``model`` is asked for) built with another embedding model than the settings'
    one, is built from that corpus instead: the default flow of ``ask`` and ``serve``.
    """
    try:
        index = Index.open(Path(index_dir), model=model,
                           allow_model_mismatch=allow_model_mismatch, check_stale=check_stale,
                           settings=settings)
        wanted = (settings or Settings()).model
        if rebuild_from is None or model is not None or not Path(rebuild_from).is_dir() \
                or not building.outdated_model(index.manifest, wanted):
            return index
        why = f"index was built with another model (or version) than {wanted}"
    except (IndexNotFoundError, IncompleteIndexError, StaleIndexError) as exc:
        if rebuild_from is None or not Path(rebuild_from).is_dir():
            raise
        why = "corpus changed since the index was built" if isinstance(exc, StaleIndexError) \
            else "corpus has no index yet"
    if log and has_documents(Path(rebuild_from)):  # else the build's error is the one line
        print(f"The {why}: building {index_dir} from {rebuild_from} (this takes a "
              "minute the first time)…", file=sys.stderr)
    return build(rebuild_from, index_dir, model, settings=settings, progress=log)


@dataclass(frozen=True)
class _Loaded:
    """One generation with everything derived from it; replaced whole, never patched."""

    generation: Generation
    view: CorpusView
    retriever: Retriever

    @classmethod
    def of(cls, generation: Generation) -> _Loaded:
        catalog = generation.catalog
        view = CorpusView.of(generation.passages, generation.documents, catalog.perspectives,
                             catalog.contest_parties, catalog.actors, catalog.examples,
                             generation.sentences)
        return cls(generation, view, Retriever(generation.dense, generation.lexical,
                                               generation.vectors, view.ids))


class Index:
    """A verified, loaded index that answers questions; a newer build is picked up whole."""

    def __init__(self, index_dir: Path, loaded: _Loaded, settings: Settings, *,
                 allow_model_mismatch: bool = False) -> None:
        self.index_dir = index_dir
        self._loaded = loaded
        self._settings = settings
        self._allow_model_mismatch = allow_model_mismatch
        self._encoder: Encoder | None = None
        self._judge: answering.Judge | None = None
        self._swap_lock = threading.Lock()
        self._stale: tuple[tuple[object, ...], tuple[str, ...]] | None = None

    @classmethod
    def open(cls, index_dir: Path, *, model: str | None = None,
             allow_model_mismatch: bool = False, check_stale: bool = True,
             settings: Settings | None = None) -> Index:
        generation = read_generation(index_dir)
        built = generation.manifest.model.name
        if model is not None and model != built and not allow_model_mismatch:
            raise ModelMismatchError(
                f"{index_dir} was built with model '{built}', not '{model}'; rebuild with "
                f"`askcorpus build --index {index_dir} --model {model}` or use the index's model.")
        settings = (settings or Settings()).with_model(model if model is not None else built)
        index = cls(index_dir, _Loaded.of(generation), settings,
                    allow_model_mismatch=allow_model_mismatch)
        if check_stale and (changed := index.changed_files()):
            raise StaleIndexError(f"The corpus changed since {index_dir} was built "
                                  f"({', '.join(changed[:5])}); run `askcorpus build --index "
                                  f"{index_dir}`.")
        return index

    def with_settings(self, settings: Settings) -> Index:
        """This index answering with other settings: same generation, same loaded model.

        Example (a calibration grid): ``index.with_settings(replace(index.settings, ...))``.
        """
        if settings.model != self._settings.model:
            raise ModelMismatchError(f"{self.index_dir} answers with model "
                                     f"'{self._settings.model}'; open it again to use "
                                     f"'{settings.model}'.")
        other = Index(self.index_dir, self._loaded, settings,
                      allow_model_mismatch=self._allow_model_mismatch)
        other._encoder = self._encoder
        return other

    # ----------------------------------------------------------------- reading
    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def generation(self) -> str:
        return self._loaded.generation.name

    @property
    def manifest(self) -> Manifest:
        return self._loaded.generation.manifest

    @property
    def view(self) -> CorpusView:
        """The passages, documents and sides of the generation being served."""
        return self._loaded.view

    @property
    def retriever(self) -> Retriever:
        """The dense + lexical retriever (rows in the order of ``passages()``), for experiments."""
        return self._loaded.retriever

    @property
    def perspectives(self) -> dict[str, Perspective]:
        return self.view.perspectives

    @property
    def contest_parties(self) -> tuple[str, ...]:
        return self.view.contest_parties

    @property
    def actors(self) -> dict[str, Actor]:
        return self.view.actors

    @property
    def examples(self) -> tuple[str, ...]:
        return self.view.examples

    def documents(self) -> tuple[Document, ...]:
        return tuple(self.view.documents.values())

    def document(self, doc_id: str) -> Document:
        self.view.allowed(None, [doc_id])  # checks the id, naming the valid ones
        return self.view.documents[doc_id]

    def passages_of(self, doc_id: str) -> tuple[Passage, ...]:
        return self.view.passages_of(doc_id)

    def passages(self) -> tuple[Passage, ...]:
        return self.view.passages

    def searchable(self) -> np.ndarray:
        """A boolean mask over ``passages()``: the rows that may be cited (not footnotes)."""
        return self.view.searchable()

    def balance(self) -> tuple[BalanceRow, ...]:
        """Documents and passages per perspective, by publisher and by speaker."""
        return self.view.balance()

    def changed_files(self) -> list[str]:
        """Corpus files added, removed or edited since the build (SHA-256 compare)."""
        return changed_since(Path(self.manifest.corpus.root),
                             {f.path: f.sha256 for f in self.manifest.corpus.files})

    # ----------------------------------------------------------------- asking
    def search(self, query: str, k: int = 10, *, mode: Mode = "hybrid",
               perspectives: list[str] | None = None,
               documents: list[str] | None = None) -> list[Citation]:
        """Ranked passages for ``query`` (no abstention, no side logic)."""
        loaded = self._loaded  # one generation for the whole search
        question = clean_question(query, max_chars=self._settings.max_question_chars)
        k = check_k(k, max_k=self._settings.max_k)
        vector = self.encode_query(question)
        if vector is None:
            return []
        allowed = loaded.view.allowed(perspectives, documents)
        scores = loaded.retriever.score_all(vector, question, mode)
        found = self._fused(loaded, question, scores, allowed, mode,
                            depth=max(k, self._settings.candidates))[:k]
        return [answering.citation(i + 1, c, (0, len(loaded.view.passages[c.row].text)),
                                   loaded.view) for i, c in enumerate(found)]

    def ask(self, question: str, k: int = 5, *, perspectives: list[str] | None = None,
            documents: list[str] | None = None, mode: Mode = "full") -> Answer:
        """Answer with verbatim cited passages, every side shown, or say there is no answer.

        Example:
            >>> answer = askcorpus.open("index").ask("Is the fighting on Armenian soil?")
            ... # doctest: +SKIP
            >>> answer.status  # doctest: +SKIP
            'contested'
        """
        self.refresh()
        loaded = self._loaded  # one generation for the whole answer
        s = self._settings
        text = clean_question(question, max_chars=s.max_question_chars)
        k = check_k(k, max_k=s.max_k)
        allowed = loaded.view.allowed(perspectives, documents)
        notices = () if tokenize(text) else (
            "No searchable terms in the question; results rest on meaning alone (low confidence).",)
        retrieval = self._retrieve(loaded, text, k, allowed, mode)
        if retrieval.vector is None:
            return answering.no_answer(text, [], loaded.view, (
                *notices, "The question could not be turned into a usable vector."))
        scorer = self._scorer(loaded.view, retrieval.vector)
        if mode != "full":
            return answering.ranked_answer(retrieval, loaded.view, k=k, settings=s,
                                           scorer=scorer)
        answer = answering.answer(retrieval, loaded.view, k=k, settings=s, scorer=scorer,
                                  judge=self.judge(), notices=notices)
        if answer.status == "no_answer":
            return answer
        return replace(answer, notices=answer.notices + self._stale_notice())

    def retrieve(self, question: str, k: int = 5, *, perspectives: list[str] | None = None,
                 documents: list[str] | None = None) -> answering.Retrieval:
        """What retrieval finds for ``question`` before any decision (what a Judge reads).

        For training and experiments; ``ask`` is ``retrieve`` followed by the judge.
        """
        loaded = self._loaded
        text = clean_question(question, max_chars=self._settings.max_question_chars)
        k = check_k(k, max_k=self._settings.max_k)
        return self._retrieve(loaded, text, k, loaded.view.allowed(perspectives, documents),
                              "full")

    def judge(self) -> answering.Judge:
        """The judge that decides answers: the trained models, unless settings say ``rules``
        or the index was built with another embedding model than the one they were trained
        on (their features are cosines of that model)."""
        if self._judge is None:
            rules = answering.RuleJudge(self._settings)
            models = learned.shipped_models() if self._settings.judge == "learned" else None
            model = self.manifest.model
            if models is not None and models.fits(model.name, model.revision, model.dim):
                self._judge = learned.LearnedJudge(models, rules)
            else:
                self._judge = rules
        return self._judge

    def with_judge(self, judge: answering.Judge) -> Index:
        """This index deciding answers with another judge (same generation and model)."""
        other = self.with_settings(self._settings)
        other._judge = judge
        return other

    def encode_query(self, text: str) -> np.ndarray | None:
        """The normalised query vector, or ``None`` when the model gives no usable vector."""
        vector = self.encoder().encode([text])[0]
        if not np.all(np.isfinite(vector)) or float(np.linalg.norm(vector)) == 0.0:
            return None
        return vector

    def refresh(self) -> None:
        """Pick up a newer generation if a build published one (a server keeps answering)."""
        try:
            current = storage.current_generation(self.index_dir).name
        except AskcorpusError:
            return
        if current == self.generation:
            return
        with self._swap_lock:
            if current == self.generation:
                return
            try:
                fresh = read_generation(self.index_dir)
            except AskcorpusError:
                return  # replaced again meanwhile, or damaged: keep serving this generation
            if fresh.manifest.model != self.manifest.model:  # rebuilt with another model
                self._settings = self._settings.with_model(fresh.manifest.model.name)
                self._encoder = None
            self._loaded = _Loaded.of(fresh)

    def encoder(self) -> Encoder:
        """The query encoder, loaded on first use and checked against the index's model.

        The model's ONNX export (written by the build) when there is one, so that answering
        never imports torch; sentence-transformers otherwise.
        """
        if self._encoder is None:
            encoder: Encoder = query_encoder(self._settings.model) or load_encoder(
                self._settings.model, batch_size=self._settings.batch_size)
            built = self.manifest.model
            if encoder.dim != built.dim:  # explicit: FAISS only asserts dimensions
                raise ModelMismatchError(f"Model '{self._settings.model}' gives vectors of "
                                         f"dimension {encoder.dim}, the index holds {built.dim}; "
                                         f"rebuild it with `askcorpus build --index "
                                         f"{self.index_dir}`.")
            if encoder.revision != built.revision and not self._allow_model_mismatch:
                raise ModelMismatchError(f"{self.index_dir} was built with '{built.name}' "
                                         f"revision {built.revision}, this askcorpus has "
                                         f"revision {encoder.revision}; rebuild it with "
                                         f"`askcorpus build --index {self.index_dir}`.")
            self._encoder = encoder
        return self._encoder

    # ----------------------------------------------------------------- internals
    def _fused(self, loaded: _Loaded, question: str, scores: Scores, allowed: np.ndarray,
               mode: Mode, *, depth: int) -> list[Candidate]:
        s = self._settings
        return loaded.retriever.candidates(scores, allowed, depth=depth, rrf_k=s.rrf_k,
                                           lexical_weight=self._lexical_weight(question),
                                           use_dense=mode != "lexical")

    def _retrieve(self, loaded: _Loaded, text: str, k: int, allowed: np.ndarray,
                  mode: Mode) -> answering.Retrieval:
        s = self._settings
        vector = self.encode_query(text)
        if vector is None:
            return answering.Retrieval(text, ())
        scores = loaded.retriever.score_all(vector, text, "hybrid" if mode == "full" else mode)
        fused = self._fused(loaded, text, scores, allowed, mode,
                            depth=max(k * s.candidates_per_k, s.candidates))
        if mode != "full":
            return answering.Retrieval(text, tuple(fused), vector=vector)
        lexical = loaded.retriever.lexical
        return answering.Retrieval(
            text, tuple(fused), self._per_side(loaded, text, scores, allowed),
            lexical.support(text, [c.row for c in fused[:s.answer_depth]]),
            lexical.ceiling(text), vector,
            lambda words: loaded.retriever.closest(self.encode_query(words), allowed))

    def _per_side(self, loaded: _Loaded, question: str, scores: Scores,
                  allowed: np.ndarray) -> dict[str, tuple[Candidate, ...]]:
        """Each perspective's own fused candidates: a side drowned out overall is still found."""
        s = self._settings
        out = {}
        for side in loaded.view.perspectives:
            mask = allowed & loaded.view.side_mask(side)
            if mask.any():
                out[side] = tuple(loaded.retriever.candidates(
                    scores, mask, depth=s.side_depth, rrf_k=s.rrf_k,
                    lexical_weight=self._lexical_weight(question)))
        return out

    def _lexical_weight(self, question: str) -> float:
        return lexical_weight(question, named=self._settings.named_lexical_weight,
                              plain=self._settings.plain_lexical_weight)

    @staticmethod
    def _scorer(view: CorpusView, vector: np.ndarray) -> answering.SentenceScorer:
        """Sentence cosines from the vectors embedded at build time (sentences.py)."""
        def score(passage: Passage, spans: list[tuple[int, int]]) -> np.ndarray:
            if view.sentences is None:  # a view built by hand, not read from an index
                return np.zeros(len(spans), dtype=np.float32)
            return view.sentences.scores(view.row_of[passage.passage_id], vector)
        return score

    def _stale_notice(self) -> tuple[str, ...]:
        """'The index is stale' while corpus files differ from the build (hashes are only
        recomputed when a file's size or modification time changes)."""
        root = Path(self.manifest.corpus.root)
        signature = file_signature(root)
        if self._stale is None or self._stale[0] != signature:
            try:
                changed = tuple(self.changed_files())
            except AskcorpusError:
                changed = (str(root),)
            self._stale = (signature, changed)
        changed = self._stale[1]
        if not changed:
            return ()
        shown = ", ".join(changed[:5]) + (" …" if len(changed) > 5 else "")
        return (f"The index is stale: {len(changed)} corpus file(s) changed since the build "
                f"({shown}); run `askcorpus build --index {self.index_dir}` to update it.",)


