import time
from datetime import datetime
from datetime import time as day_start

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date

from accounts.models import User
from feedback.services.mining import SOURCES, mining_run_create
from modelhost.models import ModelEndpoint


class Command(BaseCommand):
    help = ("Mine conversations for feedback signals and preference pairs: stage 1 on a default-queue worker, the "
            "judge, regenerations and checklist votes on a gpu worker, kept pairs into the verification campaign.")

    def add_arguments(self, parser):
        parser.add_argument("--since", help="only conversations started on or after this date (YYYY-MM-DD)")
        parser.add_argument("--source", choices=SOURCES, default="all")
        parser.add_argument("--endpoint", help="the model endpoint that judges and regenerates (default: the default)")
        parser.add_argument("--user", help="the manager who mines and owns the campaign (default: the first admin)")
        parser.add_argument("--wait", action="store_true", help="follow the run until the workers have finished it")

    def handle(self, *args, since: str | None, source: str, endpoint: str | None, user: str | None, wait: bool,
               **options):
        day = parse_date(since) if since else None
        if since and day is None:
            raise CommandError(f"--since {since!r} is not a date (YYYY-MM-DD).")
        users = User.objects.filter(username=user) if user else User.objects.filter(is_superuser=True)
        by = users.order_by("pk").first()
        if by is None:
            raise CommandError(f"No user {user}." if user else "No admin user: name one with --user.")
        judge = None
        if endpoint:
            judge = ModelEndpoint.objects.filter(name=endpoint).first()
            if judge is None:
                raise CommandError(f"No model endpoint named {endpoint!r}.")
        try:
            run = mining_run_create(by=by, source=source, endpoint=judge, since=timezone.make_aware(
                datetime.combine(day, day_start.min)) if day else None)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"Mining run #{run.pk} queued (labels version {run.version}).")
        if not wait:
            return
        while run.is_active:
            time.sleep(0.5)
            run.refresh_from_db()
            self.stdout.write(f"\r{run.get_stage_display()}: {run.done}/{run.total}   ", ending="")
            self.stdout.flush()
        self.stdout.write("")
        if run.status != run.Status.DONE:
            raise CommandError(f"Mining run #{run.pk} ended {run.status}: {run.error}")
        self.stdout.write(f"{run.signals_created} signal(s) stored, {run.pairs_kept} pair(s) kept for verification"
                          f", {run.pairs_dropped} dropped with a reason"
                          + (f"; campaign: {run.campaign.name}" if run.campaign else "."))
