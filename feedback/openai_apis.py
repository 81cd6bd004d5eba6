"""OpenAI-compatible `/v1/chat/completions` and `/v1/models`, answering in OpenAI's shapes so its clients work
unchanged (base_url = this site's /v1, api_key = a Concord API key). Every call is logged as a conversation;
`X-Conversation-Id` or `metadata.conversation_id` continues one of the caller's."""

import json
import time
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiTokenAuthentication
from feedback.authentication import BearerTokenAuthentication
from feedback.limits import CHAT_THROTTLES, ChatTokensThrottle, request_size_check
from feedback.models import Conversation
from feedback.selectors import conversation_list_owned
from feedback.services.chat import (
    ReplyTimeout,
    messages_record,
    replies_generate,
    replies_record,
    sampling_values,
)
from feedback.services.conversations import conversation_create
from feedback.streaming import reply_events, sse_response
from modelhost.backends.base import BackendError
from modelhost.messages import messages_validate
from modelhost.selectors import endpoint_list

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}
MAX_N = 8


class ModelNotFound(exceptions.NotFound):
    default_code = "model_not_found"


class ModelUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "model_unavailable"


class ModelTimeout(exceptions.APIException):
    status_code = status.HTTP_504_GATEWAY_TIMEOUT
    default_code = "timeout"


def _first_error(detail, path: str = "") -> tuple[str, str]:
    """(param, message) of the first error in a DRF error detail."""
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        name = "" if key in {"non_field_errors", "detail"} else str(key)
        return _first_error(value, f"{path}.{name}".strip(".") if name else path)
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], path)
    return path, str(detail)


def openai_error(exc: Exception) -> dict:
    detail = getattr(exc, "detail", str(exc))
    param, message = _first_error(detail)
    code = getattr(detail, "code", None) or getattr(exc, "default_code", None)
    kinds = {401: "invalid_request_error", 403: "permission_error", 429: "rate_limit_error",
             503: "server_error", 504: "server_error"}
    if isinstance(exc, exceptions.Throttled):
        code = "rate_limit_exceeded"
    elif isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        code = "invalid_api_key"
    kind = kinds.get(getattr(exc, "status_code", 500), "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param or None, "code": code}}


class OpenAIApi(APIView):
    authentication_classes = [BearerTokenAuthentication, ApiTokenAuthentication]
    throttle_classes = CHAT_THROTTLES

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request_size_check(request)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        response.data = openai_error(exc)
        return response


def _model_json(endpoint) -> dict:
    return {"id": endpoint.name, "object": "model", "created": int(endpoint.created_at.timestamp()),
            "owned_by": "concord"}


class ModelListApi(OpenAIApi):

    @extend_schema(summary="Models, as OpenAI lists them", responses=dict, operation_id="v1_models_list")
    def get(self, request):
        return Response({"object": "list", "data": [_model_json(endpoint) for endpoint in endpoint_list()]})


class ModelDetailApi(OpenAIApi):

    @extend_schema(summary="One model, as OpenAI describes it", responses=dict)
    def get(self, request, model: str):
        endpoint = endpoint_list().filter(name=model).first()
        if endpoint is None:
            raise ModelNotFound(f"The model `{model}` does not exist.")
        return Response(_model_json(endpoint))


class ChatCompletionsApi(OpenAIApi):
    class ChatCompletionRequestSerializer(serializers.Serializer):
        model = serializers.CharField()
        messages = serializers.ListField(child=serializers.DictField(), allow_empty=False)
        temperature = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=2)
        top_p = serializers.FloatField(required=False, allow_null=True, min_value=0.001, max_value=1)
        max_tokens = serializers.IntegerField(required=False, allow_null=True, min_value=1)
        max_completion_tokens = serializers.IntegerField(required=False, allow_null=True, min_value=1)
        n = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_N)
        stop = serializers.JSONField(required=False, allow_null=True)
        seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**63 - 1)
        stream = serializers.BooleanField(required=False, allow_null=True)
        stream_options = serializers.DictField(required=False, allow_null=True)
        user = serializers.CharField(required=False, allow_blank=True, max_length=200)
        metadata = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False,
                                         allow_null=True)

        def validate_messages(self, messages):
            limit = settings.FEEDBACK_MAX_MESSAGES
            if len(messages) > limit:
                raise serializers.ValidationError(
                    f"{len(messages)} messages; FEEDBACK_MAX_MESSAGES allows {limit} per request.")
            cleaned = []
            for message in messages:
                content = message.get("content")
                if isinstance(content, list):  # content parts: only text is understood
                    if any(not isinstance(p, dict) or p.get("type") != "text" for p in content):
                        raise serializers.ValidationError("Only text content parts are supported.")
                    content = "".join(str(part.get("text", "")) for part in content)
                if message.get("role") not in ROLES or not isinstance(content, str):
                    raise serializers.ValidationError(
                        "Each message needs a role (system, developer, user, assistant) and text content.")
                cleaned.append({"role": ROLES[message["role"]], "content": content})
            return cleaned

        def validate_stop(self, stop):
            stop = [stop] if isinstance(stop, str) else stop
            if stop is not None and (not isinstance(stop, list) or len(stop) > 4
                                     or not all(isinstance(s, str) and s for s in stop)):
                raise serializers.ValidationError("stop is a string or a list of up to 4 strings.")
            return stop

    def _conversation(self, request, data, endpoint) -> Conversation:
        wanted = request.headers.get("X-Conversation-Id") or (data.get("metadata") or {}).get("conversation_id")
        if not wanted:
            metadata = {key: value for key, value in (data.get("metadata") or {}).items()}
            if data.get("user"):
                metadata["user"] = data["user"]
            return conversation_create(owner=request.user, endpoint=endpoint, metadata=metadata)
        conversation = conversation_list_owned(user=request.user).filter(
            pk=int(wanted) if str(wanted).isdigit() else None
        ).first()
        if conversation is None:  # someone else's is as unknown as a missing one
            raise exceptions.NotFound(f"No conversation {wanted}.")
        return conversation

    @extend_schema(summary="Chat completion, OpenAI-compatible (stream or not)",
                   request=ChatCompletionRequestSerializer, responses=dict)
    def post(self, request):
        data = self.ChatCompletionRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        data = data.validated_data
        endpoint = endpoint_list().filter(name=data["model"]).first()
        if endpoint is None:
            raise ModelNotFound(f"The model `{data['model']}` does not exist; GET /v1/models lists them.")
        n = data.get("n") or 1
        if data.get("stream") and n > 1:
            raise exceptions.ValidationError({"n": ["Streaming answers with one choice; set n to 1."]})
        try:
            values = sampling_values(
                endpoint=endpoint, max_tokens=data.get("max_completion_tokens") or data.get("max_tokens"),
                temperature=data.get("temperature"), top_p=data.get("top_p"), stop=data.get("stop"),
            )
            if data.get("seed") is not None:
                values["seed"] = data["seed"]
            messages_validate(data["messages"], name="messages")  # before anything is stored
        except ValidationError as error:
            raise exceptions.ValidationError({"messages": error.messages}) from None
        conversation = self._conversation(request, data, endpoint)
        parent = messages_record(conversation=conversation, messages=data["messages"])
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if data.get("stream"):
            include_usage = bool((data.get("stream_options") or {}).get("include_usage"))
            events = reply_events(request, conversation=conversation, parent=parent, values=values)
            render = self._chunks(request, endpoint.name, completion_id, created, include_usage)
            return sse_response(request, events, render, headers={"X-Conversation-Id": str(conversation.pk)})
        try:
            replies = replies_generate(endpoint=endpoint, messages=data["messages"], values=values, n=n,
                                       seed=values.pop("seed", None), owner=request.user)
        except ValidationError as error:
            raise exceptions.ValidationError({"messages": error.messages}) from None
        except BackendError as error:
            raise ModelUnavailable(str(error)) from None
        except ReplyTimeout as error:
            raise ModelTimeout(str(error)) from None
        replies_record(conversation=conversation, parent=parent, replies=replies, model_name=endpoint.name)
        prompt_tokens = replies[0].prompt_tokens
        completion_tokens = sum(reply.completion_tokens for reply in replies)
        ChatTokensThrottle.record(request, prompt_tokens + completion_tokens)
        body = {
            "id": completion_id, "object": "chat.completion", "created": created, "model": endpoint.name,
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": reply.text, "refusal": None},
                 "logprobs": None, "finish_reason": reply.finish_reason}
                for i, reply in enumerate(replies)
            ],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
            "system_fingerprint": None,
            "conversation_id": conversation.pk,
        }
        return Response(body, headers={"X-Conversation-Id": str(conversation.pk)})

    @staticmethod
    def _chunks(request, model: str, completion_id: str, created: int, include_usage: bool):
        """Renders reply events as OpenAI's chat.completion.chunk events."""
        def chunk(choices: list, **extra) -> str:
            body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                    "system_fingerprint": None, "choices": choices, **extra}
            return f"data: {json.dumps(body)}\n\n"

        def choice(delta: dict, finish: str | None = None) -> list:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

        def render(event: str, data) -> str:
            if event == "start":
                return chunk(choice({"role": "assistant", "content": ""}))
            if event == "token":
                return chunk(choice({"content": data}))
            if event == "error":  # headers are gone: the error travels as an event, as in OpenAI's own streams
                return f"data: {json.dumps(openai_error(ModelUnavailable(data)))}\n\n"
            if event == "end":
                return "data: [DONE]\n\n"
            usage = {"prompt_tokens": data.prompt_tokens, "completion_tokens": data.completion_tokens,
                     "total_tokens": data.prompt_tokens + data.completion_tokens}
            ChatTokensThrottle.record(request, usage["total_tokens"])
            return chunk(choice({}, data.finish_reason)) + (chunk([], usage=usage) if include_usage else "")

        return render
