"""The command line: readable output, documented commands, one-line errors, no tracebacks."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import askcorpus
from askcorpus import cli
from conftest import FIXTURE_CATALOG, FIXTURE_FILES, write_corpus
from pdf_helpers import RIVER_PAGES, make_pdf

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How many soldiers does Armenia say have been killed?"
EXPECTED_COMMANDS = {"build", "ask", "serve", "info", "status", "eval"}


def _commands(capsys: pytest.CaptureFixture[str]) -> set[str]:
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    usage = capsys.readouterr().out
    match = re.search(r"\{([a-z,_-]+)\}", usage)
    assert match, usage
    return set(match.group(1).split(","))


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert _commands(capsys) >= EXPECTED_COMMANDS


def test_every_command_is_documented_in_the_readme(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    undocumented = sorted(c for c in _commands(capsys) if f"askcorpus {c}" not in readme)
    assert not undocumented, f"commands missing from README.md: {undocumented}"


def test_every_module_the_cli_imports_exists() -> None:
    """Commands import their module lazily; a missing one would only fail when run."""
    tree = ast.parse((ROOT / "src" / "askcorpus" / "cli.py").read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "askcorpus":
            modules |= {f"askcorpus.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("askcorpus."):
            modules.add(node.module)
    missing = sorted(m for m in modules if importlib.util.find_spec(m) is None)
    assert not missing


def test_plain_text_answer_shows_source_and_location(
        seed_index: askcorpus.Index, seed_corpus: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ask", QUESTION, "--index", str(seed_index.index_dir),
                     "--corpus", str(seed_corpus)])
    out = capsys.readouterr().out
    assert code == 0
    answer = seed_index.ask(QUESTION)
    first = answer.citations[0]
    assert "520 soldiers" in out
    assert first.document.title in out
    assert first.document.publisher and first.document.publisher in out
    p = first.passage
    assert f"paragraph {p.paragraph} of {p.paragraphs}" in out
    assert f"{p.start}-{p.end}" in out
    assert "{" not in out.splitlines()[0]  # not JSON


def test_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "askcorpus.cli", "ask", "Anything?", "--index", "/nonexistent",
         "--corpus", "/nonexistent"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "askcorpus build" in lines[0]
    assert result.stdout == ""


def test_bad_question_is_an_error_line(seed_index: askcorpus.Index, seed_corpus: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ask", "   ", "--index", str(seed_index.index_dir),
                     "--corpus", str(seed_corpus)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("Error: ")
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.out == ""


def test_status_reports_changed_files(hash_index: askcorpus.Index, fixture_corpus: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    index = str(hash_index.index_dir)
    assert cli.main(["status", "--index", index, "--corpus", str(fixture_corpus)]) == 0
    assert "up to date" in capsys.readouterr().out
    (fixture_corpus / "wire.txt").write_text("Edited after the build.\n", encoding="utf-8")
    assert cli.main(["status", "--index", index, "--corpus", str(fixture_corpus)]) == 1
    out = capsys.readouterr().out
    assert "wire.txt" in out
    assert "askcorpus build" in out


# --------------------------------------------------------------------------- issue 13
def _cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: its own process, from ``cwd``, this checkout's code."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-m", "askcorpus.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


def test_a_mistyped_index_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    """Only the default index is built on demand; --index elsewhere must already exist."""
    for command in (["ask", "Anything?"], ["info"]):
        line = _one_error_line(_cli(*command, "--index", "typo/index", cwd=tmp_path))
        assert "askcorpus build --index typo/index" in line
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("files", [{}, {"notes.docx": b"PK\x03\x04", "image.png": b"\x89PNG"},
                                   {"a.txt": "", "b.md": "  \n"}])
def test_build_of_a_corpus_without_text_is_one_error_line(tmp_path: Path, files) -> None:
    corpus = write_corpus(tmp_path / "corpus", files)
    line = _one_error_line(_cli("build", "--corpus", str(corpus), "--index",
                                str(tmp_path / "index"), "--model", "hash:64", cwd=tmp_path))
    assert str(corpus) in line and ("no documents" in line or "only empty" in line)
    assert not (tmp_path / "index").exists()


def test_api_errors_name_api_arguments(tmp_path: Path) -> None:
    with pytest.raises(askcorpus.CorpusError, match=r"as `corpus`"):
        askcorpus.build(tmp_path / "missing", tmp_path / "index", model="hash:64")


def test_readme_python_example_runs_from_any_folder(tmp_path: Path) -> None:
    """The README's Python block, as written, in an empty folder (seeds ship in the package)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API"):]
    code = section[section.index("```python\n") + 10:section.index("```\n", 10)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=600, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "index" / "CURRENT").is_file()


def test_ask_prints_no_progress_bars(seed_index: askcorpus.Index, seed_corpus: Path,
                                     tmp_path: Path) -> None:
    result = _cli("ask", QUESTION, "--index", str(seed_index.index_dir), "--corpus",
                  str(seed_corpus), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no "Loading weights", no "Batches"
    assert "520 soldiers" in result.stdout


def test_build_shows_one_progress_display(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", FIXTURE_FILES, FIXTURE_CATALOG)
    result = _cli("build", "--corpus", str(corpus), "--index", str(tmp_path / "index"),
                  cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Embedding \d+ passages: 100%", result.stderr), result.stderr
    assert "Batches" not in result.stderr and "Loading weights" not in result.stderr
    assert result.stdout.startswith(f"Built {tmp_path / 'index'} (gen-000001): 3 documents")


def test_pdf_citations_carry_page_numbers(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", {"river.pdf": make_pdf(RIVER_PAGES)})
    built = _cli("build", "--corpus", str(corpus), "--index", str(tmp_path / "index"),
                 "--model", "hash:64", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    result = _cli("ask", "Who demands that the gates be opened?", "--index",
                  str(tmp_path / "index"), "--corpus", str(corpus), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    cited = answer["citations"] or answer["nearest"]
    assert cited
    index = askcorpus.open(tmp_path / "index")
    text = index.document("river").text
    for c in cited:
        assert c["source_path"] == "river.pdf"
        assert text[c["start"]:c["end"]] == c["text"]
        assert 1 <= c["page"] <= c["page_end"] <= 3
        pages = f"page {c['page']}" if c["page"] == c["page_end"] else \
            f"pages {c['page']}-{c['page_end']}"
        assert c["location"].startswith(f"{pages}, ")
    pages = {c.page_end for c in index.search("southern council gates opened", k=3)}
    assert pages and max(pages) >= 2  # not everything is on page 1


def test_build_says_what_it_inferred_and_how_to_declare_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = write_corpus(tmp_path / "corpus", {
        "council.md": "# Council votes on the water plan\n\nThe council met on Tuesday. "
                      "\"We will not allow it,\" said Minister Jane Doe.\n"})
    code = cli.main(["build", "--corpus", str(corpus), "--index", str(tmp_path / "index"),
                     "--model", "hash:64"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Inferred from the files (1 documents not in catalog.toml)" in out
    assert "council.md: title 'Council votes on the water plan'" in out
    assert "[[documents]]" in out and 'file = "council.md"' in out
