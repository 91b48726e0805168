"""The Python API: build an index of a corpus, open it, search it and ask it questions."""

from __future__ import annotations

import io
import json
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from askcorpus import perspectives as answer_logic
from askcorpus import storage
from askcorpus.attribution import Attributor
from askcorpus.catalog import Catalog
from askcorpus.corpus import SEED_CORPUS, Corpus, fingerprint, load_corpus
from askcorpus.dense import Dense
from askcorpus.embedding import Encoder, load_encoder
from askcorpus.errors import (
    AskcorpusError,
    CorruptIndexError,
    IndexError_,
    ModelMismatchError,
    StaleIndexError,
)
from askcorpus.lexical import TOKENIZER, Lexical, tokenize
from askcorpus.passages import merge_footnotes, references_for, split_document
from askcorpus.query import check_filter, check_k, clean_question
from askcorpus.retrieve import Candidate, Mode, Retriever, Scores, lexical_weight
from askcorpus.settings import Settings
from askcorpus.types import (
    UNLABELED,
    Actor,
    Answer,
    BalanceRow,
    Citation,
    Document,
    Passage,
    Perspective,
)

__version__ = "0.1.0"


def build(corpus: str | Path | None = None, index_dir: str | Path = "index",
          model: str | None = None, *,
          settings: Settings | None = None, strict: bool = False,
          progress: bool = False) -> Index:
    """Build (or rebuild) the index of ``corpus`` in ``index_dir`` as a new generation.

    ``corpus`` defaults to the seed corpus shipped with askcorpus.

    Example:
        >>> index = askcorpus.build("my-documents", "index")  # doctest: +SKIP
        >>> index.ask("How many soldiers has Armenia lost?").status  # doctest: +SKIP
        'answered'
    """
    settings = (settings or Settings()).with_model(model)
    corpus_root, index_dir = Path(corpus or SEED_CORPUS), Path(index_dir)
    started = time.perf_counter()
    loaded = load_corpus(corpus_root, max_doc_bytes=settings.max_doc_bytes, strict=strict,
                         progress=progress)
    passages = _split(loaded, settings)
    encoder = load_encoder(settings.model, batch_size=settings.batch_size)
    vectors = encoder.encode([p.text for p in passages], progress=progress) if passages \
        else np.zeros((0, encoder.dim), dtype=np.float32)
    footnotes = merge_footnotes(passages)
    lexical = Lexical.build([_lexical_text(p, footnotes) for p in passages])
    try:
        with storage.build_lock(index_dir):
            with storage.new_generation(index_dir) as staging:
                _write_artifacts(staging, loaded, passages, vectors, lexical)
                storage.write_manifest(staging, _manifest(loaded, passages, encoder, settings,
                                                          time.perf_counter() - started))
                generation = storage.publish(index_dir, staging)
            # Not check_stale: a file edited during the build must not fail a published build
            # (the answers will say the index is stale instead).
            index = Index.open(index_dir, settings=settings, check_stale=False)
            storage.remove_old_generations(index_dir, keep=generation.name)
    except OSError as exc:  # disk full, I/O error, permissions: the old index is untouched
        reason = exc.strerror or type(exc).__name__
        raise IndexError_(f"Cannot write the index at {index_dir} ({reason}); the previous "
                          "index is unchanged. Free disk space or fix the folder's "
                          "permissions, then run `askcorpus build` again.") from exc
    return index


def open_index(index_dir: str | Path, *, model: str | None = None,
               allow_model_mismatch: bool = False, check_stale: bool = True,
               settings: Settings | None = None) -> Index:
    """Open and verify an index; a missing, corrupt, stale or mismatched one raises."""
    return Index.open(Path(index_dir), model=model, allow_model_mismatch=allow_model_mismatch,
                      check_stale=check_stale, settings=settings)


class Index:
    """A verified, loaded index generation that answers questions."""

    def __init__(self, index_dir: Path, generation: Path, manifest: dict[str, Any],
                 documents: list[Document], passages: list[Passage], catalog: dict[str, Any],
                 dense: Dense, lexical: Lexical, vectors: np.ndarray, settings: Settings) -> None:
        self.index_dir = index_dir
        self.generation = generation.name
        self.manifest = manifest
        self.settings = replace(settings, model=manifest["model"]["name"])
        self._documents = {d.doc_id: d for d in documents}
        self._passages = passages
        self._by_doc: dict[str, list[Passage]] = {}
        for p in passages:
            self._by_doc.setdefault(p.doc_id, []).append(p)
        self._footnotes = {doc: merge_footnotes(ps) for doc, ps in self._by_doc.items()}
        self.perspectives: dict[str, Perspective] = {
            p["id"]: Perspective(**p) for p in catalog["perspectives"]}
        self.contest_parties: tuple[str, ...] = tuple(catalog["contest_parties"])
        self.actors = {a["name"]: Actor(**{**a, "aliases": tuple(a["aliases"])})
                       for a in catalog["actors"]}
        self.examples: tuple[str, ...] = tuple(catalog.get("examples", ()))
        self._searchable = np.array([p.kind != "footnote" for p in passages], dtype=bool)
        self._side_masks = {pid: np.array([p.perspective == pid for p in passages], dtype=bool)
                            for pid in self.perspectives}
        self._retriever = Retriever(dense, lexical, vectors, [p.passage_id for p in passages])
        self._encoder: Encoder | None = None
        self._reload_lock = threading.Lock()
        self._state_lock = threading.RLock()
        self._cache_lock = threading.Lock()
        self._sentence_cache: dict[str, np.ndarray] = {}
        self._allow_model_mismatch = False
        self._stale: tuple[tuple[Any, ...], tuple[str, ...]] | None = None

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, index_dir: Path, *, model: str | None = None,
             allow_model_mismatch: bool = False, check_stale: bool = True,
             settings: Settings | None = None) -> Index:
        settings = settings or Settings()
        generation = storage.current_generation(index_dir)
        manifest = storage.read_manifest(generation)
        if model is not None and model != manifest["model"]["name"] and not allow_model_mismatch:
            raise ModelMismatchError(
                f"{index_dir} was built with model '{manifest['model']['name']}', not '{model}'; "
                f"rebuild with `askcorpus build --model {model}` or use the index's model.")
        if manifest.get("bm25", {}).get("tokenizer") != TOKENIZER:
            raise StaleIndexError(f"{index_dir} was built by an askcorpus that made its search "
                                  f"words differently; run `askcorpus build --index {index_dir}`.")
        try:
            documents = [Document(**row) for row in _read_jsonl(generation / "documents.jsonl")]
            passages = [Passage.from_dict(row)
                        for row in _read_jsonl(generation / "passages.jsonl")]
            _verify_passages(generation, manifest, documents, passages)
            dim, size = int(manifest["model"]["dim"]), len(passages)
            dense = Dense.load(generation / "vectors.faiss", dim=dim, size=size)
            vectors = np.load(generation / "vectors.npy", allow_pickle=False)
            if vectors.shape != (size, dim):
                raise CorruptIndexError(f"{generation}/vectors.npy has shape {vectors.shape}, "
                                        f"expected {(size, dim)}; rebuild the index.")
            lexical = Lexical.load(generation / "bm25", size)
            catalog = json.loads((generation / "catalog.json").read_text(encoding="utf-8"))
            index = cls(index_dir, generation, manifest, documents, passages, catalog, dense,
                        lexical, vectors, settings)
        except (KeyError, TypeError, ValueError, AttributeError, OSError) as exc:
            # Checksums match but the content is not what this version writes (hand-edited).
            raise CorruptIndexError(f"{generation} is not a valid askcorpus index "
                                    f"({type(exc).__name__}: {str(exc)[:80]}); rebuild it with "
                                    "`askcorpus build`.") from exc
        index._allow_model_mismatch = allow_model_mismatch
        if model is not None and model != index.settings.model:
            index.settings = replace(index.settings, model=model)  # explicitly allowed above
        if check_stale and index.changed_files():
            changed = ", ".join(index.changed_files()[:5])
            raise StaleIndexError(f"The corpus changed since {index_dir} was built ({changed}); "
                                  f"run `askcorpus build --index {index_dir}`.")
        return index

    def changed_files(self) -> list[str]:
        """Corpus files added, removed or edited since the build (SHA-256 compare)."""
        root = Path(self.manifest["corpus"]["root"])
        if not root.is_dir():
            return [f"{root} (corpus folder missing)"]
        built = {f["path"]: f["sha256"] for f in self.manifest["corpus"]["files"]}
        now = {f.path: f.sha256 for f in fingerprint(root)}
        return sorted({p for p in built.keys() | now.keys() if built.get(p) != now.get(p)})

    # ----------------------------------------------------------------- reading
    def documents(self) -> tuple[Document, ...]:
        return tuple(self._documents.values())

    def document(self, doc_id: str) -> Document:
        check_filter([doc_id], self._documents, "document")
        return self._documents[doc_id]

    def passages_of(self, doc_id: str) -> tuple[Passage, ...]:
        return tuple(self._by_doc.get(doc_id, ()))

    def passages(self) -> tuple[Passage, ...]:
        return tuple(self._passages)

    @property
    def retriever(self) -> Retriever:
        """The dense + lexical retriever (rows in the order of ``passages()``), for experiments."""
        return self._retriever

    def searchable(self) -> np.ndarray:
        """A boolean mask over ``passages()``: the rows that may be cited (not footnotes)."""
        return self._searchable.copy()

    def encode_query(self, text: str) -> np.ndarray | None:
        """The normalised query vector, or ``None`` when the model gives no usable vector."""
        return self._encode_query(text)

    def balance(self) -> tuple[BalanceRow, ...]:
        """Documents and passages per perspective, by publisher and by speaker."""
        rows = []
        body = [p for p in self._passages if p.kind != "footnote"]
        for pid, perspective in self.perspectives.items():
            docs = [d for d in self._documents.values() if d.perspective == pid]
            by_publisher = sum(1 for p in body if self._documents[p.doc_id].perspective == pid)
            by_speaker = sum(1 for p in body if p.perspective == pid)
            if docs or by_speaker or pid != UNLABELED:
                rows.append(BalanceRow(pid, perspective.label, len(docs), by_publisher,
                                       by_speaker))
        return tuple(rows)

    # ----------------------------------------------------------------- asking
    def search(self, query: str, k: int = 10, *, mode: Mode = "hybrid",
               perspectives: list[str] | None = None,
               documents: list[str] | None = None) -> list[Citation]:
        """Ranked passages for ``query`` (no abstention, no side logic)."""
        with self._state_lock:
            return self._search(query, k, mode=mode, perspectives=perspectives,
                                documents=documents)

    def _search(self, query: str, k: int, *, mode: Mode, perspectives: list[str] | None,
                documents: list[str] | None) -> list[Citation]:
        question = clean_question(query, max_chars=self.settings.max_question_chars)
        k = check_k(k, max_k=self.settings.max_k)
        vector = self._encode_query(question)
        if vector is None:
            return []
        allowed = self._allowed(perspectives, documents)
        scores = self._retriever.score_all(vector, question, mode)
        found = self._retriever.candidates(scores, allowed, depth=max(k, self.settings.candidates),
                                           rrf_k=self.settings.rrf_k,
                                           lexical_weight=lexical_weight(question),
                                           use_dense=mode != "lexical")[:k]
        ctx = self._context()
        return [answer_logic._citation(i + 1, c, (0, len(self._passages[c.row].text)), ctx)
                for i, c in enumerate(found)]

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
        # One generation per answer: refresh() swaps generations under the same lock.
        with self._state_lock:
            return self._answer(question, k, perspectives=perspectives, documents=documents,
                                mode=mode)

    def _answer(self, question: str, k: int, *, perspectives: list[str] | None,
                documents: list[str] | None, mode: Mode) -> Answer:
        text = clean_question(question, max_chars=self.settings.max_question_chars)
        k = check_k(k, max_k=self.settings.max_k)
        allowed = self._allowed(perspectives, documents)
        ctx = self._context()
        notices = () if tokenize(text) else (
            "No searchable terms in the question; results rest on meaning alone (low confidence).",)
        vector = self._encode_query(text)
        if vector is None:
            return answer_logic.no_answer(text, [], ctx, (
                *notices, "The question could not be turned into a usable vector."))
        depth = max(k * 4, self.settings.candidates)
        scores = self._retriever.score_all(vector, text, _base(mode))
        weight = lexical_weight(text)
        fused = self._retriever.candidates(scores, allowed, depth=depth, rrf_k=self.settings.rrf_k,
                                           lexical_weight=weight, use_dense=mode != "lexical")
        s = self.settings
        if mode == "full" and not answer_logic.is_answerable(
                fused, lexical_support=self._retriever.lexical.support(
                    text, [c.row for c in fused[:answer_logic.ANSWER_DEPTH]]),
                min_dense=s.min_dense, confident_dense=s.confident_dense,
                min_lexical_support=s.min_lexical_support):
            return answer_logic.no_answer(text, fused[:3], ctx, notices)
        if mode != "full":
            chosen = list(fused[:k])
            sides = answer_logic.sides_of(chosen, ctx)
            return answer_logic.assemble(text, "answered", sides, ctx, self._scorer(vector))
        asked = s.asked_side_min_dense < s.side_min_dense and answer_logic.asks_for_sides(text)
        answers = self._gives_figure if answer_logic.asks_for_figure(text) else None
        per_side = answer_logic.strong_sides(
            self._per_side(scores, allowed, fused, weight), fused,
            side_min_dense=s.asked_side_min_dense if asked else s.side_min_dense,
            side_max_rank=len(fused) if asked else s.side_max_rank, answers=answers)
        chosen = answer_logic.select(fused, per_side, k, ctx)
        sides = answer_logic.sides_of(chosen, ctx)
        status = answer_logic.status_of(per_side, ctx, answers=answers)
        answer = answer_logic.assemble(text, status, sides, ctx, self._scorer(vector))
        return replace(answer, notices=notices + answer.notices + self._stale_notice())

    def refresh(self) -> None:
        """Pick up a newer generation if a build published one (a server keeps answering)."""
        try:
            current = storage.current_generation(self.index_dir).name
        except AskcorpusError:
            return
        if current == self.generation:
            return
        with self._reload_lock:
            if current == self.generation:
                return
            try:
                fresh = Index.open(self.index_dir, settings=self.settings, check_stale=False)
            except AskcorpusError:
                return  # replaced again meanwhile, or damaged: keep serving this generation
            if fresh.manifest["model"] == self.manifest["model"]:
                fresh._encoder = self._encoder  # same model: keep the loaded one
            locks = {"_reload_lock": self._reload_lock, "_state_lock": self._state_lock,
                     "_cache_lock": self._cache_lock}
            with self._state_lock:
                self.__dict__.update({**fresh.__dict__, **locks})

    # ----------------------------------------------------------------- internals
    def _per_side(self, scores: Scores, allowed: np.ndarray, fused: list[Candidate],
                  weight: float) -> dict[str, list[Candidate]]:
        """The best relevant passages of each perspective, searched within that perspective.

        Searching each side separately finds a side's best passage even when the overall
        top-k is dominated by another side.
        """
        s = self.settings
        best_overall = max((c.dense for c in fused), default=0.0)
        floor = max(s.min_dense, best_overall - s.relevance_margin)
        out: dict[str, list[Candidate]] = {}
        for pid, side_mask in self._side_masks.items():
            mask = allowed & side_mask
            if not mask.any():
                continue
            side = self._retriever.candidates(scores, mask, depth=10, rrf_k=s.rrf_k,
                                              lexical_weight=weight)
            side = [c for c in side if c.dense >= floor]
            if side:
                out[pid] = side[:10]
        return out

    def _gives_figure(self, candidate: Candidate) -> bool:
        return answer_logic.gives_figure(self._passages[candidate.row].text)

    def _allowed(self, perspectives: list[str] | None, documents: list[str] | None) -> np.ndarray:
        chosen_sides = check_filter(perspectives, self.perspectives, "perspective")
        chosen_docs = check_filter(documents, self._documents, "document")
        mask = self._searchable.copy()
        if chosen_sides:
            mask &= np.array([p.perspective in chosen_sides for p in self._passages], dtype=bool)
        if chosen_docs:
            mask &= np.array([p.doc_id in chosen_docs for p in self._passages], dtype=bool)
        return mask

    def _context(self) -> answer_logic.AnswerContext:
        return answer_logic.AnswerContext(
            passages=self._passages, documents=self._documents, perspectives=self.perspectives,
            contest_parties=self.contest_parties,
            corpus_sides=frozenset(p.perspective for p in self._passages),
            actor_titles={a.name: a.title for a in self.actors.values()},
            references=lambda p: references_for(p, self._footnotes.get(p.doc_id, {})))

    def encoder(self) -> Encoder:
        if self._encoder is None:
            encoder = load_encoder(self.settings.model, batch_size=self.settings.batch_size)
            built = self.manifest["model"]
            if encoder.dim != int(built["dim"]):  # explicit: FAISS only asserts dimensions
                raise ModelMismatchError(f"Model '{self.settings.model}' gives vectors of "
                                         f"dimension {encoder.dim}, the index holds "
                                         f"{built['dim']}; rebuild the index.")
            if encoder.revision != built.get("revision") and not self._allow_model_mismatch:
                raise ModelMismatchError(f"{self.index_dir} was built with '{built['name']}' "
                                         f"revision {built.get('revision')}, this askcorpus has "
                                         f"revision {encoder.revision}; rebuild the index.")
            self._encoder = encoder
        return self._encoder

    def _encode_query(self, text: str) -> np.ndarray | None:
        vector = self.encoder().encode([text])[0]
        if not np.all(np.isfinite(vector)) or float(np.linalg.norm(vector)) == 0.0:
            return None
        return vector

    def _scorer(self, vector: np.ndarray) -> answer_logic.SentenceScorer:
        def score(passage: Passage, spans: list[tuple[int, int]]) -> np.ndarray:
            return self._sentence_vectors(passage, spans) @ vector
        return score

    def _sentence_vectors(self, passage: Passage, spans: list[tuple[int, int]]) -> np.ndarray:
        """Sentence vectors of a passage, encoded once per process (passages recur often)."""
        cached = self._sentence_cache.get(passage.passage_id)
        if cached is None:
            cached = self.encoder().encode([passage.text[a:b] for a, b in spans])
            with self._cache_lock:
                if len(self._sentence_cache) > 50_000:
                    self._sentence_cache.clear()
                self._sentence_cache[passage.passage_id] = cached
        return cached

    def _stale_notice(self) -> tuple[str, ...]:
        """'The index is stale' while corpus files differ from the build (hashes are only
        recomputed when a file's size or modification time changes)."""
        root = Path(self.manifest["corpus"]["root"])
        try:
            signature = tuple(sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns)
                                     for p in root.rglob("*") if p.is_file()))
        except OSError:
            signature = ()
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
                f"({shown}); run `askcorpus build` to update it.",)


# --------------------------------------------------------------------- build helpers
def _split(corpus: Corpus, settings: Settings) -> list[Passage]:
    attributor = Attributor(corpus.catalog.actors, corpus.catalog.overrides)
    out: list[Passage] = []
    for document in corpus.documents:
        out.extend(split_document(document, attributor, min_words=settings.min_words,
                                  max_words=settings.max_words))
    return out


def _lexical_text(passage: Passage, footnotes: dict[int, Passage]) -> str:
    """A body passage is found by its own words and by those of the footnotes it cites."""
    if passage.kind == "footnote":
        return passage.text
    cited = [footnotes[n].text for n in passage.footnotes if n in footnotes
             and footnotes[n].doc_id == passage.doc_id]
    return " ".join([passage.text, *cited])


def _write_artifacts(staging: Path, corpus: Corpus, passages: list[Passage],
                     vectors: np.ndarray, lexical: Lexical) -> None:
    storage.write_bytes(staging / "documents.jsonl", _jsonl(
        [{**d.metadata(), "text": d.text} for d in corpus.documents]))
    storage.write_bytes(staging / "passages.jsonl", _jsonl([p.to_dict() for p in passages]))
    storage.write_bytes(staging / "catalog.json", json.dumps(
        _catalog_json(corpus.catalog), ensure_ascii=False, sort_keys=True).encode())
    buffer = io.BytesIO()
    np.save(buffer, vectors, allow_pickle=False)
    storage.write_bytes(staging / "vectors.npy", buffer.getvalue())
    import faiss

    dense = Dense.build(vectors) if len(vectors) else Dense.build(
        np.zeros((0, vectors.shape[1]), dtype=np.float32))
    storage.write_bytes(staging / "vectors.faiss",
                        faiss.serialize_index(dense._index).tobytes())
    (staging / "bm25").mkdir()
    with tempfile.TemporaryDirectory() as scratch:
        lexical.save(Path(scratch))
        for path in sorted(Path(scratch).iterdir()):
            storage.write_bytes(staging / "bm25" / path.name, path.read_bytes())


def _catalog_json(catalog: Catalog) -> dict[str, Any]:
    perspectives = catalog.perspective_map()
    return {
        "perspectives": [vars(p) for p in perspectives.values()],
        "contest_parties": list(catalog.contest_parties),
        "actors": [{**vars(a), "aliases": list(a.aliases)} for a in catalog.actors],
        "examples": list(catalog.examples),
    }


def _manifest(corpus: Corpus, passages: list[Passage], encoder: Encoder, settings: Settings,
              seconds: float) -> dict[str, Any]:
    return {
        "askcorpus_version": __version__,
        "model": {"name": encoder.name, "revision": encoder.revision, "dim": encoder.dim,
                  "normalized": True},
        "chunking": {"min_words": settings.min_words, "max_words": settings.max_words},
        "bm25": {"k1": 1.5, "b": 0.75, "method": "lucene", "library": "bm25s",
                 "tokenizer": TOKENIZER},
        "corpus": {"root": str(corpus.root.resolve()),
                   "files": [vars(f) for f in corpus.files],
                   "empty": list(corpus.empty), "warnings": list(corpus.warnings)},
        "counts": {"documents": len(corpus.documents), "passages": len(passages),
                   "searchable": sum(p.kind != "footnote" for p in passages)},
        "build": {"seconds": round(seconds, 3), "built_at": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    }


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                   for r in rows).encode("utf-8")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CorruptIndexError(f"{path} line {number} is not valid JSON; rebuild the "
                                        "index.") from exc
    return rows


def _verify_passages(generation: Path, manifest: dict[str, Any], documents: list[Document],
                     passages: list[Passage]) -> None:
    if len(passages) != manifest["counts"]["passages"]:
        raise CorruptIndexError(f"{generation} holds {len(passages)} passages, its manifest "
                                f"says {manifest['counts']['passages']}; rebuild the index.")
    texts = {d.doc_id: d.text for d in documents}
    for p in passages:
        if texts.get(p.doc_id, "")[p.start:p.end] != p.text or p.start >= p.end:
            raise CorruptIndexError(f"Passage {p.passage_id} in {generation} does not match its "
                                    "document text; rebuild the index.")


def _base(mode: Mode) -> Mode:
    return "hybrid" if mode == "full" else mode
