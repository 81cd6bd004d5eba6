"""Agreement of predicted signals with labels: the figures the bench prints and the saved model carries.

Kappa is computed separately for SAT and DSAT, as WildFeedback reports it (0.69 and 0.50 against humans).
"""

from __future__ import annotations

from feedback.signals.rubric import CATEGORIES, Signal


def prf(predicted: list[bool], gold: list[bool]) -> dict[str, float]:
    """Precision, recall and F1 of the positive class; 0 where undefined, with the counts to judge them by."""
    tp = sum(p and g for p, g in zip(predicted, gold, strict=True))
    fp = sum(p and not g for p, g in zip(predicted, gold, strict=True))
    fn = sum(g and not p for p, g in zip(predicted, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def kappa(predicted: list[bool], gold: list[bool]) -> float:
    """Cohen's kappa of two binary labelings: agreement beyond what their base rates give by chance."""
    n = len(gold)
    observed = sum(p == g for p, g in zip(predicted, gold, strict=True)) / n
    p_yes, g_yes = sum(predicted) / n, sum(gold) / n
    expected = p_yes * g_yes + (1 - p_yes) * (1 - g_yes)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def evaluate(signals: list[Signal], rows: list[dict]) -> dict:
    """SAT and DSAT precision/recall/F1/kappa, and per-category recall (of turns labelled with it, share found)."""
    figures: dict = {"turns": len(rows)}
    for flag in ("sat", "dsat"):
        predicted = [getattr(s, flag) for s in signals]
        gold = [bool(r[flag]) for r in rows]
        figures[flag] = prf(predicted, gold) | {"kappa": kappa(predicted, gold)}
    figures["category_recall"] = {}
    for category in CATEGORIES:
        hits = [category in s.categories for s, r in zip(signals, rows, strict=True) if category in r["categories"]]
        figures["category_recall"][category] = {"recall": sum(hits) / len(hits) if hits else 0.0, "n": len(hits)}
    return figures
