from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import IsManager
from core.values import INT64_MAX
from modelhost.models import GenerationJob, ModelEndpoint
from modelhost.selectors import endpoint_list, job_list_for, job_outputs
from modelhost.services.endpoints import endpoint_get_default
from modelhost.services.jobs import MAX_SAMPLES, generation_job_cancel, generation_job_create


class GenerationJobSerializer(serializers.ModelSerializer):
    class Meta:
        model = GenerationJob
        fields = ["id", "label", "source", "status", "n", "params", "seed", "total", "done", "completion_tokens",
                  "tokens_per_second", "attempts", "worker", "error", "created_at", "started_at", "finished_at",
                  "endpoints"]

    endpoints = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    tokens_per_second = serializers.FloatField()


class GenerationJobCreateApi(APIView):
    permission_classes = [IsManager]

    class GenerationJobCreateSerializer(serializers.Serializer):
        class ConversationSerializer(serializers.Serializer):
            key = serializers.CharField(max_length=200)
            messages = serializers.JSONField(help_text="a string, or a list of {role, content}")

        label = serializers.CharField(max_length=200)
        conversations = ConversationSerializer(many=True)
        endpoints = serializers.ListField(child=serializers.CharField(), required=False,
                                          help_text="endpoint names; the default endpoint when omitted")
        n = serializers.IntegerField(default=1, min_value=1, max_value=MAX_SAMPLES)
        params = serializers.DictField(required=False, default=dict)
        seed = serializers.IntegerField(default=0, min_value=0, max_value=INT64_MAX)

    @extend_schema(request=GenerationJobCreateSerializer, responses={201: GenerationJobSerializer},
                   summary="Generate n samples for every conversation with every endpoint")
    def post(self, request):
        data = self.GenerationJobCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        names = data.validated_data.get("endpoints")
        if names:
            endpoints = list(endpoint_list().filter(name__in=names))
            unknown = sorted(set(names) - {e.name for e in endpoints})
            if unknown:
                raise ApiValidationError({"endpoints": [f"Unknown endpoint(s): {', '.join(unknown)}."]})
        else:
            endpoints = [endpoint_get_default()]
        job = generation_job_create(
            label=data.validated_data["label"],
            conversations=[(c["key"], c["messages"]) for c in data.validated_data["conversations"]],
            endpoints=endpoints, n=data.validated_data["n"], params=data.validated_data["params"],
            seed=data.validated_data["seed"], source="api", created_by=request.user,
        )
        return Response(GenerationJobSerializer(job).data, status=status.HTTP_201_CREATED)


class GenerationJobDetailApi(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses=GenerationJobSerializer, summary="A job's status and progress")
    def get(self, request, job_id: int):
        return Response(GenerationJobSerializer(get_object_or_404(job_list_for(user=request.user), pk=job_id)).data)


class GenerationJobCancelApi(APIView):
    permission_classes = [IsManager]

    @extend_schema(request=None, responses=GenerationJobSerializer, summary="Stop a job; what it made stays")
    def post(self, request, job_id: int):
        job = get_object_or_404(job_list_for(user=request.user), pk=job_id)
        generation_job_cancel(job=job)
        job.refresh_from_db()
        return Response(GenerationJobSerializer(job).data)


class GenerationJobOutputsApi(APIView):
    permission_classes = [IsManager]

    class GenerationOutputSerializer(serializers.Serializer):
        key = serializers.CharField(source="request.key")
        endpoint = serializers.CharField(source="endpoint.name")
        sample_index = serializers.IntegerField()
        text = serializers.CharField()
        params = serializers.JSONField()
        seed = serializers.IntegerField(allow_null=True)
        prompt_tokens = serializers.IntegerField()
        completion_tokens = serializers.IntegerField()
        truncated_prompt_tokens = serializers.IntegerField()
        finish_reason = serializers.CharField()
        latency_ms = serializers.IntegerField()

    class QuerySerializer(serializers.Serializer):
        offset = serializers.IntegerField(default=0, min_value=0, max_value=INT64_MAX)

    PAGE = 500

    @extend_schema(parameters=[QuerySerializer], responses=GenerationOutputSerializer(many=True),
                   summary="A job's outputs, 500 at a time (?offset=)")
    def get(self, request, job_id: int):
        job = get_object_or_404(job_list_for(user=request.user), pk=job_id)
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        offset = query.validated_data["offset"]
        rows = job_outputs(job=job)[offset: offset + self.PAGE]
        return Response(self.GenerationOutputSerializer(rows, many=True).data)


class ModelEndpointListApi(APIView):
    permission_classes = [IsManager]  # what runs where is the managers' business

    class ModelEndpointSerializer(serializers.ModelSerializer):
        class Meta:
            model = ModelEndpoint
            fields = ["id", "name", "backend", "model", "device", "dtype", "max_context", "default_params",
                      "is_default"]

    @extend_schema(responses=ModelEndpointSerializer(many=True), summary="Models this host can run")
    def get(self, request):
        return Response(self.ModelEndpointSerializer(endpoint_list(), many=True).data)
