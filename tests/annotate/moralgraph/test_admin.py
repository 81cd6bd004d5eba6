from django.apps import apps
from django.contrib import admin

from annotate.moralgraph.services.interviews import interview_start


def test_every_moral_graph_model_is_in_the_admin_and_its_list_opens(client, admin_user):
    models = apps.get_app_config("moralgraph").get_models()
    assert [model.__name__ for model in models if model not in admin.site._registry] == []
    client.force_login(admin_user)
    for model in apps.get_app_config("moralgraph").get_models():
        assert client.get(f"/admin/moralgraph/{model._meta.model_name}/").status_code == 200, model


def test_an_interview_shows_its_transcript_to_an_admin(client, admin_user, participant):
    interview = interview_start(participant=participant)
    client.force_login(admin_user)
    page = client.get(f"/admin/moralgraph/interview/{interview.pk}/change/").content.decode()
    assert "Tell me about a time" in page
