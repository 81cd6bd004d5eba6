import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign
from annotate.services.exchange import judgments_export_jsonl


class Command(BaseCommand):
    help = "Write a campaign's judgments in the exchange format (JSONL), to a file or to standard output."

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="campaign name")
        parser.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")

    def handle(self, *args, campaign, output, **options):
        found = Campaign.objects.filter(name=campaign).first()
        if found is None:
            raise CommandError(f"No campaign named {campaign!r}.")
        lines = judgments_export_jsonl(campaign=found)
        if output is None:
            sys.stdout.writelines(lines)
            return
        with output.open("w", encoding="utf-8", newline="\n") as target:
            target.writelines(lines)
        self.stderr.write(f"Wrote {output}.")
