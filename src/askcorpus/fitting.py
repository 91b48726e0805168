"""Fitting: standardised L2 logistic regressions by Newton's method (IRLS), in numpy.

The same optimum every run, no random seed: ``training.py`` fits every learned decision with
these, and ``learned.Logistic`` applies them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from askcorpus.learned import Logistic


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float, names: Sequence[str],
                 weights: np.ndarray | None = None, iterations: int = 50,
                 standardize: bool = True) -> Logistic:
    """L2-regularised logistic regression by Newton's method on standardised features
    (or on the features as they are).

    ``weights`` (one per row, default 1) count a row that many times in the likelihood.
    """
    x = np.asarray(x, dtype=np.float64)
    weights = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = x.mean(axis=0) if standardize else np.zeros(x.shape[1])
    scale = x.std(axis=0) if standardize else np.ones(x.shape[1])
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (weights * (p - y)) + penalty * w
        hessian = (z * (weights * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return Logistic(tuple(names), mean, scale, w[:-1], float(w[-1]))


def fit_monotone(x: np.ndarray, y: np.ndarray, *, l2: float, names: Sequence[str],
                 signs: Sequence[int]) -> Logistic:
    """A logistic regression whose every weight has the sign we know it must have.

    A feature whose fitted weight comes out the wrong way round (more exact-word support
    making an answer *less* likely, say) is learning how the training questions were written,
    not the task: it is dropped (weight 0) and the rest refitted, until every sign holds.
    """
    keep = list(range(len(names)))
    while True:
        model = fit_logistic(x[:, keep], y, l2=l2, names=[names[i] for i in keep])
        wrong = [i for i, w in zip(keep, model.coef, strict=True) if w * signs[i] < 0]
        if not wrong:
            break
        keep = [i for i in keep if i not in wrong]
    coef, mean, scale = np.zeros(len(names)), np.zeros(len(names)), np.ones(len(names))
    coef[keep], mean[keep], scale[keep] = model.coef, model.mean, model.scale
    return Logistic(tuple(names), mean, scale, coef, model.intercept)
