"""Evaluation: the seed question set, the Perspectrum benchmark, their metrics and report.

    metrics      pure scoring functions (recall, MRR, nDCG, both-sides, flag P/R/F1)
    tables       figures as text or Markdown tables
    seeds        eval/questions.jsonl through every configuration of one index
    perspectrum  the Perspectrum claim -> perspective benchmark
    report       `askcorpus eval` and eval/REPORT.md

It imports the library (``askcorpus.api``), never the command line.
"""
