from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotate.access import campaign_check_manager
from annotate.models import Campaign
from annotate.protocols import GOLD_THRESHOLD
from annotate.report.human_vs_ai_view import annotators_chosen
from annotate.report.metrics.data import PEOPLE
from annotate.report.metrics.report import RATINGS_EACH, RATINGS_MEAN, campaign_report

ESTIMATE = "an estimate: {value, n, ci_low, ci_high} (95% item-bootstrap interval; null when undefined)"


class ReportSerializer(serializers.Serializer):
    """The campaign report (documentation only: the view returns the report's dict as it is)."""

    campaign = serializers.JSONField(help_text="{id, name, design}")
    items = serializers.IntegerField(help_text="Items in the campaign.")
    judgments = serializers.IntegerField(help_text="Judgments in the campaign.")
    judgments_by_protocol = serializers.JSONField(help_text="protocol -> judgments")
    agreement = serializers.JSONField(help_text=(
        "Per protocol (pairwise, ranking, rating; attributes per attribute), over units judged by 2 or more: "
        f"level, units, percent_agreement, fleiss_kappa, krippendorff_alpha (each {ESTIMATE}), cohen_kappa "
        '("annotatorA|annotatorB" -> estimate); ordinal blocks add quadratic_kappa (pooled over pairs) and '
        "cohen_quadratic_kappa (per pair, like cohen_kappa); "
        "ranking adds kendall_tau and spearman."))
    rating_vs_ranking = serializers.JSONField(help_text=(
        "Bansal et al. consistency: for each pair a pairwise choice or a ranking ordered, its label (a/b/tie) against "
        "the label the two responses' ratings imply (higher wins, equal ties), over pairs whose responses both have "
        "ratings, joined by response id across items (absolute ratings included); mean rating per response, or "
        "each rater's own (ratings=each). Fields: ratings (mean|each), labels, pairs, "
        "consistency (estimate), confusion (3x3: rows the ranking's label a/b/tie, columns the ratings' label), "
        "tie_driven_share, per_arm, per_annotator (and per_rater when ratings=each)."))
    position_bias = serializers.JSONField(help_text=(
        "pairwise: overall and per_annotator share of decided choices for the first-shown response (exact 95% "
        "interval, binomial p_value), tie_share; ranking: mean_rank_by_shown_position; rating: "
        "mean_rating_by_shown_position."))
    gold = serializers.JSONField(help_text="threshold, min_judgments, items, per_annotator accuracy, flagged.")
    annotators = serializers.JSONField(help_text=(
        "username -> judgments, skipped, skip_rate, median_time_on_task_ms, arm, majority_agreement, "
        "outlier {flagged, votes_tested, evidence} (Chatbot Arena's sequential test)."))
    bradley_terry = serializers.JSONField(help_text=(
        "Strongest first: [{model, score, ci_low, ci_high, battles}], Elo scale around 1000."))
    win_rates = serializers.JSONField(help_text="{models, win_rate (row beats column, ties as halves), games}")
    style_control = serializers.JSONField(required=False, help_text=(
        "Only with style_control=1: bradley_terry (as above, fitted with style covariates) and coefficients "
        "(length, headers, lists, bold -> estimate: log-odds per standard deviation of the normalised difference)."))
    properties = serializers.JSONField(required=False, help_text=(
        "Only with properties=1: properties (length, refusal, uncertainty, markdown, clarifying_question, "
        "reading_level), units (what one unit of each coefficient is), response_means, fits: 'people' and each "
        "ai:* judge -> {comparisons, ties_left_out, intercept, coefficients: property -> estimate (log-odds of the "
        "first response winning per unit of the property difference; null when the difference never varies)}."))
    groups = serializers.JSONField(help_text=(
        "Whose preferences, people only (annotators named ai:* left out): min_group_size, annotators, with_profile "
        "(people with a consented profile), attributes: profile attribute key (age_band, region, country, "
        "first_language, education, field:<id> for the campaign's own questions) -> {label, agreement: protocol (or "
        "attributes.<name>) -> {everyone, groups: group -> {annotators, level, units, percent_agreement, "
        "fleiss_kappa, krippendorff_alpha, quadratic_kappa (ordinal)}, within, between, gap (share of agreeing pairs "
        "of people inside one group, from two groups, and the difference; each an estimate), matrix {groups, "
        "agreement}, alignment: group -> estimate of Pearson's r with the majority label plus p_value, most_aligned}, "
        "leaderboard: group -> {annotators, bradley_terry}}. A group is shown only with min_group_size people "
        "behind the figure; smaller ones merge into '(other)' or are not shown."))
    human_vs_ai = serializers.JSONField(help_text=(
        "AI judges (annotators named ai:...) against people on the same pairwise items: labels, "
        "items_with_majority (a label chosen by more than half of 2+ people), judges: name -> {judgments, "
        "items_with_majority, accuracy, macro_f1, kappa_vs_majority (each an estimate against the human majority), "
        "kappa_vs_people (person -> estimate), position_bias (share of decided verdicts for the response shown "
        "first, exact interval), swap_conflict_rate (share of items whose verdict flipped with the order), "
        "confusion (3x3: rows the majority's a/b/tie, columns the judge's)}; routing: {items, curve: [{to_people, "
        "share_to_people, work_saved, accuracy}], setting (the campaign's rule's point, or null)}. The other "
        "sections are of people only, unless annotators names one judge."))
    settings = serializers.JSONField(help_text="What the report was computed with.")


class CampaignReportApi(APIView):
    class FilterSerializer(serializers.Serializer):
        ratings = serializers.ChoiceField(
            choices=[RATINGS_MEAN, RATINGS_EACH], default=RATINGS_MEAN,
            help_text="Compare comparisons with ratings averaged over annotators (mean) or with each annotator's.")
        gold_threshold = serializers.FloatField(min_value=0, max_value=1, default=GOLD_THRESHOLD,
                                                help_text="Flag annotators whose gold accuracy is below this.")
        annotators = serializers.CharField(
            default=PEOPLE, max_length=150,
            help_text='Whose judgments the sections other than human_vs_ai are of: "people" (AI judges left out), '
                      "or one AI judge's name (ai:...), for its own leaderboard and agreement.")
        style_control = serializers.BooleanField(
            default=False, help_text="Add a Bradley-Terry leaderboard controlled for length and markdown.")
        properties = serializers.BooleanField(
            default=False, help_text="Add the property profile: what response properties win choices, for people "
                                     "and each AI judge.")

    @extend_schema(
        parameters=[FilterSerializer],
        responses={200: ReportSerializer},
        summary="Agreement, consistency, position bias, gold and leaderboard of a campaign (its managers only)",
    )
    def get(self, request, campaign_id: int):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        campaign_check_manager(campaign=campaign, user=request.user)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        values = {**filters.validated_data, "annotators": annotators_chosen(filters.validated_data["annotators"])}
        return Response(campaign_report(campaign=campaign, **values))
