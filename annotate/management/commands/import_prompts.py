from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign
from annotate.services.campaigns import campaign_items_build
from annotate.services.imports import prompts_import

BAR = 30  # characters of the items build's progress bar


class Command(BaseCommand):
    help = "Add prompts (and their responses) from a JSONL or CSV file to a campaign; safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help=".jsonl or .csv (see annotate/services/imports.py)")
        parser.add_argument("--campaign", required=True, help="campaign name")
        parser.add_argument("--build-items", action="store_true", help="then turn the responses into items")

    def handle(self, *args, file, campaign, build_items, **options):
        found = Campaign.objects.filter(name=campaign).first()
        if found is None:
            raise CommandError(f"No campaign named {campaign!r}.")
        try:
            with file.open("rb") as opened:
                created = prompts_import(campaign=found, file=opened, filename=file.name)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error}") from None
        except ValidationError as error:
            raise CommandError(f"{file} was not imported:\n" + "\n".join(error.messages)) from None
        self.stdout.write(f"{created} new prompts; the campaign has {found.prompts.count()}.")
        if build_items:
            def progress(done: int, total: int) -> None:
                filled = BAR * done // total
                self.stdout.write(f"\r[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} prompts", ending="")
                self.stdout.flush()

            created = campaign_items_build(campaign=found, on_progress=progress)
            self.stdout.write(f"\n{created} new items.")
