import pytest

from feedback.models import Conversation


@pytest.fixture
def app(api_as, annotator, tiny_endpoint):
    return api_as(annotator)


def ask(app, **fields):
    body = {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}], **fields}
    return app.post("/v1/chat/completions", body, format="json")


def test_a_request_over_the_size_limit_is_refused_with_413_naming_the_limit(app, settings):
    settings.FEEDBACK_MAX_REQUEST_BYTES = 500
    response = ask(app, messages=[{"role": "user", "content": "x" * 1000}])
    assert response.status_code == 413
    assert "FEEDBACK_MAX_REQUEST_BYTES allows 500" in response.json()["error"]["message"]


def test_too_many_messages_are_refused_with_400_naming_the_limit(app, settings):
    settings.FEEDBACK_MAX_MESSAGES = 3
    response = ask(app, messages=[{"role": "user", "content": "Hi"}] * 4)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages"
    assert "FEEDBACK_MAX_MESSAGES allows 3" in response.json()["error"]["message"]


def test_tokens_per_minute_are_limited_per_key_with_retry_after(app, api_as, outsider, settings):
    settings.FEEDBACK_TOKENS_PER_MINUTE = 10
    assert ask(app, max_tokens=8).status_code == 200  # the prompt alone is more than 10 tokens
    limited = ask(app)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert 0 < int(limited["Retry-After"]) <= 60
    assert ask(api_as(outsider)).status_code == 200  # another key has its own budget


def test_the_native_api_shares_the_limits(app, settings):
    settings.FEEDBACK_REQUESTS_PER_MINUTE = 1
    assert app.get("/api/v1/conversations").status_code == 200
    limited = app.get("/api/v1/conversations")
    assert limited.status_code == 429 and "Retry-After" in limited


def test_a_last_message_that_is_not_the_users_is_refused(app):
    response = ask(app, messages=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])
    assert response.status_code == 400 and "last message must be the user's" in response.json()["error"]["message"]
    assert not Conversation.objects.exists()


def test_streaming_more_than_one_choice_is_refused(app):
    response = ask(app, stream=True, n=2)
    assert response.status_code == 400 and response.json()["error"]["param"] == "n"
