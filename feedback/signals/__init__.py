"""Feedback signals: does a user turn show satisfaction or dissatisfaction with the assistant reply before it?

Pure Python on plain data (lists of {"role", "content"} messages), so the Django side can store what it returns and
tests and the bench can run it without a database. `rubric` names the categories, `cues` holds the hand-written
features, `stage1` the embedding classifier that sees every turn, `stage2` the model-host judge for its candidates.
"""

import json
from pathlib import Path

import numpy as np

MODEL_FILE = Path(__file__).with_name("data") / "stage1.npz"


def stage1_meta(path: Path = MODEL_FILE) -> dict:
    """The saved stage-1 model's metadata (version, thresholds, heads, cues, figures), read without importing torch
    or loading the embedder: a web request that only needs the version pays for none of that."""
    with np.load(path) as data:
        return json.loads(str(data["meta"]))
