"""The Milvus store (real milvus-lite): same rows and answers as FAISS, filters inside Milvus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import askcorpus
from askcorpus import milvus_store, storage
from askcorpus.lexical import tokenize
from askcorpus.milvus_store import MilvusSearch, where
from askcorpus.types import Passage
from conftest import HASH_MODEL

QUESTIONS = ("How much water does the dam supply?", "What does Ortiz say about the dam?",
             "How many farms are along the river?", "Was the rainfall normal this year?")


@pytest.fixture
def both(fixture_corpus: Path, tmp_path: Path) -> tuple[askcorpus.Index, askcorpus.Index]:
    """The fixture corpus built twice with the test embedder: FAISS store, then Milvus store."""
    faiss_index = askcorpus.build(fixture_corpus, tmp_path / "faiss", model=HASH_MODEL)
    askcorpus.build(fixture_corpus, tmp_path / "milvus", model=HASH_MODEL, store="milvus")
    return faiss_index, askcorpus.open(tmp_path / "milvus")


def test_the_manifest_records_the_store_and_open_serves_from_it(
        both: tuple[askcorpus.Index, askcorpus.Index]) -> None:
    faiss_index, milvus_index = both
    assert faiss_index.manifest.store.kind == "faiss"
    assert milvus_index.manifest.store.kind == "milvus"
    assert milvus_index.manifest.store.collection == "passages"
    assert isinstance(milvus_index.retriever.dense.searcher, MilvusSearch)
    folder = milvus_index.index_dir / milvus_index.generation
    assert (folder / milvus_store.EMBEDDED).is_dir()  # milvus-lite inside the generation


def test_milvus_answers_like_faiss(both: tuple[askcorpus.Index, askcorpus.Index]) -> None:
    faiss_index, milvus_index = both
    for question in QUESTIONS:
        for mode in ("dense", "hybrid"):
            a = [c.passage.passage_id for c in faiss_index.search(question, 10, mode=mode)]
            b = [c.passage.passage_id for c in milvus_index.search(question, 10, mode=mode)]
            assert a == b, (question, mode)
        assert faiss_index.ask(question).to_dict() == milvus_index.ask(question).to_dict()


def test_per_side_and_per_document_filters_run_inside_milvus(
        both: tuple[askcorpus.Index, askcorpus.Index]) -> None:
    faiss_index, milvus_index = both
    searcher = milvus_index.retriever.dense.searcher
    assert isinstance(searcher, MilvusSearch)
    passages = milvus_index.passages()
    query = milvus_index.encode_query("water for the farms")
    for side in ("north", "south"):
        _, ids = searcher.search_where(query, 10, where(perspectives=[side]))
        rows = [int(i) for i in ids[0] if i >= 0]
        assert rows and all(passages[r].perspective == side for r in rows)
        expected = [r for r, p in enumerate(passages) if p.perspective == side]
        found, _ = faiss_index.retriever.dense.top(query, 10, np.array(expected))
        assert rows == [int(r) for r in found]
    _, ids = searcher.search_where(query, 10, where(documents=["wire"]))
    assert {passages[int(i)].doc_id for i in ids[0] if i >= 0} == {"wire"}


@pytest.fixture(scope="module")
def seed_milvus(seed_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> askcorpus.Index:
    """The seed corpus in milvus-lite (test embedder: these tests are about the store)."""
    return askcorpus.build(seed_corpus, tmp_path_factory.mktemp("seedmilvus") / "index",
                           model=HASH_MODEL, store="milvus")


def test_a_retrieval_mask_becomes_a_scalar_filter(seed_milvus: askcorpus.Index) -> None:
    searcher = seed_milvus.retriever.dense.searcher
    assert isinstance(searcher, MilvusSearch)
    mask = seed_milvus.view.allowed(["azerbaijani"], None)
    expression = searcher.filter_for(np.flatnonzero(mask))
    assert "row in" not in expression and 'perspective in ["azerbaijani"]' in expression
    # One passage of a document with others of the same side and kind: no scalar field picks
    # it alone, so the filter lists the row.
    passages = seed_milvus.passages()
    twins = [r for r, p in enumerate(passages) if any(
        q.doc_id == p.doc_id and q.kind == p.kind and q.perspective == p.perspective
        and q is not p for q in passages)]
    assert searcher.filter_for(np.array([twins[0]])) == f"row in [{twins[0]}]"
    query = seed_milvus.encode_query("cluster munitions")
    _, ids = searcher.search(query.reshape(1, -1), 5, allowed=np.array([twins[0]]))
    assert ids[0].tolist() == [twins[0], -1, -1, -1, -1]


def _articles(count: int) -> list[Passage]:
    """``count`` documents of a heading, a body, a quote and a footnote, north and south in turn."""
    kinds = ("heading", "body", "quote", "footnote")
    return [Passage(f"p{r}", f"d{r // 4}", 0, 1, "", kind=kinds[r % 4],  # type: ignore[arg-type]
                    perspective=("north", "south")[r // 4 % 2]) for r in range(4 * count)]


def _selected(expression: str, passages: list[Passage]) -> list[int]:
    """The rows a filter selects: a ``where`` expression's clauses, or a ``row in`` list."""
    if not expression:
        return list(range(len(passages)))
    clauses = [c.split(" in ", 1) for c in expression.split(" and ")]
    value = {"doc_id": lambda p: p.doc_id, "perspective": lambda p: p.perspective,
             "kind": lambda p: p.kind}
    if clauses[0][0] == "row":
        return sorted(json.loads(clauses[0][1]))
    return [r for r, p in enumerate(passages)
            if all(value[field](p) in json.loads(values) for field, values in clauses)]


def test_a_side_or_document_filter_names_only_the_fields_it_needs() -> None:
    """A per-side filter must not also list the side's documents: at 1M rows that list held
    tens of thousands of ids that Milvus parsed and matched at every query
    (benchmarks/scale_milvus.py)."""
    passages = _articles(500)
    searcher = MilvusSearch(None, "passages", passages)  # filter_for never calls Milvus
    searchable = np.array([p.kind != "footnote" for p in passages])
    north = np.array([p.perspective == "north" for p in passages])
    searchable_kinds = 'kind in ["body", "heading", "quote"]'
    assert searcher.filter_for(searchable & north) == (
        f'perspective in ["north"] and {searchable_kinds}')
    assert searcher.filter_for(north) == 'perspective in ["north"]'
    document = np.array([p.doc_id == "d7" for p in passages])
    assert searcher.filter_for(searchable & document) == f'doc_id in ["d7"] and {searchable_kinds}'
    two = np.flatnonzero(np.isin([p.doc_id for p in passages], ["d3", "d4"]))
    assert searcher.filter_for(two) == 'doc_id in ["d3", "d4"]'
    assert _selected(searcher.filter_for(np.zeros(len(passages), dtype=bool)), passages) == []


def test_every_retrieval_mask_becomes_a_filter_selecting_exactly_its_rows() -> None:
    passages, rng = _articles(60), np.random.default_rng(15)
    searcher = MilvusSearch(None, "passages", passages)
    columns = {name: np.array([getattr(p, name) for p in passages])
               for name in ("doc_id", "perspective", "kind")}
    for _ in range(200):
        mask = np.ones(len(passages), dtype=bool)
        for values in columns.values():
            if rng.random() < 0.5:
                distinct = np.unique(values)
                chosen = rng.choice(distinct, rng.integers(1, min(4, len(distinct)) + 1),
                                    replace=False)
                mask &= np.isin(values, chosen)
        if rng.random() < 0.2:  # a mask no field describes
            mask[rng.integers(len(passages))] ^= True
        assert _selected(searcher.filter_for(mask), passages) == np.flatnonzero(mask).tolist()


@pytest.mark.slow
def test_a_call_of_minutes_to_milvus_lite_is_not_cut_by_pings(tmp_path: Path) -> None:
    """A create_index that waits 4 minutes (here on the collection's lock; at 1M rows on the
    HNSW build) completes once: with pymilvus's 10 s pings, milvus-lite's server sent GOAWAY
    after ~200 s and pymilvus's retry failed with "index already exists"."""
    from milvus_lite.server_manager import server_manager_instance
    from pymilvus import DataType

    uri = str(tmp_path / milvus_store.EMBEDDED)
    client = milvus_store.connect(uri)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=4)
    client.create_collection("held", schema=schema)
    _, db, _ = server_manager_instance._servers[os.path.abspath(uri)]
    lock, held = db.get_collection("held")._maintenance_lock, threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            time.sleep(240)

    threading.Thread(target=hold, daemon=True).start()
    held.wait()
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    started = time.perf_counter()
    client.create_index("held", params)  # raised MilvusException (code 35) before
    assert time.perf_counter() - started >= 239
    assert client.list_indexes("held") == ["vector"]
    client.close()
    milvus_store.release(uri)


def test_bm25_in_milvus_ranks_like_the_local_bm25(seed_milvus: askcorpus.Index) -> None:
    """Milvus' full-text search over askcorpus's own tokens gives bm25s's ranking and scores
    (times k1 + 1: Milvus keeps the classic numerator)."""
    searcher = seed_milvus.retriever.dense.searcher
    assert isinstance(searcher, MilvusSearch)
    k1 = seed_milvus.manifest.bm25.k1
    for question in ("How many soldiers has Armenia lost?", "cluster munitions Stepanakert",
                     "What did Nasimi Aghayev say?", "Lachin corridor blockade"):
        local = seed_milvus.retriever.lexical.scores(question)
        scores, ids = searcher.text_search(tokenize(question), 10)
        rows = ids[0][ids[0] >= 0]
        matching = int((local > 0).sum())  # Milvus returns only passages with a query word
        assert len(rows) == min(10, matching) > 0
        np.testing.assert_allclose(scores[0][:len(rows)] / (k1 + 1), local[rows], rtol=1e-4)
        assert np.isclose(local[rows].min(), np.sort(local)[-len(rows)], rtol=1e-4)


def test_a_missing_collection_is_reported_with_the_fix(
        both: tuple[askcorpus.Index, askcorpus.Index]) -> None:
    _, milvus_index = both
    shutil.rmtree(milvus_index.index_dir / milvus_index.generation / milvus_store.EMBEDDED)
    with pytest.raises(askcorpus.CorruptIndexError, match="--store milvus"):
        askcorpus.open(milvus_index.index_dir)


def test_an_unreachable_milvus_server_is_one_line_before_any_work(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "askcorpus.cli", "build", "--store", "milvus",
         "--milvus-uri", "http://127.0.0.1:9", "--index", str(tmp_path / "index")],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: Cannot reach Milvus at http://127.0.0.1:9 (MilvusException); start the server "
        "or pass --milvus-uri (milvus_uri) a reachable one."]
    assert not (tmp_path / "index").exists()


def test_a_milvus_uri_without_the_milvus_store_is_refused(fixture_corpus: Path,
                                                          tmp_path: Path) -> None:
    with pytest.raises(askcorpus.IndexFolderError, match="--store milvus"):
        askcorpus.build(fixture_corpus, tmp_path / "index", model=HASH_MODEL, store="faiss",
                        milvus_uri="http://127.0.0.1:9")


def test_a_rebuild_keeps_the_store_the_index_was_built_with(
        both: tuple[askcorpus.Index, askcorpus.Index], fixture_corpus: Path) -> None:
    faiss_index, milvus_index = both
    again = askcorpus.build(fixture_corpus, milvus_index.index_dir, model=HASH_MODEL)
    assert again.generation != milvus_index.generation
    assert again.manifest.store.kind == "milvus"
    assert isinstance(again.retriever.dense.searcher, MilvusSearch)
    assert askcorpus.build(fixture_corpus, faiss_index.index_dir,
                           model=HASH_MODEL).manifest.store.kind == "faiss"


def test_a_milvus_lite_folder_of_ones_own_holds_one_collection_per_generation(
        fixture_corpus: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared.db"
    first = askcorpus.build(fixture_corpus, tmp_path / "index", model=HASH_MODEL,
                            store="milvus", milvus_uri=str(shared))
    second = askcorpus.build(fixture_corpus, tmp_path / "index", model=HASH_MODEL,
                             store="milvus", milvus_uri=str(shared))
    store = second.manifest.store
    assert store.uri == str(shared.resolve()) and shared.is_dir()
    assert store.collection != first.manifest.store.collection
    assert str(store.collection).startswith("askcorpus_gen_tmp_")
    assert not (second.index_dir / second.generation / milvus_store.EMBEDDED).exists()
    reopened = askcorpus.open(tmp_path / "index")
    assert isinstance(reopened.retriever.dense.searcher, MilvusSearch)
    local = askcorpus.build(fixture_corpus, tmp_path / "faiss", model=HASH_MODEL)
    for question in QUESTIONS:
        found = [c.passage.passage_id for c in reopened.search(question, 3, mode="dense")]
        assert found and found == [c.passage.passage_id
                                   for c in local.search(question, 3, mode="dense")]


def test_an_interrupted_milvus_build_keeps_the_previous_index(
        both: tuple[askcorpus.Index, askcorpus.Index], fixture_corpus: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, milvus_index = both
    before = [c.passage.passage_id for c in milvus_index.search(QUESTIONS[0], 5)]

    def disk_full(staging: Path, manifest: dict, **_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage, "write_manifest", disk_full)
    with pytest.raises(askcorpus.IndexFolderError, match="previous index is unchanged"):
        askcorpus.build(fixture_corpus, milvus_index.index_dir, model=HASH_MODEL,
                        store="milvus")
    monkeypatch.undo()
    assert not list(milvus_index.index_dir.glob("gen-tmp-*"))  # the half-written one is gone
    reopened = askcorpus.open(milvus_index.index_dir)
    assert reopened.generation == milvus_index.generation
    assert [c.passage.passage_id for c in reopened.search(QUESTIONS[0], 5)] == before
