"""The campaign report page: the numbers of `campaign_report` with server-rendered SVG plots. Managers only."""

import math
import statistics

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from annotate.access import campaign_check_manager
from annotate.models import Campaign
from annotate.report import plots as report_plots
from annotate.report.human_vs_ai_view import _row, annotators_chosen, human_vs_ai_plots
from annotate.report.metrics.report import RATINGS_EACH, RATINGS_MEAN, campaign_report

PAIRS_SHOWN = 10


def _agreement_blocks(agreement: dict) -> list[tuple[str, dict]]:
    """(title, block) for every protocol, and for every attribute of the attributes protocol."""
    blocks = []
    for protocol, block in agreement.items():
        if "level" in block:
            blocks.append((protocol, block))
        else:
            blocks += [(f"{protocol}: {attribute}", inner) for attribute, inner in block.items()]
    return blocks


SMALL_SAMPLE_BATTLES = 50  # fewer comparisons than this in all, or a model with under a fifth of them: warn


def _agreement_note(campaign: Campaign, block: dict) -> str:
    """Why an agreement figure is undefined, in words ("" when it is defined)."""
    if block["units"] == 0:
        if campaign.overlap < 2:
            advice = (f"the campaign asks for {campaign.overlap} annotator per item: raise its overlap to 2 or more "
                      "in the settings")
        else:
            advice = "it will fill in once items have been judged by two or more annotators"
        arms = (" In a ranking-vs-rating experiment each annotator stays in one arm, so only annotators of the "
                "same arm meet on a unit." if campaign.design == Campaign.RANK_VS_RATE else "")
        return (f"Undefined: no unit has judgments from two or more annotators (agreement compares annotators on "
                f"the same unit); {advice}.{arms}")
    if block["krippendorff_alpha"]["value"] is None or block["fleiss_kappa"]["value"] is None:
        return ("Kappa or alpha is undefined: every judgment gave the same answer, so chance agreement is already "
                "total and there is nothing to correct for. Percent agreement still counts.")
    return ""


def _leaderboard_warning(rows: list[dict]) -> str:
    """A warning when the leaderboard rests on few comparisons ("" when it does not)."""
    battles = sum(row["battles"] for row in rows) // 2  # each comparison counts for both of its models
    fewest = min((row["battles"] for row in rows), default=0)
    if battles >= SMALL_SAMPLE_BATTLES and fewest >= SMALL_SAMPLE_BATTLES // 5:
        return ""
    return (f"Small sample: {battles} comparison{'s' if battles != 1 else ''} in all, {fewest} for the model with "
            f"fewest. With fewer than {SMALL_SAMPLE_BATTLES} (or under {SMALL_SAMPLE_BATTLES // 5} for a model) the "
            "order can change with a few more votes: read the intervals, not the ranks.")


def _pair_summary(pairs: dict[str, dict], shown: int = PAIRS_SHOWN) -> dict:
    """The median pair kappa and the pairs that agree least: with dozens of annotators there are too many pairs
    to list (the API has them all)."""
    defined = sorted((estimate["value"], pair, estimate) for pair, estimate in pairs.items()
                     if estimate["value"] is not None)
    values = [value for value, _, _ in defined]
    return {"pairs": len(pairs), "median": statistics.median(values) if values else None,
            "lowest": [(pair, estimate) for _, pair, estimate in defined[:shown]]}


def _plots(report: dict, blocks: list[tuple[str, dict]]) -> dict:
    plots = {}
    if blocks:
        alphas = [_row(name, block["krippendorff_alpha"]) for name, block in blocks]
        lowest = min([0.0, *(row["ci_low"] for row in alphas if row["ci_low"] is not None)])
        plots["agreement"] = report_plots.interval_chart(
            alphas, title="Krippendorff's alpha per protocol and attribute", low=max(-1.0, math.floor(lowest * 2) / 2),
            high=1.0,
            reference=0.0, bars=True)
    attributes = report["agreement"].get("attributes")
    if attributes:
        plots["attributes"] = report_plots.interval_chart(
            [_row(name, block["quadratic_kappa"]) for name, block in attributes.items() if "quadratic_kappa" in block],
            title="Quadratic-weighted kappa per attribute", low=-1.0, high=1.0, reference=0.0, bars=True)
    consistency = report["rating_vs_ranking"]
    if consistency["pairs"]:
        plots["consistency"] = report_plots.heat_map(
            consistency["confusion"], rows=consistency["labels"], columns=consistency["labels"],
            title="Ranking label against the label the ratings imply", row_title="ranking",
            column_title="ratings imply")
    pairwise = report["position_bias"].get("pairwise")
    if pairwise:
        plots["position"] = report_plots.interval_chart(
            [_row("everyone", pairwise["overall"]),
             *(_row(name, row) for name, row in pairwise["per_annotator"].items())],
            title="Share of decided choices for the response shown first", low=0.0, high=1.0, reference=0.5,
            bars=True)
    listwise = report["position_bias"].get("ranking", {}).get("mean_rank_by_shown_position")
    if listwise:
        plots["listwise"] = report_plots.interval_chart(
            [{"label": f"shown #{row['position']}", "value": row["mean"], "ci_low": None, "ci_high": None}
             for row in listwise],
            title="Mean rank by shown position (1 = best)", low=1.0, high=float(len(listwise)),
            reference=listwise[0]["expected"], bars=True)
    leaderboard = report["bradley_terry"]
    if leaderboard:
        style = report.get("style_control", {}).get("bradley_terry", [])
        ends = [value for row in [*leaderboard, *style] for value in (row["score"], row["ci_low"], row["ci_high"])
                if value is not None]
        bounds = {"low": float(int(min(ends) - 20) // 50 * 50), "high": float(int(max(ends) + 70) // 50 * 50),
                  "reference": 1000.0, "digits": 0}  # one scale for both boards, so they compare at a glance
        for key, rows, title in (("leaderboard", leaderboard, "Bradley-Terry scores with 95% intervals"),
                                 ("style_leaderboard", style, "Style-controlled scores with 95% intervals")):
            if rows:
                plots[key] = report_plots.interval_chart(
                    [{"label": row["model"], "value": row["score"], "ci_low": row["ci_low"],
                      "ci_high": row["ci_high"]} for row in rows], title=title, **bounds)
        rates = report["win_rates"]
        plots["win_rates"] = report_plots.heat_map(
            rates["win_rate"], rows=rates["models"], columns=rates["models"], title="Win rate of row over column",
            row_title="model", column_title="against", scale_max=1.0, digits=2)
    return plots


def _group_views(groups: dict) -> list[dict]:
    """Per profile attribute with a group shown: its charts (agreement, within vs between, alignment with the
    majority), blocks and per-group leaderboards, for the groups partial."""
    views = []
    for key, attribute in groups["attributes"].items():
        blocks = [(name, block) for name, block in attribute["agreement"].items() if block["groups"]]
        if not blocks and not attribute["leaderboard"]:
            continue
        alphas, shares, aligned = [], [], []
        # The charts show each protocol and, of the attributes, helpfulness (their overall score); the table has all.
        charted = [(name.removeprefix("attributes."), block) for name, block in blocks
                   if not name.startswith("attributes.") or name == "attributes.helpfulness"]
        for name, block in charted:
            alphas.append(_row(f"{name}: everyone ({block['everyone']['annotators']})",
                               block["everyone"]["krippendorff_alpha"]))
            alphas += [_row(f"{name}: {group} ({row['annotators']})", row["krippendorff_alpha"])
                       for group, row in block["groups"].items()]
            shares += [_row(f"{name}: {side}", block[side]) for side in ("within", "between")]
            aligned += [_row(f"{name}: {group}", row) for group, row in block["alignment"].items()]
        label = attribute["label"]
        plots = [] if not blocks else [
            report_plots.interval_chart(alphas, title=f"Krippendorff's alpha by {label}", low=-1.0, high=1.0,
                                        reference=0.0, bars=True),
            report_plots.interval_chart(shares, title=f"Agreeing pairs within and between groups of {label}",
                                        low=0.0, high=1.0, bars=True),
            report_plots.interval_chart(aligned, title=f"Correlation with the majority label, by {label}", low=-1.0,
                                        high=1.0, reference=0.0, bars=True)]
        models = sorted({row["model"] for board in attribute["leaderboard"].values() for row in board["bradley_terry"]})
        scores = {group: {row["model"]: row for row in board["bradley_terry"]}
                  for group, board in attribute["leaderboard"].items()}
        views.append({"key": key, "label": label, "blocks": blocks, "plots": plots,
                      "board_groups": list(attribute["leaderboard"]),
                      "board": [(model, [scores[group].get(model) for group in scores]) for model in models]})
    return views


def _property_plot(profile: dict | None):
    """The coefficients of people and of each AI judge side by side, property by property."""
    if not profile:
        return None
    fits = {judge: fit for judge, fit in profile["fits"].items() if fit["comparisons"]}
    defined = [name for name in profile["properties"]
               if any(fit["coefficients"][name]["value"] is not None for fit in fits.values())]
    rows = [_row(f"{name} · {judge}", fit["coefficients"][name]) for name in defined for judge, fit in fits.items()]
    ends = [abs(value) for row in rows for value in (row["value"], row["ci_low"], row["ci_high"]) if value is not None]
    if not ends:
        return None
    bound = float(math.ceil(max(ends)))
    return report_plots.interval_chart(rows, title="Log-odds of winning per unit of each property (95% intervals)",
                                       low=-bound, high=bound, reference=0.0)


@login_required
def campaign_report_page(request, campaign_id: int):
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    campaign_check_manager(campaign=campaign, user=request.user)
    ratings = RATINGS_EACH if request.GET.get("ratings") == RATINGS_EACH else RATINGS_MEAN
    style_control = request.GET.get("style_control") == "1"
    properties = request.GET.get("properties") == "1"
    report = campaign_report(campaign=campaign, ratings=ratings, style_control=style_control, properties=properties,
                             annotators=annotators_chosen(request.GET.get("annotators")))
    blocks = _agreement_blocks(report["agreement"])
    notes = [(name, note) for name, block in blocks if (note := _agreement_note(campaign, block))]
    return render(request, "annotate/report.html", {
        "campaign": campaign, "report": report, "agreement_blocks": blocks,
        "plots": {**_plots(report, blocks), **human_vs_ai_plots(report["human_vs_ai"])},
        "agreement_notes": notes, "leaderboard_warning": _leaderboard_warning(report["bradley_terry"]),
        "pair_summaries": [(f"{name}{label}", _pair_summary(block[key])) for name, block in blocks
                           for key, label in (("cohen_kappa", ""), ("cohen_quadratic_kappa", ", quadratic-weighted"))
                           if block.get(key)],
        "ratings": ratings, "style_control": style_control, "group_views": _group_views(report["groups"]),
        "properties": properties, "property_plot": _property_plot(report.get("properties")),
    })
