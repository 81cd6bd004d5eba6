import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign
from annotate.protocols import GOLD_THRESHOLD
from annotate.report.metrics.data import PEOPLE
from annotate.report.metrics.report import RATINGS_EACH, RATINGS_MEAN, campaign_report, file_report
from annotate.report.metrics.text import report_text
from annotate.services.exchange import judgments_read


class Command(BaseCommand):
    help = ("Print a campaign's report: agreement, rating-vs-ranking consistency, position bias, gold, leaderboard; "
            "or, with --from, the report of an exchange file, which is read and kept nowhere.")

    def add_arguments(self, parser):
        parser.add_argument("campaign", nargs="?", help="campaign name (or id)")
        parser.add_argument("--from", dest="source", type=Path,
                            help="an exchange-format JSONL file to report on instead of a campaign")
        parser.add_argument("--format", dest="output_format", choices=["json", "text"], default="text")
        parser.add_argument("--ratings", choices=[RATINGS_MEAN, RATINGS_EACH], default=RATINGS_MEAN,
                            help="compare with ratings averaged over annotators, or with each annotator's")
        parser.add_argument("--gold-threshold", type=float, default=GOLD_THRESHOLD)
        parser.add_argument("--style-control", action="store_true",
                            help="add a Bradley-Terry leaderboard controlled for length and markdown")
        parser.add_argument("--properties", action="store_true",
                            help="add the property profile: which response properties win, for people and AI judges")
        parser.add_argument("--annotators", default=PEOPLE,
                            help='whose judgments: "people" (AI judges left out; the default) or one AI judge '
                                 "(ai:...); the human_vs_ai section always sets them side by side")

    def handle(self, *args, campaign, source, output_format, **options):
        if (campaign is None) == (source is None):
            raise CommandError("Name a campaign or give --from FILE, not both.")
        settings = {name: options[name]
                    for name in ("ratings", "gold_threshold", "style_control", "properties", "annotators")}
        if source is None:
            report = campaign_report(campaign=self._campaign(campaign), **settings)
        else:
            try:
                with source.open(encoding="utf-8-sig", newline="\n") as lines:  # read as the report goes
                    report = file_report(judgments=judgments_read(lines=lines), name=source.name, **settings)
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"Cannot read {source}: {error}") from None
            except ValidationError as error:
                raise CommandError(f"{source} is not a valid exchange file:\n" + "\n".join(error.messages)) from None
        self.stdout.write(json.dumps(report, indent=2) if output_format == "json" else report_text(report))

    def _campaign(self, name: str) -> Campaign:
        found = Campaign.objects.filter(name=name).first()
        if found is None and name.isdigit():
            found = Campaign.objects.filter(pk=int(name)).first()
        if found is None:
            raise CommandError(f"No campaign named {name!r}.")
        return found
