"""The corpus catalog: read and validate ``catalog.toml`` (perspectives, documents, actors)."""

from __future__ import annotations

import codecs
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from askcorpus.errors import CatalogError
from askcorpus.types import UNLABELED, Actor, Perspective

CATALOG_NAME = "catalog.toml"
_TOP_KEYS = {"perspectives", "contest", "documents", "actors", "overrides", "examples"}
_PERSPECTIVE_KEYS = {"label", "description", "color"}
_DOCUMENT_KEYS = {"file", "id", "title", "publisher", "author", "date", "url", "kind",
                  "perspective", "encoding"}
_ACTOR_KEYS = {"name", "aliases", "perspective", "title", "kind"}
_OVERRIDE_KEYS = {"doc", "snippet", "speaker"}


@dataclass(frozen=True)
class DocumentEntry:
    """What the catalog says about one file."""

    file: str
    doc_id: str
    title: str | None = None
    publisher: str | None = None
    author: str | None = None
    date: str | None = None
    url: str | None = None
    kind: str | None = None
    perspective: str = UNLABELED
    encoding: str | None = None


@dataclass(frozen=True)
class Override:
    """A hand correction: the passage containing ``snippet`` is spoken by ``speaker``."""

    doc_id: str
    snippet: str
    speaker: str | None


@dataclass(frozen=True)
class Catalog:
    """A validated catalog; an empty one stands for a folder without ``catalog.toml``."""

    perspectives: tuple[Perspective, ...] = ()
    contest_parties: tuple[str, ...] = ()
    documents: tuple[DocumentEntry, ...] = ()
    actors: tuple[Actor, ...] = ()
    overrides: tuple[Override, ...] = ()
    examples: tuple[str, ...] = ()

    def perspective_map(self) -> dict[str, Perspective]:
        known = {p.id: p for p in self.perspectives}
        known.setdefault(UNLABELED, Perspective(UNLABELED, "Unlabeled", "No perspective given"))
        return known

    def entry_for(self, file: str) -> DocumentEntry | None:
        return next((d for d in self.documents if d.file == file), None)


def load_catalog(corpus_root: Path) -> Catalog:
    """Read ``corpus_root/catalog.toml``; a folder without one gets an empty catalog."""
    path = corpus_root / CATALOG_NAME
    if not path.is_file():
        return Catalog()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path} is not valid TOML ({exc}); fix that line and rebuild.") from exc
    return parse_catalog(raw, path)


def parse_catalog(raw: dict[str, Any], path: Path) -> Catalog:
    """Validate a parsed catalog; every problem names the file and the entry."""
    _reject_unknown(raw, _TOP_KEYS, f"{path}", "top level")
    perspectives = _perspectives(raw.get("perspectives", {}), path)
    declared = {p.id for p in perspectives} | {UNLABELED}
    contest = raw.get("contest", {})
    _reject_unknown(contest, {"parties"}, f"{path}", "[contest]")
    parties = tuple(contest.get("parties", ()))
    for party in parties:
        _check_perspective(party, declared, path, "[contest] parties")
    documents = tuple(_document(d, i, declared, path)
                      for i, d in enumerate(raw.get("documents", [])))
    _reject_duplicates([d.doc_id for d in documents], path, "document id")
    _reject_duplicates([d.file for d in documents], path, "document file")
    actors = tuple(_actor(a, i, declared, path) for i, a in enumerate(raw.get("actors", [])))
    _reject_duplicates([a.name for a in actors], path, "actor name")
    overrides = tuple(_override(o, i, path) for i, o in enumerate(raw.get("overrides", [])))
    examples = tuple(str(e) for e in raw.get("examples", []))
    return Catalog(perspectives, parties, documents, actors, overrides, examples)


def _perspectives(table: Any, path: Path) -> tuple[Perspective, ...]:
    if not isinstance(table, dict):
        raise CatalogError(f"{path}: [perspectives] must be a table of tables.")
    out = []
    for pid, body in table.items():
        if not isinstance(body, dict):
            raise CatalogError(f"{path}: [perspectives.{pid}] must be a table with a label.")
        _reject_unknown(body, _PERSPECTIVE_KEYS, f"{path}", f"[perspectives.{pid}]")
        out.append(Perspective(pid, str(body.get("label", pid)), str(body.get("description", "")),
                               str(body.get("color", "#666666"))))
    return tuple(out)


def _document(body: Any, i: int, declared: set[str], path: Path) -> DocumentEntry:
    where = f"[[documents]] entry {i + 1}"
    if not isinstance(body, dict):
        raise CatalogError(f"{path}: {where} must be a table.")
    _reject_unknown(body, _DOCUMENT_KEYS, f"{path}", where)
    for key in ("file", "id"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            raise CatalogError(f"{path}: {where} needs a non-empty '{key}'.")
    where = f"document '{body['id']}'"
    perspective = str(body.get("perspective", UNLABELED))
    _check_perspective(perspective, declared, path, where)
    fields = {k: (str(body[k]) if k in body else None)
              for k in ("title", "publisher", "author", "date", "url", "kind", "encoding")}
    if fields["encoding"] is not None:
        try:
            codecs.lookup(fields["encoding"])
        except LookupError:
            raise CatalogError(f"{path}: {where} has unknown encoding "
                               f"{fields['encoding']!r}; use a Python codec name such as "
                               "'utf-8' or 'cp1252'.") from None
    return DocumentEntry(file=body["file"], doc_id=body["id"], perspective=perspective, **fields)


def _actor(body: Any, i: int, declared: set[str], path: Path) -> Actor:
    where = f"[[actors]] entry {i + 1}"
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise CatalogError(f"{path}: {where} needs a 'name'.")
    _reject_unknown(body, _ACTOR_KEYS, f"{path}", f"actor '{body['name']}'")
    perspective = str(body.get("perspective", UNLABELED))
    _check_perspective(perspective, declared, path, f"actor '{body['name']}'")
    kind = body.get("kind", "institution")
    if kind not in ("person", "institution"):
        raise CatalogError(f"{path}: actor '{body['name']}' has kind '{kind}'; "
                           "use 'person' or 'institution'.")
    return Actor(name=body["name"], perspective=perspective,
                 aliases=tuple(str(a) for a in body.get("aliases", ())),
                 title=str(body.get("title", "")), kind=kind)


def _override(body: Any, i: int, path: Path) -> Override:
    where = f"[[overrides]] entry {i + 1}"
    if not isinstance(body, dict):
        raise CatalogError(f"{path}: {where} must be a table.")
    _reject_unknown(body, _OVERRIDE_KEYS, f"{path}", where)
    if not body.get("doc") or not body.get("snippet"):
        raise CatalogError(f"{path}: {where} needs 'doc' and 'snippet'.")
    return Override(str(body["doc"]), str(body["snippet"]), body.get("speaker"))


def _reject_unknown(body: dict[str, Any], allowed: set[str], path: str, where: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise CatalogError(f"{path}: {where} has unknown key '{unknown[0]}'; "
                           f"allowed keys are {', '.join(sorted(allowed))}.")


def _check_perspective(pid: str, declared: set[str], path: Path, where: str) -> None:
    if pid not in declared:
        raise CatalogError(f"{path}: {where} uses perspective '{pid}', which is not declared; "
                           f"declare it under [perspectives] or use one of "
                           f"{', '.join(sorted(declared))}.")


def _reject_duplicates(values: list[str], path: Path, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise CatalogError(f"{path}: duplicate {what} '{value}'; each must be unique.")
        seen.add(value)
