import json

from django.core.management.base import BaseCommand, CommandError

from annotate.models import Campaign
from annotate.protocols import GOLD_THRESHOLD
from annotate.report.metrics.report import RATINGS_EACH, RATINGS_MEAN, campaign_report
from annotate.report.metrics.text import report_text


class Command(BaseCommand):
    help = "Print a campaign's report: agreement, rating-vs-ranking consistency, position bias, gold, leaderboard."

    def add_arguments(self, parser):
        parser.add_argument("campaign", help="campaign name (or id)")
        parser.add_argument("--format", dest="output_format", choices=["json", "text"], default="text")
        parser.add_argument("--ratings", choices=[RATINGS_MEAN, RATINGS_EACH], default=RATINGS_MEAN,
                            help="compare with ratings averaged over annotators, or with each annotator's")
        parser.add_argument("--gold-threshold", type=float, default=GOLD_THRESHOLD)
        parser.add_argument("--style-control", action="store_true",
                            help="add a Bradley-Terry leaderboard controlled for length and markdown")

    def handle(self, *args, campaign, output_format, ratings, gold_threshold, style_control, **options):
        found = Campaign.objects.filter(name=campaign).first()
        if found is None and campaign.isdigit():
            found = Campaign.objects.filter(pk=int(campaign)).first()
        if found is None:
            raise CommandError(f"No campaign named {campaign!r}.")
        report = campaign_report(campaign=found, ratings=ratings, gold_threshold=gold_threshold,
                                 style_control=style_control)
        self.stdout.write(json.dumps(report, indent=2) if output_format == "json" else report_text(report))
