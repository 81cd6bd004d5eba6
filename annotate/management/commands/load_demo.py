from django.conf import settings
from django.core.management.base import BaseCommand

from annotate.services.demo import demo_load


class Command(BaseCommand):
    help = "Load the demo campaign and users (safe to run again); prints the demo passwords."

    def handle(self, *args, **options):
        credentials = demo_load(credentials_file=settings.DATA_DIR / "demo-credentials.json")
        self.stdout.write(self.style.SUCCESS(f"Demo loaded. Sign in at {settings.SITE_ADDRESS} with:"))
        for username, password in credentials.items():
            self.stdout.write(f"  {username:<18} {password}")
