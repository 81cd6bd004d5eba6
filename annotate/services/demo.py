import json
from pathlib import Path

from django.db import transaction

from accounts.models import User
from accounts.services.users import random_password, user_create
from annotate.models import Campaign, Candidate, Prompt
from annotate.services.campaigns import campaign_items_build

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
# Hand-written candidates, so the demo can be judged at once; generate more with the model host. They are
# credited to two made-up "models" so the report's leaderboard has something to rank.
DEMO_MODELS = ["demo-careful", "demo-hasty"]
DEMO_PROMPTS = [
    ("capital", "What is the capital of France, and why did it become the capital?", [
        "Paris. It grew into the capital because the Capetian kings ruled from it from the 10th century, and its "
        "position on the Seine made it a centre of trade and government.",
        "The capital of France is Lyon.",
    ]),
    ("email", "Write a short, polite email asking my landlord to fix a leaking tap.", [
        "Subject: Leaking kitchen tap\n\nDear Ms Martin,\n\nThe kitchen tap in flat 4 has been leaking since "
        "Monday. Could you arrange a repair this week? I am home after 5 pm.\n\nKind regards,\nSam",
        "Fix the tap now. It leaks.",
    ]),
    ("python", "How do I reverse a list in Python? Show two ways.", [
        "1. In place: `items.reverse()`\n2. As a new list: `reversed_items = items[::-1]`",
        "```python\nitems = [1, 2, 3]\nprint(list(reversed(items)))  # [3, 2, 1]\n```\n`reversed()` returns an "
        "iterator; `sorted()` does not reverse.",
    ]),
    ("sleep", "Give me three practical tips to fall asleep faster.", [
        "- Keep the same wake-up time every day.\n- No screens for 30 minutes before bed.\n- Keep the room cool "
        "and dark.",
        "Sleep is important for health. Many people have trouble sleeping.",
    ]),
    ("explain", "Explain photosynthesis to a ten-year-old in a few sentences.", [
        "Plants make their own food. Their leaves catch sunlight and use it to turn water and air (carbon "
        "dioxide) into sugar, and they breathe out the oxygen we need.",
        "Photosynthesis is the process by which chlorophyll-containing organisms convert electromagnetic "
        "radiation into chemical energy via the Calvin cycle.",
    ]),
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
        defaults={"guidelines": DEMO_GUIDELINES, "status": Campaign.Status.LIVE, "created_by": manager,
                  "design": "pairwise", "overlap": 2, "ask_rationale": True},
    )
    campaign.managers.add(manager)
    campaign.members.add(*User.objects.filter(username__startswith="demo-annotator-"))
    for external_id, text, responses in DEMO_PROMPTS:
        prompt, _ = Prompt.objects.get_or_create(
            campaign=campaign, external_id=external_id, defaults={"messages": [{"role": "user", "content": text}]}
        )
        for index, response in enumerate(responses):
            Candidate.objects.get_or_create(prompt=prompt, external_id=f"{external_id}-{index + 1}",
                                            defaults={"text": response, "model": DEMO_MODELS[index]})
    campaign_items_build(campaign=campaign)
    return credentials
