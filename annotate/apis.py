from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.access import campaigns_visible_to
from annotate.models import Campaign
from annotate.selectors import assignment_task, campaign_for_queue, campaign_list_for
from annotate.services.assignments import assignment_next, assignment_skip, judgment_submit
from annotate.services.campaigns import EDITABLE, campaign_create, campaign_update

SETTINGS = ["design", "guidelines", "responses_per_item", "rate_alone", "overlap", "lease_minutes", "gold_rate",
            "ask_strength", "ask_rationale"]


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "name", "status", *SETTINGS, "created_at"]


class CampaignManagedSerializer(CampaignSerializer):
    """What its managers see: the settings and the members."""

    members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "members"]


class CampaignListCreateApi(APIView):
    class CreateSerializer(serializers.ModelSerializer):
        members = serializers.ListField(child=serializers.CharField(), required=False,
                                        help_text="usernames of the annotators")

        class Meta:
            model = Campaign
            fields = ["name", *SETTINGS, "members"]
            extra_kwargs = {"name": {"validators": []}}  # the service checks it, with the rest of the campaign

    @extend_schema(responses=CampaignSerializer(many=True), summary="The campaigns you may work on or manage")
    def get(self, request):
        return Response(CampaignSerializer(campaign_list_for(user=request.user), many=True).data)

    @extend_schema(request=CreateSerializer, responses={201: CampaignManagedSerializer},
                   summary="Create a campaign (managers); it starts as a draft")
    def post(self, request):
        data = self.CreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = campaign_create(creator=request.user, **data.validated_data)
        return Response(CampaignManagedSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    class UpdateSerializer(serializers.ModelSerializer):
        status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)
        members = serializers.ListField(child=serializers.CharField(), required=False,
                                        help_text="the usernames of all its annotators: others are removed")

        class Meta:
            model = Campaign
            fields = ["status", "members", *EDITABLE]
            # The service checks the name's uniqueness with the rest of the campaign.
            extra_kwargs = {field: {"required": False, **({"validators": []} if field == "name" else {})}
                            for field in EDITABLE}

    @extend_schema(request=UpdateSerializer, responses={200: CampaignManagedSerializer},
                   summary="Change a campaign's settings (not its design or item size), set its members or move it "
                           "to a status (its managers); setting changes are audited")
    def patch(self, request, campaign_id: int):
        campaign = get_object_or_404(campaigns_visible_to(user=request.user), pk=campaign_id)
        data = self.UpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = campaign_update(campaign=campaign, by=request.user, **data.validated_data)
        return Response(CampaignManagedSerializer(campaign).data)

TIME_ON_TASK_MAX_MS = 2**31 - 1  # what Judgment.time_on_task_ms holds on every database


class TaskSerializer(serializers.Serializer):
    """A task: the item and its responses in the order this annotator must see them."""

    class ResponseSerializer(serializers.Serializer):
        id = serializers.CharField()
        text = serializers.CharField()

    assignment = serializers.IntegerField()
    item = serializers.CharField()
    prompt = serializers.JSONField()
    protocol = serializers.CharField()
    responses = ResponseSerializer(many=True)
    expires_at = serializers.DateTimeField()


class JudgmentSerializer(serializers.Serializer):
    """The annotator's own judgment; whether a gold item was answered right stays with the managers."""

    id = serializers.IntegerField()
    item = serializers.CharField(source="item.external_id")
    protocol = serializers.CharField()
    choice = serializers.CharField()
    strength = serializers.IntegerField(allow_null=True)
    ranking = serializers.JSONField()
    ratings = serializers.JSONField()
    attributes = serializers.JSONField()
    rationale = serializers.CharField()
    created_at = serializers.DateTimeField()


class CampaignNextApi(APIView):
    @extend_schema(request=None,
                   responses={200: TaskSerializer, 204: OpenApiResponse(description="Nothing left")},
                   summary="Lease the next task of a campaign (or get the one you hold)")
    def post(self, request, campaign_id: int):
        campaign = campaign_for_queue(campaign_id=campaign_id)
        if campaign is None:
            raise NotFound("No such campaign.")
        assignment = assignment_next(campaign=campaign, annotator=request.user)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(assignment_task(assignment=assignment))  # already shaped as TaskSerializer documents it


class AssignmentSubmitApi(APIView):
    class SubmitSerializer(serializers.Serializer):
        client_key = serializers.CharField(
            max_length=100, required=False, allow_blank=True,
            help_text="Idempotency key: a retry with the same key returns the first judgment.")
        time_on_task_ms = serializers.IntegerField(required=False, min_value=1, max_value=TIME_ON_TASK_MAX_MS)
        choice = serializers.CharField(required=False)
        strength = serializers.IntegerField(required=False, allow_null=True)
        ranking = serializers.JSONField(required=False)
        ratings = serializers.JSONField(required=False)
        attributes = serializers.JSONField(required=False)
        rationale = serializers.CharField(required=False, allow_blank=True)

    @extend_schema(request=SubmitSerializer, responses={201: JudgmentSerializer, 200: JudgmentSerializer},
                   summary="Submit the answer (201); a retry returns the first judgment (200)")
    def post(self, request, assignment_id: int):
        data = self.SubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answer = dict(data.validated_data)
        client_key = answer.pop("client_key", "")
        time_on_task_ms = answer.pop("time_on_task_ms", None)
        judgment, created = judgment_submit(assignment_id=assignment_id, annotator=request.user, answer=answer,
                                            client_key=client_key, time_on_task_ms=time_on_task_ms)
        return Response(JudgmentSerializer(judgment).data, status=status.HTTP_201_CREATED if created else 200)


class AssignmentSkipApi(APIView):
    class SkipSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema(request=SkipSerializer, responses={204: OpenApiResponse(description="Skipped")},
                   summary="Give the task back with a reason; it goes to someone else")
    def post(self, request, assignment_id: int):
        data = self.SkipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment_skip(assignment_id=assignment_id, annotator=request.user,
                        reason=data.validated_data.get("reason", ""))
        return Response(status=status.HTTP_204_NO_CONTENT)
