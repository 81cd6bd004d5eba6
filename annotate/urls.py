from django.urls import path

from annotate import views

app_name = "annotate"
urlpatterns = [
    path("campaigns/<int:campaign_id>/", views.task_page, name="task"),
    path("campaigns/<int:campaign_id>/assignments/<int:assignment_id>/submit/", views.task_submit,
         name="task_submit"),
    path("campaigns/<int:campaign_id>/assignments/<int:assignment_id>/skip/", views.task_skip, name="task_skip"),
    path("manage/", views.manage_list, name="manage_list"),
    path("manage/items/", views.browse, name="browse"),
    path("manage/arena/", views.arena, name="arena"),
    path("manage/arena/vote/", views.arena_vote, name="arena_vote"),
    path("manage/items/<int:item_id>/", views.browse_item_page, name="browse_item"),
    path("manage/<int:campaign_id>/", views.manage_campaign, name="manage_campaign"),
    path("manage/<int:campaign_id>/status/", views.manage_status, name="manage_status"),
    path("manage/<int:campaign_id>/members/", views.manage_members_add, name="manage_members_add"),
    path("manage/<int:campaign_id>/members/remove/", views.manage_members_remove, name="manage_members_remove"),
    path("manage/<int:campaign_id>/settings/", views.manage_settings, name="manage_settings"),
    path("manage/<int:campaign_id>/prompts/", views.manage_prompts_import, name="manage_prompts_import"),
    path("manage/<int:campaign_id>/generate/", views.manage_candidates_generate, name="manage_candidates_generate"),
    path("manage/<int:campaign_id>/items/", views.manage_items_build, name="manage_items_build"),
    path("manage/<int:campaign_id>/judgments.jsonl", views.manage_judgments_export, name="manage_judgments_export"),
]
