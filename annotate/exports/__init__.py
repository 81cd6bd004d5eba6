"""Preference datasets from judgments, as TRL and `datasets` load them.

spec (what to export, checked in full) -> snapshot (judgments up to an id, read in chunks) -> aggregation
(scores, verdicts, pairs, agreement) -> formats (row layouts) -> writers (JSONL, gzip, Parquet, HF directory)
-> card (README.md). `pipeline.dataset_write` runs them; `annotate.services.export_runs` runs that as a job.
"""
