"""The command line: readable output, documented commands, one-line errors, no tracebacks."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import askcorpus
from askcorpus import cli

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
