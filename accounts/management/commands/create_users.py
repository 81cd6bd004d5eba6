import json

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services.tokens import token_create
from accounts.services.users import random_password, user_create


class Command(BaseCommand):
    help = "Create users in bulk (for tests and load runs); prints one JSON line per user with its password and token."

    def add_arguments(self, parser):
        parser.add_argument("--prefix", default="annotator", help="usernames are PREFIX-1, PREFIX-2, ...")
        parser.add_argument("--count", type=int, default=10)
        parser.add_argument("--role", choices=User.Role.values, default=User.Role.ANNOTATOR)
        parser.add_argument("--token", action="store_true", help="also create an API token per user")

    def handle(self, *args, prefix, count, role, token, **options):
        if count < 1:
            raise CommandError("--count must be at least 1.")
        for index in range(1, count + 1):
            username = f"{prefix}-{index}"
            password = random_password()
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(username=username, role=role, password=password)
            else:  # running again hands out fresh credentials instead of failing
                user.set_password(password)
                user.save(update_fields=["password"])
            row = {"username": username, "password": password, "role": user.role}
            if token:
                row["token"] = token_create(user=user, name="bulk")[1]
            self.stdout.write(json.dumps(row))
