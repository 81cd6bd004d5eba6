from django.urls import path

from feedback import openai_apis

urlpatterns = [
    path("chat/completions", openai_apis.ChatCompletionsApi.as_view(), name="openai-chat-completions"),
    path("models", openai_apis.ModelListApi.as_view(), name="openai-models"),
    path("models/<str:model>", openai_apis.ModelDetailApi.as_view(), name="openai-model"),
]
