from django.core.management.base import BaseCommand

from feedback.services.conversations import conversations_expire


class Command(BaseCommand):
    help = "Delete conversations past their retention date, with their messages and feedback (run it daily)."

    def handle(self, *args, **options):
        self.stdout.write(f"{conversations_expire()} conversation(s) deleted.")
