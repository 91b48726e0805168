"""The public surface: one sorted __all__, every name importable, and a light `import askcorpus`."""

from __future__ import annotations

import json
import subprocess
import sys

import askcorpus

HEAVY = ("torch", "gradio", "faiss", "sentence_transformers", "transformers", "ray", "pymilvus",
         "milvus_lite")


def _loaded_after(code: str) -> list[str]:
    probe = (f"import json, sys\n{code}\n"
             f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


PUBLIC = [
    "Answer", "AskcorpusError", "BuildLockedError", "CatalogError", "Citation", "CorpusError",
    "CorruptIndexError", "Document", "IncompleteIndexError", "Index", "IndexFolderError",
    "IndexNotFoundError", "IndexVersionError", "ModelError", "ModelMismatchError", "Passage",
    "QuestionError", "Reference", "Settings", "StaleIndexError", "SummaryLine", "__version__",
    "build", "open",
]


def test_all_is_the_deliberate_public_surface() -> None:
    """A name joins or leaves the public API only by changing this list on purpose."""
    assert askcorpus.__all__ == PUBLIC


def test_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    assert askcorpus.__version__ == version("askcorpus")


def test_all_is_sorted_and_unique() -> None:
    assert askcorpus.__all__ == sorted(askcorpus.__all__)
    assert len(askcorpus.__all__) == len(set(askcorpus.__all__))


def test_every_public_name_is_importable() -> None:
    for name in askcorpus.__all__:
        namespace: dict[str, object] = {}
        exec(f"from askcorpus import {name}", namespace)
        assert namespace[name] is getattr(askcorpus, name)


def test_entry_points_are_public() -> None:
    for name in ("build", "open", "Index", "Answer", "Citation", "Passage", "Document",
                 "AskcorpusError", "IndexNotFoundError", "StaleIndexError",
                 "ModelMismatchError", "CatalogError", "CorpusError", "QuestionError"):
        assert name in askcorpus.__all__, name


def test_every_error_is_an_askcorpus_error() -> None:
    for name in askcorpus.__all__:
        value = getattr(askcorpus, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, askcorpus.AskcorpusError), name


def test_import_askcorpus_loads_no_heavy_library() -> None:
    assert _loaded_after("import askcorpus") == []


def test_cli_help_loads_no_heavy_library() -> None:
    code = ("from askcorpus import cli\n"
            "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass")
    assert _loaded_after(code) == []
