import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from feedback.selectors import signal_list, signal_versions
from feedback.services.mining import conversation_key
from feedback.signals.rubric import Signal, signal_line


class Command(BaseCommand):
    help = ("Write one JSON line per mined user turn: conversation (an imported log's own id), turn (the user "
            "message's index in the conversation), sat, dsat, categories, confidence, method.")

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--labels", dest="version",
                            help="the classifier version to write (default: the newest labelled)")

    def handle(self, *args, out: Path, version: str | None, **options):
        versions = signal_versions()
        version = version or (versions[0] if versions else None)
        if version is None or version not in versions:
            raise CommandError("No signals to export: run mine_feedback first." if not versions else
                               f"No signals of version {version!r}; there are: {', '.join(versions)}.")
        lines = 0
        with out.open("w", encoding="utf-8") as file:
            for row in signal_list(version=version).iterator(chunk_size=2000):
                signal = Signal(row.sat, row.dsat, row.categories, row.confidence, row.method)
                file.write(json.dumps(signal_line(conversation_key(row.conversation), row.turn, signal),
                                      ensure_ascii=False) + "\n")
                lines += 1
        self.stdout.write(f"{lines} turn(s) of version {version} written to {out}.")
