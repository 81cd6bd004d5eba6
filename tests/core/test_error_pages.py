"""Errors look like the rest of the app (with a way back), never like Django's debug or bare pages."""

from django.test import RequestFactory
from django.views.defaults import server_error


def test_a_missing_page_is_a_styled_404_with_a_way_home(client, annotator):
    client.force_login(annotator)
    response = client.get("/annotate/campaigns/999999/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Not found" in page and 'class="topbar"' in page and 'href="/"' in page
    assert "URLconf" not in page  # not the debug page


def test_a_page_an_annotator_may_not_open_is_a_styled_403(client, annotator):
    client.force_login(annotator)
    response = client.get("/annotate/manage/")
    assert response.status_code == 403 and "Not allowed" in response.content.decode()


def test_a_server_error_page_renders_without_a_request_context():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500 and "Something went wrong" in response.content.decode()
