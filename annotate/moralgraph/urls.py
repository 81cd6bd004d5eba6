from django.urls import path

from annotate.moralgraph import views

app_name = "moralgraph"
urlpatterns = [
    path("", views.deliberation_list, name="list"),
    path("<int:deliberation_id>/", views.deliberation_detail, name="detail"),
    path("<int:deliberation_id>/consent/", views.consent, name="consent"),
    path("<int:deliberation_id>/interviews/", views.interview_new, name="interview_new"),
    path("interviews/<int:interview_id>/", views.interview_detail, name="interview"),
    path("interviews/<int:interview_id>/messages/", views.message_send, name="message_send"),
    path("interviews/<int:interview_id>/card/", views.card_panel, name="card"),
    path("interviews/<int:interview_id>/submit/", views.interview_done, name="interview_submit"),
    path("messages/<int:message_id>/stream/", views.message_stream, name="message_stream"),
    path("messages/<int:message_id>/retry/", views.message_retry, name="message_retry"),
    path("<int:deliberation_id>/vote/", views.vote_page, name="vote"),
    path("<int:deliberation_id>/vote/<int:story_id>/", views.vote_send, name="vote_send"),
    path("<int:deliberation_id>/survey/", views.survey_send, name="survey"),
    path("manage/new/", views.manage_create, name="manage_create"),
    path("<int:deliberation_id>/manage/", views.manage_detail, name="manage"),
    path("<int:deliberation_id>/manage/contexts/", views.manage_context_add, name="manage_context_add"),
    path("<int:deliberation_id>/manage/contexts/<int:context_id>/<str:action>/", views.manage_context_review,
         name="manage_context_review"),
    path("<int:deliberation_id>/manage/contexts/propose/", views.manage_contexts_propose,
         name="manage_contexts_propose"),
    path("<int:deliberation_id>/manage/contexts/proposals/<int:reply_id>/stream/", views.manage_proposal_stream,
         name="manage_proposal_stream"),
    path("<int:deliberation_id>/manage/pairs/", views.manage_pairs_build, name="manage_pairs_build"),
    path("<int:deliberation_id>/manage/pairs/stories/", views.manage_stories_write, name="manage_stories_write"),
    path("<int:deliberation_id>/manage/pairs/annotate/", views.manage_pairs_to_campaign,
         name="manage_pairs_to_campaign"),
    path("<int:deliberation_id>/graph/", views.graph_page, name="graph"),
    path("<int:deliberation_id>/graph.<str:fmt>", views.graph_export, name="graph_export"),
]
