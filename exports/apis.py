"""Dataset exports over the REST API: start one, follow it, download its files."""

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.access import IsManager
from core.values import INT64_MAX
from exports.models import Export
from exports.selectors import export_download_name, export_list_for
from exports.services import export_create, export_file_download
from exports.spec import AGGREGATIONS, FILETYPES, FORMATS, MAX_CAMPAIGNS, PAIR_STRATEGIES, STYLES


class ExportSerializer(serializers.ModelSerializer):
    class FileSerializer(serializers.Serializer):
        path = serializers.CharField()
        bytes = serializers.IntegerField()
        sha256 = serializers.CharField()
        url = serializers.CharField()

    class Meta:
        model = Export
        fields = ["id", "status", "spec", "snapshot_judgment_id", "done", "total", "percent", "rows", "content_hash",
                  "files", "error", "created_by", "created_at", "started_at", "finished_at"]

    created_by = serializers.SlugRelatedField(read_only=True, slug_field="username")
    percent = serializers.IntegerField()
    files = serializers.SerializerMethodField()

    @extend_schema(exclude=True)
    def get_files(self, export: Export) -> list[dict]:
        return [{**entry, "url": reverse("api-export-file", args=[export.pk, entry["path"]])} for entry in export.files]


class ExportSpecSerializer(serializers.Serializer):
    """For the schema only: the spec is checked in full by the service, which names every key it refuses."""

    campaigns = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=INT64_MAX),
                                      min_length=1, max_length=MAX_CAMPAIGNS, help_text="campaign ids")
    format = serializers.ChoiceField(choices=list(FORMATS.items()))
    filetype = serializers.ChoiceField(choices=FILETYPES, required=False)
    style = serializers.ChoiceField(choices=STYLES, required=False)
    aggregate = serializers.ChoiceField(choices=list(AGGREGATIONS.items()), required=False)
    pairs = serializers.ChoiceField(choices=list(PAIR_STRATEGIES.items()), required=False)
    score_weights = serializers.DictField(child=serializers.FloatField(), required=False,
                                          help_text='attributes -> weight, default {"helpfulness": 1}')
    min_margin = serializers.FloatField(required=False)
    min_agreement = serializers.FloatField(required=False, allow_null=True)
    max_spread = serializers.FloatField(required=False, allow_null=True)
    exclude_gold_failures = serializers.BooleanField(required=False)
    include_gold = serializers.BooleanField(required=False)
    include_ai_judges = serializers.BooleanField(
        required=False, help_text="Also the judgments of AI judges (annotators named ai:...): people's only when off.")
    drop_ties = serializers.BooleanField(required=False)
    models = serializers.ListField(child=serializers.CharField(), required=False)
    protocols = serializers.ListField(child=serializers.CharField(), required=False)
    since = serializers.DateTimeField(required=False, allow_null=True)
    until = serializers.DateTimeField(required=False, allow_null=True)
    test_size = serializers.FloatField(required=False)
    split_seed = serializers.CharField(required=False, allow_blank=True)
    salt = serializers.CharField(required=False, allow_blank=True,
                                 help_text="pseudonym salt; by default derived from the spec")
    provenance = serializers.BooleanField(required=False)
    include_rationale = serializers.BooleanField(required=False)
    license = serializers.CharField(required=False)
    name = serializers.CharField(required=False, allow_blank=True)


class ExportListCreateApi(APIView):
    permission_classes = [IsManager]

    @extend_schema(responses=ExportSerializer(many=True), summary="Exports you may download, newest first")
    def get(self, request):
        return Response(ExportSerializer(export_list_for(user=request.user)[:100], many=True).data)

    @extend_schema(request=ExportSpecSerializer, responses={201: ExportSerializer},
                   summary="Export a dataset from campaigns you manage; it runs on a worker")
    def post(self, request):
        export = export_create(spec=request.data, by=request.user)
        return Response(ExportSerializer(export).data, status=status.HTTP_201_CREATED)


class ExportDetailApi(APIView):
    @extend_schema(responses=ExportSerializer, summary="An export's status, progress and files")
    def get(self, request, export_id: int):
        return Response(ExportSerializer(get_object_or_404(export_list_for(user=request.user), pk=export_id)).data)


class ExportFileApi(APIView):
    @extend_schema(responses={200: OpenApiResponse(description="the file, as an attachment")},
                   summary="Download one file of a finished export")
    def get(self, request, export_id: int, path: str):
        export = get_object_or_404(export_list_for(user=request.user), pk=export_id)
        found = export_file_download(export=export, path=path, by=request.user)
        if found is None:
            raise NotFound("No such file in this export.")
        return FileResponse(found.open("rb"), as_attachment=True, content_type="application/octet-stream",
                            filename=export_download_name(export=export, path=path))
