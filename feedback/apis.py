"""The native chat API: conversations, messages and replies, regenerations, feedback. Callers see only their own
conversations (an API key acts for its user); another user's conversation answers 404."""

import json

from django.core.exceptions import ValidationError
from django.db.models import prefetch_related_objects
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from feedback.limits import CHAT_THROTTLES, ChatTokensThrottle, request_size_check
from feedback.models import Conversation, Feedback, Message
from feedback.openai_apis import ModelNotFound, ModelTimeout, ModelUnavailable
from feedback.selectors import conversation_filter, conversation_list_owned, conversation_messages, message_get_owned
from feedback.services.chat import ReplyTimeout, message_regenerate, message_reply, sampling_values
from feedback.services.conversations import MAX_RETAIN_DAYS, conversation_create, conversation_delete, messages_add
from feedback.services.feedback import feedback_submit
from feedback.streaming import reply_events, sse_response
from modelhost.backends.base import BackendError
from modelhost.selectors import endpoint_list
from modelhost.services.endpoints import endpoint_get_default


class ChatFeedbackSerializer(serializers.ModelSerializer):
    class Meta:
        model = Feedback
        fields = ["id", "thumb", "reasons", "rating", "comment", "better_than", "created_at"]


class ChatMessageSerializer(serializers.ModelSerializer):
    feedback = ChatFeedbackSerializer(many=True, read_only=True)
    model = serializers.CharField(source="model_name")

    class Meta:
        model = Message
        fields = ["id", "parent", "index", "role", "content", "raw_content", "model", "finish_reason",
                  "prompt_tokens", "completion_tokens", "latency_ms", "created_at", "feedback"]


class NewMessageSerializer(ChatMessageSerializer):
    """A message just written, which has no feedback yet: serialised without a query (streams may not query)."""

    class Meta(ChatMessageSerializer.Meta):
        fields = [name for name in ChatMessageSerializer.Meta.fields if name != "feedback"]


class ChatConversationSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_name")

    class Meta:
        model = Conversation
        fields = ["id", "model", "source", "external_id", "consent_raw", "consent_research", "retain_until",
                  "metadata", "pii_counts", "created_at", "updated_at"]


class ChatConversationDetailSerializer(ChatConversationSerializer):
    messages = serializers.SerializerMethodField()

    class Meta(ChatConversationSerializer.Meta):
        fields = [*ChatConversationSerializer.Meta.fields, "messages"]

    def get_messages(self, conversation) -> list[dict]:
        return ChatMessageSerializer(conversation_messages(conversation=conversation), many=True).data


class SamplingSerializer(serializers.Serializer):
    max_tokens = serializers.IntegerField(required=False, min_value=1)
    temperature = serializers.FloatField(required=False, min_value=0, max_value=2)
    top_p = serializers.FloatField(required=False, min_value=0.001, max_value=1)
    seed = serializers.IntegerField(required=False, min_value=0)
    timeout = serializers.FloatField(required=False, min_value=0.1, max_value=600,
                                     help_text="Seconds to wait for a worker's reply (504 after).")


class ChatApi(APIView):
    throttle_classes = CHAT_THROTTLES

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request_size_check(request)

    def _conversation(self, request, conversation_id: int) -> Conversation:
        return get_object_or_404(conversation_list_owned(user=request.user), pk=conversation_id)

    @staticmethod
    def _values(conversation: Conversation, data: dict) -> dict:
        if conversation.endpoint is None:
            raise exceptions.ValidationError({"detail": ["This conversation has no model endpoint."]})
        values = sampling_values(endpoint=conversation.endpoint, max_tokens=data.get("max_tokens"),
                                 temperature=data.get("temperature"), top_p=data.get("top_p"))
        return values

    def handle_exception(self, exc):
        mapped = {ValidationError: lambda e: exceptions.ValidationError({"detail": e.messages}),
                  BackendError: lambda e: ModelUnavailable(str(e)), ReplyTimeout: lambda e: ModelTimeout(str(e))}
        for kind, to_api in mapped.items():
            if isinstance(exc, kind):
                exc = to_api(exc)
        return super().handle_exception(exc)


class ConversationListCreateApi(ChatApi):
    class ConversationFilterSerializer(serializers.Serializer):
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)
        model = serializers.CharField(required=False)
        has_feedback = serializers.BooleanField(required=False, allow_null=True, default=None)

    class ConversationCreateSerializer(serializers.Serializer):
        model = serializers.CharField(required=False, help_text="An endpoint name; the default model when omitted.")
        system = serializers.CharField(required=False, allow_blank=True, help_text="A system message to start with.")
        consent_raw = serializers.BooleanField(default=False, help_text="Keep the unscrubbed text too.")
        consent_research = serializers.BooleanField(default=True)
        retain_days = serializers.IntegerField(required=False, min_value=1, max_value=MAX_RETAIN_DAYS,
                                               help_text="Delete after this many days.")
        metadata = serializers.DictField(required=False, default=dict)

    class Pagination(PageNumberPagination):
        page_size = 50
        page_size_query_param = "page_size"
        max_page_size = 200

    @extend_schema(parameters=[ConversationFilterSerializer], responses=ChatConversationSerializer(many=True),
                   summary="My conversations, newest first, 50 a page")
    def get(self, request):
        filters = self.ConversationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        conversations = conversation_filter(conversation_list_owned(user=request.user), **filters.validated_data)
        paginator = self.Pagination()
        page = paginator.paginate_queryset(conversations, request, self)
        return paginator.get_paginated_response(ChatConversationSerializer(page, many=True).data)

    @extend_schema(request=ConversationCreateSerializer, responses={201: ChatConversationDetailSerializer},
                   summary="Start a conversation with a model")
    def post(self, request):
        data = self.ConversationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        data = data.validated_data
        if data.get("model"):
            endpoint = endpoint_list().filter(name=data["model"]).first()
            if endpoint is None:
                raise ModelNotFound(f"No model named {data['model']}.")
        else:
            endpoint = endpoint_get_default()
        conversation = conversation_create(
            owner=request.user, endpoint=endpoint, consent_raw=data["consent_raw"],
            consent_research=data["consent_research"], retain_days=data.get("retain_days"),
            metadata=data["metadata"],
        )
        if data.get("system"):
            messages_add(conversation=conversation, parent=None,
                         messages=[{"role": Message.Role.SYSTEM, "content": data["system"]}])
        return Response(ChatConversationDetailSerializer(conversation).data, status=status.HTTP_201_CREATED)


class ConversationDetailApi(ChatApi):
    @extend_schema(responses=ChatConversationDetailSerializer, summary="A conversation with every branch")
    def get(self, request, conversation_id: int):
        return Response(ChatConversationDetailSerializer(self._conversation(request, conversation_id)).data)

    @extend_schema(responses={204: None}, summary="Delete a conversation, its messages and their feedback")
    def delete(self, request, conversation_id: int):
        conversation_delete(conversation=self._conversation(request, conversation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessageCreateApi(ChatApi):
    class MessageCreateSerializer(SamplingSerializer):
        content = serializers.CharField(trim_whitespace=False)
        parent = serializers.IntegerField(required=False, help_text="The message to answer after (a branch); "
                                                                    "the latest message when omitted.")
        n = serializers.IntegerField(default=1, min_value=1, max_value=8)
        stream = serializers.BooleanField(default=False, help_text="Answer as server-sent events.")

    class MessageCreateOutputSerializer(serializers.Serializer):
        message = ChatMessageSerializer()
        replies = ChatMessageSerializer(many=True)

    @extend_schema(request=MessageCreateSerializer, responses={201: MessageCreateOutputSerializer},
                   summary="Post a user message and get the model's reply (or stream it: event token, done)")
    def post(self, request, conversation_id: int):
        conversation = self._conversation(request, conversation_id)
        data = self.MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        data = data.validated_data
        parent = None
        if data.get("parent"):
            parent = conversation.messages.filter(pk=data["parent"]).first()
            if parent is None:
                raise exceptions.ValidationError({"parent": ["Not a message of this conversation."]})
        values = self._values(conversation, data)
        if "seed" in data:
            values["seed"] = data["seed"]
        if data["stream"]:
            if data["n"] != 1:
                raise exceptions.ValidationError({"n": ["Streaming answers with one reply; set n to 1."]})
            return self._stream(request, conversation, parent, data["content"], values)
        question, replies = message_reply(conversation=conversation, content=data["content"], parent=parent,
                                          values=values, n=data["n"], timeout_s=data.get("timeout"))
        ChatTokensThrottle.record(request, replies[0].prompt_tokens + sum(r.completion_tokens for r in replies))
        prefetch_related_objects([question, *replies], "feedback")  # one query, not one per message
        return Response({"message": ChatMessageSerializer(question).data,
                         "replies": ChatMessageSerializer(replies, many=True).data}, status=status.HTTP_201_CREATED)

    @staticmethod
    def _stream(request, conversation, parent, content, values):
        path_end = parent or conversation.messages.order_by("-id").first()
        (question,) = messages_add(conversation=conversation, parent=path_end,
                                   messages=[{"role": Message.Role.USER, "content": content}])

        def render(event: str, data) -> str:
            if event == "start":
                event, data = "message", NewMessageSerializer(question).data
            elif event == "end":
                return ""
            elif event == "done":
                ChatTokensThrottle.record(request, data.prompt_tokens + data.completion_tokens)
                data = NewMessageSerializer(data).data
            else:
                data = {"content": data} if event == "token" else {"message": data}
            return f"event: {event}\ndata: {json.dumps(data)}\n\n"

        events = reply_events(request, conversation=conversation, parent=question, values=values)
        return sse_response(request, events, render, status=status.HTTP_201_CREATED)


class MessageRegenerateApi(ChatApi):
    @extend_schema(request=SamplingSerializer, responses={201: ChatMessageSerializer},
                   summary="Another reply to the same user message; the old one stays as a branch")
    def post(self, request, message_id: int):
        message = message_get_owned(user=request.user, message_id=message_id)
        if message is None:
            raise exceptions.NotFound("No such message.")
        data = SamplingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = self._values(message.conversation, data.validated_data)
        reply = message_regenerate(message=message, values=values, seed=data.validated_data.get("seed"),
                                   timeout_s=data.validated_data.get("timeout"))
        ChatTokensThrottle.record(request, reply.prompt_tokens + reply.completion_tokens)
        return Response(ChatMessageSerializer(reply).data, status=status.HTTP_201_CREATED)


class MessageFeedbackApi(ChatApi):

    class FeedbackCreateSerializer(serializers.Serializer):
        thumb = serializers.ChoiceField(choices=["up", "down"], required=False, default="")
        reasons = serializers.ListField(child=serializers.ChoiceField(choices=Feedback.REASONS), required=False)
        rating = serializers.IntegerField(required=False, min_value=1, max_value=5)
        comment = serializers.CharField(required=False, default="", allow_blank=True, max_length=10000)
        better_than = serializers.IntegerField(required=False, help_text="A sibling reply this one beats.")

    @extend_schema(request=FeedbackCreateSerializer, responses={201: ChatFeedbackSerializer},
                   summary="Thumbs, reasons, a 1-5 rating, a comment, or 'this regeneration is better'")
    def post(self, request, message_id: int):
        message = message_get_owned(user=request.user, message_id=message_id)
        if message is None:
            raise exceptions.NotFound("No such message.")
        data = self.FeedbackCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        data = data.validated_data
        better_than = None
        if data.get("better_than"):
            better_than = message.conversation.messages.filter(pk=data["better_than"]).first()
            if better_than is None:
                raise exceptions.ValidationError({"better_than": ["Not a message of this conversation."]})
        feedback = feedback_submit(message=message, author=request.user, thumb=data["thumb"],
                                   reasons=data.get("reasons"), rating=data.get("rating"), comment=data["comment"],
                                   better_than=better_than)
        return Response(ChatFeedbackSerializer(feedback).data, status=status.HTTP_201_CREATED)
