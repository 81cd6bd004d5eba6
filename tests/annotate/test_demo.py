from django.http import HttpRequest  # axes checks every sign-in against its request

from accounts.models import User
from annotate.models import Campaign, Prompt
from annotate.services.demo import demo_load


def test_the_demo_loads_twice_without_duplicates_and_keeps_its_passwords(tmp_path, client, db):
    credentials_file = tmp_path / "creds.json"
    first = demo_load(credentials_file=credentials_file)
    second = demo_load(credentials_file=credentials_file)
    assert first == second
    assert Campaign.objects.count() == 1 and Prompt.objects.count() == 5
    assert User.objects.filter(username__startswith="demo-").count() == 4
    assert client.login(request=HttpRequest(), username="demo-annotator-1", password=second["demo-annotator-1"])
    assert "Demo: helpful answers" in client.get("/").content.decode()


def test_a_lost_credentials_file_gives_new_working_passwords(tmp_path, client, db):
    demo_load(credentials_file=tmp_path / "a.json")
    fresh = demo_load(credentials_file=tmp_path / "b.json")
    assert client.login(request=HttpRequest(), username="demo-manager", password=fresh["demo-manager"])
