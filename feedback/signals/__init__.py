"""Feedback signals: does a user turn show satisfaction or dissatisfaction with the assistant reply before it?

Pure Python on plain data (lists of {"role", "content"} messages), so the Django side can store what it returns and
tests and the bench can run it without a database. `rubric` names the categories, `cues` holds the hand-written
features, `stage1` the embedding classifier that sees every turn, `stage2` the model-host judge for its candidates.
"""
