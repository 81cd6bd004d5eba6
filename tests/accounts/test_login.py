from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from tests.conftest import PASSWORD


def test_the_home_page_sends_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_an_annotator_signs_in_and_sees_their_campaign(client, annotator, campaign, other_campaign):
    response = client.post("/accounts/login/", {"username": "anna", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Helpfulness" in body
    assert "Harmlessness" not in body  # another campaign's name never leaks into the list


def test_a_wrong_password_is_refused_with_a_clear_message(client, annotator):
    response = client.post("/accounts/login/", {"username": "anna", "password": "nope"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signing_out_needs_a_post_and_ends_the_session(client, annotator):
    client.force_login(annotator)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_requires_a_csrf_token(annotator):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/accounts/login/", {"username": "anna", "password": PASSWORD})
    assert response.status_code == 403


def test_there_is_no_self_sign_up(client, db):
    assert client.get("/accounts/signup/").status_code == 404


def test_five_wrong_passwords_lock_the_sign_in_even_with_the_right_one(client, annotator):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "anna", "password": "guess"})
    locked = client.post("/accounts/login/", {"username": "anna", "password": PASSWORD})
    assert locked.status_code == 429 and "_auth_user_id" not in client.session


def test_the_admin_sign_in_locks_the_same_way(client, admin_user):
    for _ in range(5):
        client.post("/admin/login/", {"username": "ada", "password": "guess"})
    locked = client.post("/admin/login/", {"username": "ada", "password": PASSWORD})
    assert locked.status_code == 429 and "_auth_user_id" not in client.session


def test_another_user_is_not_locked_out_by_someone_elses_failures(client, annotator, other_annotator):
    for _ in range(5):
        client.post("/accounts/login/", {"username": "anna", "password": "guess"})
    response = client.post("/accounts/login/", {"username": "otto", "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_fifty_concurrent_guesses_locks_and_stays_locked(annotator):
    from django.test import Client

    def guess(_):
        try:
            return Client().post("/accounts/login/", {"username": "anna", "password": "guess"}).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(guess, range(50)))
    assert statuses.count(429) >= 40  # a few answered before the count reached the limit
    assert Client().post("/accounts/login/", {"username": "anna", "password": PASSWORD}).status_code == 429
