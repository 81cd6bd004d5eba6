import json
from io import StringIO

from django.core.management import call_command
from django.http import HttpRequest  # axes checks every sign-in against its request

from accounts.models import User


def run(*args) -> list[dict]:
    out = StringIO()
    call_command("create_users", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_it_creates_users_with_working_passwords_and_tokens(client, api_client, db):
    rows = run("--prefix", "load", "--count", "3", "--token")
    assert [row["username"] for row in rows] == ["load-1", "load-2", "load-3"]
    assert client.login(request=HttpRequest(), username="load-2", password=rows[1]["password"])
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {rows[2]['token']}").json()["username"] == "load-3"


def test_running_it_again_hands_out_fresh_credentials_without_duplicates(client, db):
    run("--prefix", "load", "--count", "2")
    rows = run("--prefix", "load", "--count", "2")
    assert User.objects.filter(username__startswith="load-").count() == 2
    assert client.login(request=HttpRequest(), username="load-1", password=rows[0]["password"])
