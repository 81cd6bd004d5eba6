from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign
from annotate.moralgraph.models import Deliberation
from annotate.moralgraph.services.deliberations import deliberation_create
from annotate.moralgraph.services.imports import moral_votes_import


class Command(BaseCommand):
    help = "Import published moral-graph values and raw votes (JSONL) into a deliberation: all of it or nothing."

    def add_arguments(self, parser):
        parser.add_argument("--values", required=True, type=Path)
        parser.add_argument("--votes", required=True, type=Path)
        parser.add_argument("--deliberation", required=True, help="Its name.")
        parser.add_argument("--campaign", help="Create the deliberation in this campaign (by name) if it is new.")
        parser.add_argument("--question", default="", help="The question of a new deliberation.")

    def handle(self, *args, **options):
        deliberation = Deliberation.objects.filter(name=options["deliberation"]).first()
        try:
            if deliberation is None:
                campaign = Campaign.objects.filter(name=options["campaign"] or "").first()
                if campaign is None:
                    raise CommandError(f"No deliberation {options['deliberation']!r}; name a --campaign to create it.")
                deliberation = deliberation_create(campaign=campaign, name=options["deliberation"],
                                                   question=options["question"] or options["deliberation"],
                                                   by=campaign.created_by)
            with options["values"].open() as values, options["votes"].open() as votes:
                result = moral_votes_import(deliberation=deliberation, values=values, votes=votes)
        except (OSError, ValidationError) as error:
            raise CommandError("\n".join(getattr(error, "messages", [str(error)]))) from None
        self.stdout.write(f"{result['values']} values and {result['votes']} votes imported, "
                          f"{result['skipped']} votes already there.")
