import json
from pathlib import Path

from django.db import transaction

from accounts.models import User
from accounts.services.users import random_password, user_create
from annotate.models import Campaign, Prompt

DEMO_USERS = [
    ("demo-admin", User.Role.ADMIN),
    ("demo-manager", User.Role.MANAGER),
    ("demo-annotator-1", User.Role.ANNOTATOR),
    ("demo-annotator-2", User.Role.ANNOTATOR),
]
DEMO_CAMPAIGN = "Demo: helpful answers"
DEMO_GUIDELINES = """Pick the response that helps the user more.

* **Correct** beats fluent: check facts and code.
* Prefer the response that answers the question asked, at the length it needs.
* Use *tie* only when neither is better.
"""
DEMO_PROMPTS = [
    ("capital", "What is the capital of France, and why did it become the capital?"),
    ("email", "Write a short, polite email asking my landlord to fix a leaking tap."),
    ("python", "How do I reverse a list in Python? Show two ways."),
    ("sleep", "Give me three practical tips to fall asleep faster."),
    ("explain", "Explain photosynthesis to a ten-year-old in a few sentences."),
]


@transaction.atomic
def demo_load(*, credentials_file: Path) -> dict[str, str]:
    """Create the demo users, campaign and prompts, or leave them as they are. Returns username -> password.

    Passwords are random, kept in `credentials_file` (outside git) so a second run prints the same ones.
    """
    saved = json.loads(credentials_file.read_text()) if credentials_file.exists() else {}
    credentials = {}
    for username, role in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        password = saved.get(username)
        if user is None:
            password = password or random_password()
            user = user_create(username=username, role=role, password=password)
        elif password is None or not user.check_password(password):
            password = random_password()
            user.set_password(password)
            user.save(update_fields=["password"])
        credentials[username] = password
    credentials_file.write_text(json.dumps(credentials, indent=2))
    credentials_file.chmod(0o600)

    manager = User.objects.get(username="demo-manager")
    campaign, _ = Campaign.objects.get_or_create(
        name=DEMO_CAMPAIGN,
        defaults={"guidelines": DEMO_GUIDELINES, "status": Campaign.Status.LIVE, "created_by": manager},
    )
    campaign.managers.add(manager)
    campaign.members.add(*User.objects.filter(username__startswith="demo-annotator-"))
    for external_id, text in DEMO_PROMPTS:
        Prompt.objects.get_or_create(
            campaign=campaign, external_id=external_id, defaults={"messages": [{"role": "user", "content": text}]}
        )
    return credentials
