"""A request that finds the session gone: htmx gets a marked 401/403 for the page's sign-in dialog, a plain request
the login page or a styled CSRF page (never Django's yellow one)."""

import pytest
from django.test import Client

from tests.annotate.test_views import live_campaign

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_an_htmx_request_without_a_session_gets_a_401_the_dialog_answers(client, manager, annotator):
    campaign = live_campaign(manager, [annotator])
    response = client.get(f"/annotate/campaigns/{campaign.pk}/", **HTMX)
    assert response.status_code == 401 and response["X-Concord-Signin"] == "1"
    plain = client.get(f"/annotate/campaigns/{campaign.pk}/")
    assert plain.status_code == 302 and plain["Location"].startswith("/accounts/login/")
    assert "X-Concord-Signin" not in plain


def test_a_refused_csrf_token_is_a_styled_page_or_for_htmx_the_dialog(manager, annotator):
    campaign = live_campaign(manager, [annotator])
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    url = f"/annotate/campaigns/{campaign.pk}/assignments/1/submit/"
    page = client.post(url)
    assert page.status_code == 403 and "This form has expired" in page.content.decode()
    assert "CSRF verification failed" not in page.content.decode()
    htmx = client.post(url, **HTMX)
    assert htmx.status_code == 403 and htmx["X-Concord-Signin"] == "1"


def test_every_forms_field_errors_are_tied_to_their_field_and_a_form_wide_error_is_an_alert():
    from annotate.forms import CampaignCreateForm

    form = CampaignCreateForm({"name": "", "overlap": "0"})
    form.is_valid()
    form.add_error(None, "Something about the whole form.")
    html = form.as_div()
    assert '<ul class="errorlist nonfield" role="alert">' in html
    assert '<ul class="errorlist" id="id_name_error">' in html
    assert 'aria-invalid="true" aria-describedby="id_name_error"' in html
