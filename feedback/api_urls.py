from django.urls import path

from feedback import apis

urlpatterns = [
    path("conversations", apis.ConversationListCreateApi.as_view(), name="api-conversations"),
    path("conversations/<int:conversation_id>", apis.ConversationDetailApi.as_view(), name="api-conversation"),
    path("conversations/<int:conversation_id>/messages", apis.MessageCreateApi.as_view(), name="api-messages"),
    path("messages/<int:message_id>/regenerate", apis.MessageRegenerateApi.as_view(), name="api-regenerate"),
    path("messages/<int:message_id>/feedback", apis.MessageFeedbackApi.as_view(), name="api-feedback"),
]
