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
