from django.apps import apps
from django.contrib import admin

OUR_APPS = {"accounts", "core", "annotate", "modelhost"}


def test_every_model_of_ours_is_in_the_admin():
    models = [model for model in apps.get_models() if model._meta.app_label in OUR_APPS]
    assert [model.__name__ for model in models if model not in admin.site._registry] == []


def test_every_admin_list_page_opens_for_an_admin(client, admin_user):
    client.force_login(admin_user)
    for model in admin.site._registry:
        if model._meta.app_label in OUR_APPS:
            url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
            assert client.get(url).status_code == 200, url


def test_an_annotator_cannot_open_the_admin(client, annotator):
    client.force_login(annotator)
    assert client.get("/admin/").status_code == 302
