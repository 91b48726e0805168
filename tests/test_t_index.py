"""Reliability matrix T25-T39: damaged, foreign, stale or concurrently rebuilt index folders."""

from __future__ import annotations

import errno
import inspect
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import askcorpus
from askcorpus import render, storage
from askcorpus.cli import main as cli_main
from askcorpus.errors import (
    AskcorpusError,
    BuildLockedError,
    CorruptIndexError,
    IncompleteIndexError,
    IndexNotFoundError,
    IndexVersionError,
    ModelMismatchError,
    StaleIndexError,
)
from conftest import HASH_MODEL, write_corpus
from reliability_helpers import (
    GOLDEN_QUESTION,
    ROOT,
    answer_json,
    audited,
    current_gen,
    env_with_src,
    fixture_corpus_at,
    rechecksum,
    tree_digest,
)

SRC = ROOT / "src" / "askcorpus"


def _copy_index(index: askcorpus.Index, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(index.index_dir, target)
    return target


def _gen(index_dir: Path) -> Path:
    return current_gen(index_dir)


# --------------------------------------------------------------------------- T25
def test_t25_index_missing(tmp_path, capsys):
    missing = tmp_path / "nope"
    with pytest.raises(IndexNotFoundError, match=r"No index at .*nope; run `askcorpus build"):
        askcorpus.open(missing)
    assert cli_main(["status", "--index", str(missing)]) == 2
    assert cli_main(["ask", "q", "--index", str(missing), "--corpus", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.count("No index at") == 2 and "Traceback" not in err
    assert not missing.exists()


# --------------------------------------------------------------------------- T26
def test_t26_incomplete_index(hash_index, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IncompleteIndexError, match="no complete index"):
        askcorpus.open(empty)
    copy = _copy_index(hash_index, tmp_path)
    (_gen(copy) / "manifest.json").unlink()
    with pytest.raises(IncompleteIndexError, match="half-written"):
        askcorpus.open(copy)
    (copy / "CURRENT").write_text("gen-tmp-0123456789ab")
    (copy / "gen-tmp-0123456789ab").mkdir()
    with pytest.raises(IncompleteIndexError, match="not a generation folder"):
        askcorpus.open(copy)
    (copy / "CURRENT").write_text("")
    with pytest.raises(IncompleteIndexError):
        askcorpus.open(copy)


# --------------------------------------------------------------------------- T27
@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_t27_faiss_truncated(hash_index, tmp_path, damage):
    copy = _copy_index(hash_index, tmp_path)
    path = _gen(copy) / "vectors.faiss"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    with pytest.raises(CorruptIndexError) as caught:
        askcorpus.open(copy)
    message = str(caught.value)
    assert "vectors.faiss" in message and "checksum mismatch" in message
    assert "Error in" not in message and "faiss/" not in message  # no raw C++ text
    # Even with a forged manifest, FAISS's own error is turned into ours.
    rechecksum(_gen(copy))
    with pytest.raises(CorruptIndexError, match=r"vectors\.faiss") as caught:
        askcorpus.open(copy)
    assert "Error in" not in str(caught.value)


# --------------------------------------------------------------------------- T28
@pytest.mark.parametrize("artifact", ["vectors.faiss", "passages.jsonl", "bm25",
                                      "sentence_vectors.npy",
                                      "documents.jsonl", "catalog.json"])
def test_t28_bit_flip(hash_index, tmp_path, artifact):
    copy = _copy_index(hash_index, tmp_path)
    gen = _gen(copy)
    path = gen / artifact
    if path.is_dir():
        path = sorted(p for p in path.iterdir() if p.is_file())[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match="checksum mismatch") as caught:
        askcorpus.open(copy)
    assert path.name in str(caught.value)


# --------------------------------------------------------------------------- T29
def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write_rows(path: Path, rows: list) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.mark.parametrize("mutation", ["count", "count_and_manifest", "offsets", "text",
                                      "bad_json", "wrong_type", "missing_key"])
def test_t29_misaligned_passages(hash_index, tmp_path, mutation):
    copy = _copy_index(hash_index, tmp_path)
    gen = _gen(copy)
    path = gen / "passages.jsonl"
    rows = _rows(path)
    # First: any edit is caught by the checksum before anything is parsed.
    _write_rows(path, rows[:-1])
    with pytest.raises(CorruptIndexError, match="checksum mismatch"):
        askcorpus.open(copy)
    # Then: a consistent forgery (checksums rewritten) is caught by the structural checks.
    expected = {"count": "holds 3 passages, its manifest says 4",
                "count_and_manifest": "holds 4 vectors of dimension 64, the manifest says 3",
                "offsets": "does not match its document text",
                "text": "does not match its document text",
                "bad_json": "line 2 is not valid JSON",
                "wrong_type": "not a valid askcorpus index",
                "missing_key": "not a valid askcorpus index"}[mutation]
    if mutation in ("count", "count_and_manifest"):
        _write_rows(path, rows[:-1])
        if mutation == "count_and_manifest":
            manifest = json.loads((gen / "manifest.json").read_text())
            manifest["counts"]["passages"] = 3
            (gen / "manifest.json").write_text(json.dumps(manifest))
    elif mutation == "offsets":
        rows[1]["end"] = 10**6
        _write_rows(path, rows)
    elif mutation == "text":
        rows[0]["text"] = rows[0]["text"].replace("dam", "cat")
        _write_rows(path, rows)
    elif mutation == "bad_json":
        path.write_text(path.read_text().replace("\n", "\n{oops", 1))
    elif mutation == "wrong_type":
        _write_rows(path, [rows[0], [1, 2, 3], *rows[2:]])
    else:
        del rows[2]["doc_id"]
        _write_rows(path, rows)
    rechecksum(gen)
    with pytest.raises(CorruptIndexError) as caught:
        askcorpus.open(copy)
    assert expected in str(caught.value)


# --------------------------------------------------------------------------- T30
@pytest.mark.parametrize("edit", ["newer_format", "required_feature", "no_format"])
def test_t30_newer_format(hash_index, tmp_path, edit):
    copy = _copy_index(hash_index, tmp_path)
    path = _gen(copy) / "manifest.json"
    manifest = json.loads(path.read_text())
    if edit == "newer_format":
        manifest["format_version"] = storage.FORMAT_VERSION + 1
    elif edit == "required_feature":
        manifest["required_features"] = ["sharded-vectors"]
    else:
        del manifest["format_version"]
    path.write_text(json.dumps(manifest))
    error = CorruptIndexError if edit == "no_format" else IndexVersionError
    with pytest.raises(error) as caught:
        askcorpus.open(copy)
    if edit != "no_format":
        assert "upgrade askcorpus" in str(caught.value)
    assert cli_main(["status", "--index", str(copy)]) == 2


# --------------------------------------------------------------------------- T31
OPTIMIZED_SCRIPT = """
import sys, askcorpus
assert not __debug__, "run me with python -O"
index_dir = sys.argv[1]
try:
    askcorpus.open(index_dir, model="hash:32")
except askcorpus.ModelMismatchError as e:
    print("refused:", e)
else:
    raise SystemExit("model name mismatch accepted")
index = askcorpus.open(index_dir, model="hash:32", allow_model_mismatch=True)
try:
    index.ask("river dam")
except askcorpus.ModelMismatchError as e:
    print("dimension:", e)
else:
    raise SystemExit("dimension mismatch accepted under -O")
"""


def test_t31_model_mismatch(hash_index, tmp_path, capsys):
    index_dir = hash_index.index_dir
    with pytest.raises(ModelMismatchError, match=r"built with model 'hash:64', not 'hash:32'"):
        askcorpus.open(index_dir, model="hash:32")
    # Allowed by the caller: still refused, by an explicit check, when the dimension differs.
    index = askcorpus.open(index_dir, model="hash:32", allow_model_mismatch=True)
    with pytest.raises(ModelMismatchError, match="dimension 32, the index holds 64"):
        index.ask("river dam")
    # Same name, another revision (a different build of the model): refused unless allowed.
    copy = _copy_index(hash_index, tmp_path)
    path = _gen(copy) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["model"]["revision"] = "0-older"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelMismatchError, match="revision"):
        askcorpus.open(copy).ask("river dam")
    askcorpus.open(copy, model=HASH_MODEL, allow_model_mismatch=True).ask("river dam")
    # The CLI refuses too, with exit code 2.
    assert cli_main(["ask", "river dam", "--index", str(index_dir), "--model", "hash:32"]) == 2
    assert "not 'hash:32'" in capsys.readouterr().err
    assert cli_main(["ask", "river dam", "--index", str(index_dir), "--model", "hash:32",
                     "--allow-model-mismatch"]) == 2
    assert "dimension 32" in capsys.readouterr().err
    # The checks are `if ... raise`, not `assert`: they hold under python -O as well.
    run = subprocess.run([sys.executable, "-O", "-c", OPTIMIZED_SCRIPT, str(index_dir)],
                         capture_output=True, text=True, timeout=120, env=env_with_src())
    assert run.returncode == 0, run.stderr[-2000:]
    assert "refused:" in run.stdout and "dimension:" in run.stdout


# --------------------------------------------------------------------------- T32
def test_t32_k_larger_than_index(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"one.txt": "The only passage is about a dam."})
    index = askcorpus.build(corpus, tmp_path / "index", model=HASH_MODEL)
    assert len(index.passages()) == 1
    for mode in ("hybrid", "dense", "lexical"):
        hits = index.search("dam", k=10, mode=mode)
        assert len(hits) <= 1
        assert all(c.passage.passage_id == "one:0000" for c in hits)
    answer = index.ask("What is the only passage about?", k=10)
    assert all(c.passage.passage_id == "one:0000" for c in answer.citations)
    dense = index.retriever.dense
    query = index.encoder().encode(["dam"])[0]
    assert dense.search(query, 10) == [(0, pytest.approx(dense.search(query, 1)[0][1]))]
    assert dense.search(query, 10, allowed=np.array([], dtype=np.int64)) == []
    assert all(i >= 0 for i, _ in dense.search(query, 50, allowed=np.array([0])))


# --------------------------------------------------------------------------- T33
class DegenerateEncoder:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.name, self.revision, self.dim = inner.name, inner.revision, inner.dim

    def encode(self, texts, *, progress=False):
        out = self.inner.encode(texts, progress=progress)
        for i, text in enumerate(texts):
            if "NANQ" in text:
                out[i] = np.nan
            elif "INFQ" in text:
                out[i] = np.inf
            elif "ZEROQ" in text:
                out[i] = 0.0
        return out


def test_t33_degenerate_embedding(hash_index):
    hash_index._encoder = DegenerateEncoder(hash_index.encoder())
    for sentinel in ("NANQ", "INFQ", "ZEROQ"):
        answer = hash_index.ask(f"river dam {sentinel}")
        assert answer.status == "no_answer" and not answer.citations
        assert any("usable vector" in n for n in answer.notices), answer.notices
        assert hash_index.search(f"river dam {sentinel}", k=5) == []
    assert hash_index.ask("Who says the river dam cut their water?").citations


# --------------------------------------------------------------------------- T34
BIG_DOC = ("The river dam and the farms of the valley were discussed at length by the council "
           "of the south and the engineers of the north. ") * 12


def _crash_corpus(folder: Path) -> Path:
    corpus = fixture_corpus_at(folder)
    for i in range(150):
        (corpus / f"extra{i:03d}.txt").write_text(f"Document {i}. " + BIG_DOC)
    return corpus


def _build_cmd(corpus: Path, index_dir: Path) -> list[str]:
    return [sys.executable, "-m", "askcorpus.cli", "build", "--corpus", str(corpus),
            "--index", str(index_dir), "--model", HASH_MODEL]


def _check_published(index_dir: Path) -> None:
    name = (index_dir / "CURRENT").read_text().strip()
    assert re.fullmatch(r"gen-\d{6}", name), f"CURRENT names {name!r}"
    storage.read_manifest(index_dir / name)  # complete: every checksum matches


def _wait_for_staging(index_dir: Path, proc: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.startswith("gen-tmp-") for p in index_dir.iterdir()):
            return True
        time.sleep(0.002)
    return False


@pytest.mark.slow
def test_t34_crash_during_build(tmp_path):
    corpus = _crash_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    golden = answer_json(askcorpus.build(corpus, index_dir, model=HASH_MODEL))
    env = env_with_src()
    started = time.perf_counter()
    subprocess.run(_build_cmd(corpus, index_dir), env=env, check=True, capture_output=True)
    full = time.perf_counter() - started
    rng = random.Random(34)
    outcomes = {"before_write": 0, "staging_left": 0, "unpublished_gen_left": 0,
                "published": 0, "finished": 0}
    kills, i = 0, 0
    while kills < 32 and i < 80:  # at least 30 real SIGKILLs, whatever the machine's load
        i += 1
        before = (index_dir / "CURRENT").read_text()
        launched = time.perf_counter()
        proc = subprocess.Popen(_build_cmd(corpus, index_dir), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i % 2:  # anywhere in the build, scaled to how long builds take right now
            time.sleep(rng.uniform(0.1, 0.95) * full)
        elif _wait_for_staging(index_dir, proc):  # inside the write-and-publish window
            time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.returncode == 0:
            outcomes["finished"] += 1
            full = min(full, time.perf_counter() - launched)
        else:
            kills += 1
            if (index_dir / "CURRENT").read_text() != before:
                outcomes["published"] += 1
            elif any(p.name.startswith("gen-tmp-") for p in index_dir.iterdir()):
                outcomes["staging_left"] += 1
            elif len(list(index_dir.glob("gen-*"))) > 1:
                outcomes["unpublished_gen_left"] += 1
            else:
                outcomes["before_write"] += 1
        _check_published(index_dir)
        assert answer_json(askcorpus.open(index_dir)) == golden, f"iteration {i}"
        if i % 10 == 0:  # a build that completes cleans every leftover
            subprocess.run(_build_cmd(corpus, index_dir), env=env, check=True,
                           capture_output=True)
            names = sorted(p.name for p in index_dir.iterdir())
            assert [n for n in names if n.startswith("gen-")] == [_gen(index_dir).name], names
            assert "CURRENT.tmp" not in names
            assert answer_json(askcorpus.open(index_dir)) == golden
    print(f"T34: {kills} SIGKILLs in {i} builds (full build {full:.2f}s), outcomes {outcomes}")
    assert kills >= 30, outcomes


# --------------------------------------------------------------------------- T35
class Faults:
    """Counts os.write / os.fsync / os.replace calls; raises ENOSPC at call number ``fail_at``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count, self.fail_at, self.names = 0, 0, []
        for name in ("write", "fsync", "replace"):
            original = getattr(os, name)
            monkeypatch.setattr(os, name, self._wrap(name, original))

    def _wrap(self, name, original):
        def call(*args, **kwargs):
            self.count += 1
            self.names.append(name)
            if self.count == self.fail_at:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return original(*args, **kwargs)
        return call


def test_t35_disk_full_sweep(tmp_path, monkeypatch):
    corpus = fixture_corpus_at(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    askcorpus.build(corpus, index_dir, model=HASH_MODEL)
    (corpus / "new.txt").write_text("A new report says the river dam will be opened in June.")
    golden = answer_json(askcorpus.open(index_dir, check_stale=False))  # says "stale" now
    # Count the calls of one successful build on an identical copy.
    probe = tmp_path / "probe"
    shutil.copytree(index_dir, probe)
    faults = Faults(monkeypatch)
    askcorpus.build(corpus, probe, model=HASH_MODEL)
    total, kinds = faults.count, list(faults.names)
    assert total >= 10 and {"write", "fsync", "replace"} <= set(kinds)
    before = tree_digest(index_dir)
    for n in range(1, total + 1):
        faults.count, faults.fail_at = 0, n
        with pytest.raises(AskcorpusError, match="No space left on device") as caught:
            askcorpus.build(corpus, index_dir, model=HASH_MODEL)
        faults.fail_at = 0
        assert "previous index is unchanged" in str(caught.value), (n, kinds[n - 1])
        leftovers = [p.name for p in index_dir.iterdir() if p.name.startswith("gen-tmp-")]
        assert not leftovers, (n, kinds[n - 1], leftovers)
        assert tree_digest(index_dir) == before, (n, kinds[n - 1])
        opened = askcorpus.open(index_dir, check_stale=False)
        assert answer_json(opened) == golden, (n, kinds[n - 1])
    # With the disk back, the build succeeds and serves the new document.
    index = askcorpus.build(corpus, index_dir, model=HASH_MODEL)
    assert index.document("new")
    assert sorted(p.name for p in index_dir.glob("gen-*")) == [index.generation]
    print(f"T35: injected ENOSPC at each of calls 1..{total} ({kinds.count('write')} write, "
          f"{kinds.count('fsync')} fsync, {kinds.count('replace')} replace)")


# --------------------------------------------------------------------------- T36
def test_t36_concurrent_builds(tmp_path):
    corpus = fixture_corpus_at(tmp_path / "corpus")
    index_dir = tmp_path / "index"
    askcorpus.build(corpus, index_dir, model=HASH_MODEL)
    env = env_with_src()
    # 1. While a build holds the lock, a second build fails at once: exit 2, one line.
    with storage.build_lock(index_dir):
        run = subprocess.run(_build_cmd(corpus, index_dir), env=env, capture_output=True,
                             text=True, timeout=120)
        with pytest.raises(BuildLockedError, match="Another build"):
            askcorpus.build(corpus, index_dir, model=HASH_MODEL)
    assert run.returncode == 2, run.stderr
    assert "Another build" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    # 2. An index keeps answering while two rebuilds race; it moves forward, never back.
    index = askcorpus.open(index_dir)
    (corpus / "late.txt").write_text("A late bulletin: the river dam gates opened on Friday.")
    errors, generations, stop = [], [], threading.Event()

    def query_loop() -> None:
        while not stop.is_set():
            try:
                index.ask("When did the river dam gates open?")
                generations.append(index.generation)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))

    thread = threading.Thread(target=query_loop)
    thread.start()
    procs = [subprocess.Popen(_build_cmd(corpus, index_dir), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    time.sleep(0.3)
    stop.set()
    thread.join(timeout=30)
    assert not errors, errors[:3]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for code, stderr in results:
        if code == 2:
            assert "Another build" in stderr
    numbers = [int(g.split("-")[1]) for g in generations]
    assert numbers == sorted(numbers), "a served generation went backwards"
    index.refresh()
    assert index.generation == _gen(index_dir).name
    assert index.document("late")
    assert any(c.document.doc_id == "late" for c in
               index.search("When did the river dam gates open?", k=3))


# --------------------------------------------------------------------------- T37
def test_t37_stale_index(hash_index, fixture_corpus, capsys):
    index_dir = str(hash_index.index_dir)
    assert cli_main(["status", "--index", index_dir]) == 0
    assert not any("stale" in n for n in hash_index.ask(GOLDEN_QUESTION).notices)
    (fixture_corpus / "north.txt").write_text("Edited after the build: the dam is closed.\n")
    (fixture_corpus / "added.txt").write_text("Added after the build.\n")
    (fixture_corpus / "wire.txt").unlink()
    capsys.readouterr()
    assert cli_main(["status", "--index", index_dir]) == 1
    out = capsys.readouterr().out
    for name in ("north.txt", "added.txt", "wire.txt"):
        assert name in out
    assert "is stale" in out
    answer = hash_index.ask(GOLDEN_QUESTION)  # an open index (a server) says so
    notice = [n for n in answer.notices if "index is stale" in n]
    assert notice and "3 corpus file(s)" in notice[0], answer.notices
    assert "index is stale" in render.answer_html(answer)
    with pytest.raises(StaleIndexError, match=r"added\.txt"):  # opening is strict by default
        askcorpus.open(index_dir)
    assert askcorpus.open(index_dir, check_stale=False).ask(GOLDEN_QUESTION)


# --------------------------------------------------------------------------- T38
def test_t38_no_pickle(hash_index, tmp_path):
    sources = {p: p.read_text() for p in SRC.rglob("*.py")}
    for path, text in sources.items():
        assert not re.search(r"^\s*(import|from)\s+(pickle|cPickle|joblib|dill|cloudpickle)\b",
                             text, re.M), path
        assert "pickle.load" not in text and "torch.load" not in text, path
        for call in re.finditer(r"np\.load\(", text):
            args = text[call.end(): text.index(")", call.end()) + 1]
            assert "allow_pickle=False" in args, (path, args)
    import bm25s

    assert inspect.signature(bm25s.BM25.load).parameters["allow_pickle"].default is False
    copy = _copy_index(hash_index, tmp_path)
    gen = _gen(copy)
    for folder in (copy, gen, gen / "bm25"):
        (folder / "evil.pkl").write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
    with audited() as events:
        index = askcorpus.open(copy, check_stale=False)
        index.ask(GOLDEN_QUESTION)
    opened = [t for k, t in events if k == "open"]
    assert opened and not [t for t in opened if t.endswith(".pkl")]


# --------------------------------------------------------------------------- T39
def test_t39_determinism(seed_index, tmp_path):
    corpus = fixture_corpus_at(tmp_path / "corpus")
    askcorpus.build(corpus, tmp_path / "a", model=HASH_MODEL)
    askcorpus.build(corpus, tmp_path / "b", model=HASH_MODEL)
    first, second = (json.loads((_gen(tmp_path / name) / "manifest.json").read_text("utf-8"))
                     for name in ("a", "b"))
    for manifest in (first, second):
        del manifest["build"]
    assert first == second
    assert tree_digest(_gen(tmp_path / "a")) != "" and all(
        (_gen(tmp_path / "a") / rel).read_bytes() == (_gen(tmp_path / "b") / rel).read_bytes()
        for rel in first["artifacts"])
    # Same query 20 times: ordered results (search) on the real model, full answers on both.
    question = "How many soldiers does Armenia say have been killed?"
    hits = {tuple(c.passage.passage_id for c in seed_index.search(question, k=10))
            for _ in range(20)}
    assert len(hits) == 1
    runs = {json.dumps(seed_index.ask(question).to_dict(), sort_keys=True) for _ in range(3)}
    assert len(runs) == 1
    index = askcorpus.open(tmp_path / "a")
    assert len({answer_json(index) for _ in range(20)}) == 1
