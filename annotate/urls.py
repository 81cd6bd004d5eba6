from django.urls import path

from annotate import views, views_judges

app_name = "annotate"
urlpatterns = [
    path("campaigns/<int:campaign_id>/", views.task_page, name="task"),
    path("campaigns/<int:campaign_id>/assignments/<int:assignment_id>/submit/", views.task_submit,
         name="task_submit"),
    path("campaigns/<int:campaign_id>/assignments/<int:assignment_id>/skip/", views.task_skip, name="task_skip"),
    path("campaigns/<int:campaign_id>/assignments/<int:assignment_id>/flag/", views.task_flag, name="task_flag"),
    path("campaigns/<int:campaign_id>/assignments/<int:assignment_id>/withdraw/", views.task_withdraw,
         name="task_withdraw"),
    path("campaigns/<int:campaign_id>/mine/", views.task_review, name="task_review"),
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
    path("manage/<int:campaign_id>/judges/", views_judges.manage_judge_start, name="manage_judge_start"),
    path("manage/judge-runs/<int:run_id>/", views_judges.manage_judge_run, name="manage_judge_run"),
    path("manage/<int:campaign_id>/routing/", views_judges.manage_routing, name="manage_routing"),
]
