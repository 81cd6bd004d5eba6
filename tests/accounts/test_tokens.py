from accounts.models import ApiToken
from accounts.services.tokens import token_create, token_hash, token_revoke


def test_a_token_authenticates_api_requests(api_client, annotator):
    _, key = token_create(user=annotator, name="script")
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    assert response.json() == {"id": annotator.id, "username": "anna", "role": "annotator"}


def test_a_revoked_token_is_refused(api_client, annotator):
    token, key = token_create(user=annotator, name="script")
    token_revoke(token=token)
    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid, revoked or expired token."
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_or_malformed_token_is_refused(api_client, db):
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION="Token ccd_made-up").status_code == 401
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION="Token a b").status_code == 401
    assert api_client.get("/api/v1/me").status_code == 401


def test_a_deactivated_users_token_stops_working(api_client, annotator):
    _, key = token_create(user=annotator, name="script")
    annotator.is_active = False
    annotator.save()
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_only_the_hash_of_a_key_is_stored(annotator):
    token, key = token_create(user=annotator, name="script")
    row = ApiToken.objects.get(pk=token.pk)
    assert row.key_hash == token_hash(key)
    assert key not in {row.key_hash, row.prefix, row.name}
    assert key.startswith(row.prefix)


def test_an_annotator_creates_a_token_on_the_page_and_sees_it_once(client, annotator):
    client.force_login(annotator)
    response = client.post("/accounts/tokens/", {"name": "laptop"})
    key = response.context["new_key"]
    assert key in response.content.decode()
    assert key not in client.get("/accounts/tokens/").content.decode()


def test_someone_elses_token_cannot_be_revoked(client, annotator, outsider):
    token, key = token_create(user=annotator, name="script")
    client.force_login(outsider)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.is_active


def test_the_owner_revokes_a_token_from_the_page(client, api_client, annotator):
    token, key = token_create(user=annotator, name="script")
    client.force_login(annotator)
    client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_the_openapi_schema_documents_token_auth(client, db):
    schema = client.get("/api/schema/").content.decode()
    assert "tokenAuth" in schema and "/api/v1/me" in schema


def test_an_expired_token_is_refused_and_the_page_says_expired(client, api_client, annotator):
    from datetime import timedelta

    from django.utils import timezone

    token, key = token_create(user=annotator, name="ci", expires_in_days=7)
    assert api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401 and response.json()["detail"] == "Invalid, revoked or expired token."
    client.force_login(annotator)
    assert "expired</span>" in client.get("/accounts/tokens/").content.decode()


def test_a_token_made_on_the_page_expires_when_asked(client, annotator):
    client.force_login(annotator)
    client.post("/accounts/tokens/", {"name": "ci", "expires_in_days": "30"})
    client.post("/accounts/tokens/", {"name": "forever", "expires_in_days": ""})
    tokens = {token.name: token for token in ApiToken.objects.filter(user=annotator)}
    assert abs((tokens["ci"].expires_at - tokens["ci"].created_at).total_seconds() - 30 * 86400) < 60
    assert tokens["forever"].expires_at is None and tokens["forever"].is_active


def test_an_expiry_out_of_range_is_refused(annotator):
    import pytest
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="1 to 3650 days"):
        token_create(user=annotator, name="x", expires_in_days=0)
