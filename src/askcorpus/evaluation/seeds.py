"""Seed-set evaluation: retrieval, sides, contested flag, abstention, citations, attribution.

`askcorpus eval` runs every question of ``eval/questions.jsonl`` through four configurations
(lexical, dense, hybrid, full) of one index and scores them against the gold evidence, which
is stored as verbatim quotes: a citation "finds" a quote when it lies in the same document and
its [start, end) overlaps the quote's span. Ranking metrics come from ir-measures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from askcorpus.answering import Judge
from askcorpus.api import Index
from askcorpus.errors import CorpusError
from askcorpus.evaluation.metrics import (
    Gold,
    K,
    credit,
    flag_prf,
    mean,
    overlaps,
    ranking_metrics,
    side_recall,
)
from askcorpus.evaluation.tables import fmt, machine, percentile, table
from askcorpus.features import gold_sentences
from askcorpus.retrieve import MODES
from askcorpus.training import locate_evidence

CONFIGS = MODES
RANKING = ("hit@5", "R@1", "R@5", "R@10", "MRR@10", "nDCG@10")
METRICS = (*RANKING, "side_recall", "side_recall_answerable", "contested_precision",
           "contested_recall", "contested_f1", "contested_flag_rate", "abstention_rate",
           "abstention_on_topic", "abstention_off_topic", "false_abstention_rate",
           "citation_validity", "highlight_accuracy", "latency_p50_ms", "latency_p95_ms")


@dataclass
class Outcome:
    """What one configuration did with one question."""

    question: dict[str, Any]
    config: str
    ranking: list[tuple[str, int, int]]
    sides: set[str]
    status: str | None
    seconds: float
    valid: int = 0
    cited: int = 0
    scores: dict[str, float] = field(default_factory=dict)
    highlights: tuple[int, int] = (0, 0)  # (on a gold quote, citations with a choice)

    @property
    def qid(self) -> str:
        return self.question["id"]

def summarize(outcomes: Sequence[Outcome], config: str) -> dict[str, Any]:
    """Every metric over ``outcomes`` (one configuration); None where it does not apply."""
    answerable = [o for o in outcomes if o.question["answerable"]]
    contested = [o for o in answerable if o.question["contested"]]
    unanswerable = [o for o in outcomes if not o.question["answerable"]]
    full = any(o.status is not None for o in outcomes)
    out: dict[str, Any] = {m: mean(o.scores[m] for o in answerable) for m in RANKING}
    out["side_recall"] = mean(side_recall(o.question["sides"], o.sides) for o in contested)
    out["side_recall_answerable"] = mean(side_recall(o.question["sides"], o.sides)
                                         for o in answerable)
    prf = flag_prf([o.question["contested"] for o in outcomes],
                   [o.status == "contested" for o in outcomes]) if full else {}
    for key in ("precision", "recall", "f1"):
        out[f"contested_{key}"] = prf.get(key)
    out["contested_flag_rate"] = mean(o.status == "contested" for o in outcomes) if full else None
    out["abstention_rate"] = mean(o.status == "no_answer" for o in unanswerable) if full else None
    # A question about something the corpus never discusses is easy to abstain on; one about
    # its subject that asks a fact it lacks is not. Sets differ in their mix of the two.
    for topic, off in (("on_topic", False), ("off_topic", True)):
        out[f"abstention_{topic}"] = (mean(o.status == "no_answer" for o in unanswerable
                                           if o.question.get("off_topic", False) == off)
                                      if full else None)
    out["false_abstention_rate"] = (mean(o.status == "no_answer" for o in answerable)
                                    if full else None)
    cited = sum(o.cited for o in outcomes)
    out["citation_validity"] = sum(o.valid for o in outcomes) / cited if cited else None
    chances = sum(o.highlights[1] for o in outcomes)
    out["highlight_accuracy"] = (sum(o.highlights[0] for o in outcomes) / chances
                                 if chances else None)
    ms = [o.seconds * 1000 for o in outcomes]
    out["latency_p50_ms"], out["latency_p95_ms"] = percentile(ms, 50), percentile(ms, 95)
    out.update(n=len(outcomes), n_answerable=len(answerable), n_contested=len(contested),
               n_unanswerable=len(unanswerable))
    return out

def failures(outcomes: Sequence[Outcome], gold: dict[str, list[Gold]]) -> list[dict[str, Any]]:
    """Why each question fell short, one row per (configuration, question, reason)."""
    rows = []
    for o in outcomes:
        q, full = o.question, o.status is not None

        def add(reason: str, detail: str, o: Outcome = o, q: dict = q) -> None:
            rows.append({"config": o.config, "id": o.qid, "type": q["type"], "reason": reason,
                         "detail": detail, "question": q["question"]})

        if full and q["answerable"] and o.status == "no_answer":
            add("wrongly abstained", "status no_answer on an answerable question")
        elif full and not q["answerable"] and o.status != "no_answer":
            top = o.ranking[0] if o.ranking else None
            add("answered unanswerable", f"status {o.status}; top citation {top}")
        elif full and q["answerable"] and (o.status == "contested") != q["contested"]:
            add("wrong status", f"expected {'contested' if q['contested'] else 'answered'}, "
                                f"got {o.status}")
        if q["answerable"] and o.scores.get("R@10", 1.0) < 1.0:
            found = {item for items in credit(o.ranking[:K], gold[o.qid]) for item in items}
            missed = [f"{g.doc}: {g.quote[:70]}" for g in gold[o.qid] if g.item not in found]
            add("missed evidence", " | ".join(missed))
        missing = sorted(set(q["sides"]) - o.sides) if q["contested"] else []
        if missing and o.status != "no_answer":
            add("missed side", f"missing {', '.join(missing)}; shown {sorted(o.sides)}")
    return rows

def gold_spans(index: Index, question: dict[str, Any]) -> list[Gold]:
    return [Gold(f"{question['id']}-e{i}", doc, start, end, ev["quote"])
            for i, ((doc, start, end), ev) in enumerate(zip(
                locate_evidence(index, question), question["evidence"], strict=True))]

def _valid(index: Index, citations: Iterable[Any]) -> tuple[int, int]:
    citations = list(citations)
    good = sum(c.text == index.document(c.passage.doc_id).text[c.passage.start:c.passage.end]
               for c in citations)
    return good, len(citations)

def run_question(index: Index, question: dict[str, Any], config: str,
                 judge: Judge | None = None) -> Outcome:
    """One question through one configuration: a retrieval mode, or an answer (``full``, or
    any configuration given a ``judge``)."""
    text = question["question"]
    started = time.perf_counter()
    if config == "full" or judge is not None:
        answer = (index.with_judge(judge) if judge else index).ask(text, k=K, mode="full")
        seconds = time.perf_counter() - started
        citations, status = list(answer.citations), answer.status
        sides = set(answer.sides_map) if status != "no_answer" else set()
        shown = [*answer.citations, *answer.nearest]
    else:
        citations = index.search(text, k=K, mode=config)
        seconds = time.perf_counter() - started
        status, sides, shown = None, {c.perspective for c in citations[:K]}, citations
    ranking = [(c.passage.doc_id, c.passage.start, c.passage.end) for c in citations]
    valid, cited = _valid(index, shown)
    # Search results have no highlight to score: only answers pick a sentence.
    highlights = _highlight_hits(index, question, citations) if status is not None else (0, 0)
    return Outcome(question, config, ranking, sides, status, seconds, valid, cited,
                   highlights=highlights)


def _highlight_hits(index: Index, question: dict[str, Any],
                    citations: Iterable[Any]) -> tuple[int, int]:
    """How many highlights fall on a gold quote, of the citations whose passage holds one in
    some of its sentences and not in others (where choosing the sentence matters)."""
    if not question["answerable"]:
        return 0, 0
    gold = locate_evidence(index, question)
    hits = chances = 0
    for c in citations:
        spans, marks = gold_sentences(c.passage, gold)
        if any(marks) and not all(marks):
            chances += 1  # a highlight is always one of the passage's sentences
            hits += dict(zip(spans, marks, strict=True)).get(tuple(c.highlight), False)
    return hits, chances

def score_rankings(outcomes: Sequence[Outcome], gold: dict[str, list[Gold]]) -> None:
    """Set each outcome's ranking metrics against the gold quotes of its question."""
    qrels = {o.qid: [g.item for g in gold[o.qid]] for o in outcomes if o.question["answerable"]}
    per_query = ranking_metrics(qrels, {o.qid: credit(o.ranking, gold[o.qid])
                                        for o in outcomes})
    for o in outcomes:
        o.scores = per_query.get(o.qid, {})


def attribution(index: Index, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Speaker and perspective of the passage that overlaps each gold statement the most."""
    speaker_ok = perspective_ok = speakers = 0
    failed = []
    for row in rows:
        start = index.document(row["doc"]).text.find(row["quote"])
        if start < 0:
            raise CorpusError(f"attribution quote not found in {row['doc']}: {row['quote'][:60]!r}")
        end = start + len(row["quote"])
        body = [p for p in index.passages_of(row["doc"]) if p.kind != "footnote"]
        best = max(body, key=lambda p: min(end, p.end) - max(start, p.start))
        s_ok = row["speaker"] is None or best.speaker == row["speaker"]
        p_ok = best.perspective == row["perspective"]
        speakers += row["speaker"] is not None
        speaker_ok += row["speaker"] is not None and s_ok
        perspective_ok += p_ok
        if not (s_ok and p_ok):
            failed.append({"doc": row["doc"], "quote": row["quote"], "passage": best.passage_id,
                           "gold_speaker": row["speaker"], "speaker": best.speaker,
                           "gold_perspective": row["perspective"],
                           "perspective": best.perspective, "attributed_by": best.attributed_by})
    return {"n": len(rows), "n_with_speaker": speakers,
            "speaker_accuracy": speaker_ok / speakers if speakers else None,
            "perspective_accuracy": perspective_ok / len(rows) if rows else None,
            "failures": failed}

def coverage(index: Index, gold: dict[str, list[Gold]]) -> dict[str, Any]:
    """Gold quotes that no searchable passage overlaps can never be found (a chunking bug)."""
    missing = [{"id": qid, "doc": g.doc, "quote": g.quote} for qid, spans in gold.items()
               for g in spans if not any(p.kind != "footnote" and overlaps(p.start, p.end,
                                                                          g.start, g.end)
                                         for p in index.passages_of(g.doc))]
    total = sum(len(spans) for spans in gold.values())
    return {"quotes": total, "covered": (total - len(missing)) / total if total else None,
            "uncovered": missing}

def evaluate(index: Index, questions: Sequence[dict[str, Any]], *,
             configs: Sequence[str] = CONFIGS, attribution_rows: Sequence[dict] = (),
             judges: Mapping[str, Judge] | None = None,
             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every configuration on every question; returns the JSON-ready results.

    ``judges`` names answer configurations beyond ``full`` (the index's own judge): the
    previous release's rules, or the learned stages one at a time.
    """
    judges = dict(judges or {})
    configs = [c for c in configs if c != "full"] + [c for c in judges if c not in configs] \
        + (["full"] if "full" in configs else [])
    started, generation = time.perf_counter(), index.generation
    gold = {q["id"]: gold_spans(index, q) for q in questions}
    index.search("warm-up query", k=1, mode="hybrid")  # load the model outside the timings
    results: dict[str, Any] = {"configs": {}, "by_type": {}, "failures": [], "per_question": [],
                               "coverage": coverage(index, gold)}
    for config in configs:
        outcomes = [run_question(index, q, config, judges.get(config)) for q in questions]
        score_rankings(outcomes, gold)
        results["configs"][config] = summarize(outcomes, config)
        types = sorted({q["type"] for q in questions})
        results["by_type"][config] = {t: summarize([o for o in outcomes
                                                    if o.question["type"] == t], config)
                                      for t in types}
        results["failures"] += failures(outcomes, gold)
        results["per_question"] += [{"config": config, "id": o.qid, "type": o.question["type"],
                                     "status": o.status, "sides": sorted(o.sides),
                                     "citations": len(o.ranking),
                                     **{m: o.scores.get(m) for m in RANKING},
                                     "latency_ms": round(o.seconds * 1000, 2)}
                                    for o in outcomes]
        if log:
            log(f"{config}: {len(outcomes)} questions in {sum(o.seconds for o in outcomes):.1f} s")
    results["attribution"] = attribution(index, attribution_rows) if attribution_rows else None
    if index.generation != generation and log:  # a build published mid-run (ask refreshes)
        log(f"Warning: the index changed from {generation} to {index.generation} during the run")
    results["meta"] = {"questions": len(questions), "k": K, "configs": list(configs),
                       "index": str(index.index_dir), "generation": index.generation,
                       "model": index.manifest.model.name,
                       "passages": index.manifest.counts.passages,
                       "seconds": round(time.perf_counter() - started, 2), **machine()}
    return results

def _attribution_line(att: dict[str, Any]) -> str:
    return (f"Attribution ({att['n']} gold statements): speaker accuracy "
            f"{fmt(att['speaker_accuracy'])} ({att['n_with_speaker']} with a catalog speaker), "
            f"perspective accuracy {fmt(att['perspective_accuracy'])}, "
            f"{len(att['failures'])} failures.")

def _coverage_line(cov: dict[str, Any]) -> str:
    return (f"Gold quotes overlapped by a searchable passage: {fmt(cov['covered'])} of "
            f"{cov['quotes']}" + "".join(f"; not covered: {u['id']} {u['doc']} "
                                         f"“{u['quote'][:60]}”" for u in cov["uncovered"]))

def print_results(results: dict[str, Any], saved: Path | str = "latest.json") -> None:
    print(table(results["configs"], METRICS))
    print("\nFull system by question type:")
    print(table(results["by_type"]["full"], METRICS))
    if results.get("attribution"):
        print("\n" + _attribution_line(results["attribution"]))
    print(_coverage_line(results["coverage"]))
    counts: dict[str, int] = {}
    for f in results["failures"]:
        if f["config"] == "full":
            counts[f["reason"]] = counts.get(f["reason"], 0) + 1
    print("Full-system failures: " + (", ".join(f"{n} {r}" for r, n in sorted(counts.items()))
                                      or "none") + f" (details in {saved})")
    print(f"Evaluated in {results['meta']['seconds']:.1f} s")

CV_METRICS = ("hit@5", "R@5", "R@10", "nDCG@10", "side_recall", "contested_precision",
              "contested_recall", "contested_f1", "abstention_rate", "abstention_on_topic",
              "abstention_off_topic", "false_abstention_rate", "highlight_accuracy")


def cross_validation_columns(seed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    cv = seed["cross_validation"]
    return {"held out: eval set, shipped models": seed["configs"]["full"],
            f"{cv['folds']}-fold CV, train+eval": cv["all"],
            "CV, eval questions only": cv["eval_questions"],
            "0.1 rules on the eval set (tuned on it)": seed["configs"].get("rules (0.1)", {}),
            "0.1 rules on the training set (unseen)": cv["rules_on_training_questions"]}


def print_cross_validation(seed: dict[str, Any]) -> None:
    print("\nHeld out vs cross-validated (full system):")
    print(table(cross_validation_columns(seed), CV_METRICS))


def report_section(seed: dict[str, Any]) -> list[str]:
    m, att = seed["meta"], seed.get("attribution")
    out = ["## Seed corpus (`eval/questions.jsonl`)", "",
           f"{m['questions']} questions, index of {m['passages']} passages, model {m['model']}, "
           f"k = {m['k']}; evaluated in {m['seconds']:.1f} s. Ranking metrics are over "
           "answerable questions (each gold quote is one relevant item, found by any citation "
           "that overlaps it; recall counts every quote a citation overlaps, MRR and nDCG "
           "count each citation once); side recall is over contested questions; the contested "
           "flag, abstention and false abstention apply to the full system only.", "",
           table(seed["configs"], METRICS, markdown=True), "",
           "\"rules (0.1)\" is the previous release's hand-written decisions; \"+ learned "
           "rank\" orders citations with the trained ranker, \"+ learned no-answer\" also "
           "abstains with the trained model, \"+ learned contested\" also decides contested "
           "with it, and \"full\" also picks each citation's highlighted sentence with it "
           "(src/askcorpus/models/README.md). Highlight accuracy: of the cited passages that "
           "hold a gold quote in some sentences and not in others, the share whose highlight "
           "is on it. Abstention on topic / off topic: over the unanswerable questions about "
           "the corpus's subject that ask a fact it lacks, and over those about something it "
           "never discusses (`off_topic` in the question file). The models never saw these "
           "questions.", ""]
    if seed.get("cross_validation"):
        cv = seed["cross_validation"]
        out += ["### Held out and cross-validated", "",
                f"Cross-validation: the {cv['questions']} training and evaluation questions in "
                f"{cv['folds']} folds, each answered by models trained from scratch without it "
                "(plus the off-topic and Perspectrum training claims, never scored). The 0.1 "
                "rules were tuned on the evaluation set; their figures on the training "
                "questions are what they do on questions they were not tuned on.", "",
                table(cross_validation_columns(seed), CV_METRICS, markdown=True), ""]
    out += ["### Full system by question type", "",
           table(seed["by_type"]["full"], METRICS, markdown=True), "",
           _coverage_line(seed["coverage"]), ""]
    if att:
        out += ["### Attribution (`tests/data/attribution_gold.jsonl`)", "",
                _attribution_line(att), "",
                "| doc | quote | gold speaker / perspective | passage speaker / perspective |",
                "|---|---|---|---|"]
        out += [f"| {f['doc']} | {f['quote'][:60]} | {f['gold_speaker']} / "
                f"{f['gold_perspective']} | {f['speaker']} / {f['perspective']} |"
                for f in att["failures"]] + [""]
    out += ["### Full-system failures", "", "| id | type | reason | detail |", "|---|---|---|---|"]
    out += [f"| {f['id']} | {f['type']} | {f['reason']} | {f['detail'][:150].replace('|', '/')} |"
            for f in seed["failures"] if f["config"] == "full"]
    return [*out, ""]
