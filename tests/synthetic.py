"""A synthetic corpus of any size, made of the seed corpus's own sentences (deterministic).

Each document is a headline and paragraphs of about 45-80 words: long sentences stitched from
seed sentences, and quotes credited to catalog actors (`"…," Aghayev said.`) so attribution has
work to do. One paragraph becomes one passage, so ``passages`` paragraphs give about that many
passages. Used by the Ray engine's slow test and benchmarks/distributed.py.
"""

from __future__ import annotations

import random
from pathlib import Path

from askcorpus.segment import sentence_spans

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PARAGRAPHS_PER_DOCUMENT = 8
CATALOG = """
[perspectives.north]
label = "North side"
[perspectives.south]
label = "South side"
[contest]
parties = ["north", "south"]
[[actors]]
name = "Mayor Lena Ortiz"
kind = "person"
aliases = ["Ortiz"]
perspective = "north"
[[actors]]
name = "Governor Amir Haddad"
kind = "person"
aliases = ["Haddad"]
perspective = "south"
"""
SPEAKERS = ("Ortiz", "Haddad")


def seed_clauses(root: Path = SEEDS) -> list[str]:
    """Seed sentences of 8-40 words without their closing punctuation or quote marks."""
    clauses = []
    for path in sorted(root.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for start, end in sentence_spans(text):
            sentence = " ".join(text[start:end].split()).rstrip(".!?;:")
            if 8 <= len(sentence.split()) <= 40 and not any(q in sentence for q in "\"“”"):
                clauses.append(sentence)
    return clauses


def write_corpus(folder: Path, passages: int = 20_000, seed: int = 15) -> Path:
    """Write about ``passages`` paragraphs as ``.txt`` documents plus a catalog into ``folder``."""
    rng = random.Random(seed)
    clauses = seed_clauses()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "catalog.toml").write_text(CATALOG, encoding="utf-8")
    documents = -(-passages // PARAGRAPHS_PER_DOCUMENT)
    for d in range(documents):
        paragraphs = [f"Report {d}: {rng.choice(clauses)}"]
        for p in range(PARAGRAPHS_PER_DOCUMENT):
            sentence = _long_sentence(rng, clauses)
            if p % 3 == 2:  # every third paragraph is a credited quote
                sentence = f"\"{sentence},\" {SPEAKERS[(d + p) % 2]} said."
            else:
                sentence += "."
            paragraphs.append(sentence)
        (folder / f"doc{d:05d}.txt").write_text("\n\n".join(paragraphs) + "\n",
                                                 encoding="utf-8")
    return folder


def _long_sentence(rng: random.Random, clauses: list[str]) -> str:
    """Clauses joined with semicolons until the sentence holds at least 45 words."""
    parts: list[str] = []
    while sum(len(p.split()) for p in parts) < 45:
        parts.append(rng.choice(clauses))
    text = "; ".join(parts)
    return text[0].upper() + text[1:]
