"""The campaign report: every measure of a campaign's judgments as one JSON-ready dict.

The command line (`manage.py report`), the API and the report page all call `campaign_report`, so they show the
same numbers; the bootstrap seed is fixed for the same reason. Estimates are {value, n, ci_low, ci_high} with
a 95% interval from the item bootstrap (position bias and gold use exact binomial intervals instead).
"""

from collections.abc import Iterable

import numpy as np
from django.conf import settings

from annotate.models import Campaign
from annotate.protocols import (
    ATTRIBUTE_NAMES,
    ATTRIBUTE_RANGE,
    CHOICES,
    GOLD_MIN_JUDGMENTS,
    GOLD_THRESHOLD,
    PROTOCOLS,
    RATING_RANGE,
    SAFETY,
    Protocol,
    design_for,
)
from annotate.report.metrics import (
    agreement,
    annotators,
    consistency,
    groups,
    leaderboard,
    position,
    style,
)
from annotate.report.metrics import properties as property_profile
from annotate.report.metrics.agreement import NOMINAL, ORDINAL, Codes
from annotate.report.metrics.bootstrap import ROUNDS, SEED, ItemResampler, estimate, percentile_interval, rounded
from annotate.report.metrics.data import (
    ARMS,
    EVERYONE,
    PEOPLE,
    Answers,
    CampaignData,
    annotator_profiles,
    annotators_only,
    campaign_data,
    exchange_data,
)
from annotate.report.metrics.gold import gold_summary, gold_summary_of
from annotate.report.metrics.human_vs_ai import human_vs_ai

RATINGS_MEAN, RATINGS_EACH = "mean", "each"
QUADRATIC = "quadratic"  # the weighting of the per-pair weighted kappa
PAIRWISE, RANKING, RATING, ATTRIBUTES = range(len(PROTOCOLS))  # indices into PROTOCOLS


def campaign_report(*, campaign: Campaign, ratings: str = RATINGS_MEAN, gold_threshold: float = GOLD_THRESHOLD,
                    min_shared_units: int = agreement.MIN_SHARED_UNITS, rounds: int = ROUNDS,
                    style_control: bool = False, properties: bool = False, min_group_size: int | None = None,
                    annotators: str = PEOPLE) -> dict:
    """`ratings`: "mean" compares each comparison with the ratings of its two responses averaged over annotators;
    "each" with every annotator's own ratings of both, one comparison per such annotator. `style_control` adds
    the style-controlled leaderboard, `properties` the property profile. `min_group_size` (default: the
    CONCORD_REPORT_MIN_GROUP_SIZE setting) is the fewest annotators a profile group may have to be shown.
    `annotators`: whose judgments the report is of (people, or one AI judge); the human-vs-AI section always sets
    everyone's side by side."""
    _check_ratings(ratings)
    data = campaign_data(campaign=campaign, style=style_control, properties=properties, annotators=EVERYONE)
    return data_report(
        data, about={"id": campaign.pk, "name": campaign.name, "design": campaign.design},
        gold=gold_summary(campaign=campaign, threshold=gold_threshold, min_judgments=GOLD_MIN_JUDGMENTS,
                          annotators=annotators),
        ratings=ratings, min_shared_units=min_shared_units, rounds=rounds, style_control=style_control,
        properties=properties, profiles=annotator_profiles(campaign=campaign, data=data),
        min_group_size=settings.REPORT_MIN_GROUP_SIZE if min_group_size is None else min_group_size,
        annotators=annotators, routing={"mode": campaign.routing, "threshold": campaign.routing_threshold})


def file_report(*, judgments: Iterable, name: str, ratings: str = RATINGS_MEAN, gold_threshold: float = GOLD_THRESHOLD,
                min_shared_units: int = agreement.MIN_SHARED_UNITS, rounds: int = ROUNDS,
                style_control: bool = False, properties: bool = False, annotators: str = PEOPLE) -> dict:
    """The same report of an exchange file's checked judgments (`exchange.judgments_read`), kept nowhere. The
    format carries no gold answers, skips, arms or times on task, so those sections stay empty."""
    _check_ratings(ratings)
    data = exchange_data(judgments=judgments, style=style_control, properties=properties, annotators=EVERYONE)
    protocols = {PROTOCOLS[index] for index in np.unique(data.protocol)}
    return data_report(
        data, about={"id": None, "name": name, "design": design_for(protocols) or "mixed"},
        gold=gold_summary_of({}, items=0, threshold=gold_threshold, min_judgments=GOLD_MIN_JUDGMENTS),
        ratings=ratings, min_shared_units=min_shared_units, rounds=rounds, style_control=style_control,
        properties=properties, min_group_size=settings.REPORT_MIN_GROUP_SIZE, annotators=annotators)


def _check_ratings(ratings: str) -> None:
    if ratings not in (RATINGS_MEAN, RATINGS_EACH):
        raise ValueError(f"ratings must be {RATINGS_MEAN!r} or {RATINGS_EACH!r}, got {ratings!r}")


def data_report(everyone: CampaignData, *, about: dict, gold: dict, ratings: str, min_shared_units: int, rounds: int,
                style_control: bool, min_group_size: int, properties: bool = False, profiles: tuple | None = None,
                annotators: str = PEOPLE, routing: dict | None = None) -> dict:
    """The report of `annotators`' judgments out of everyone's, with the human-vs-AI section (and the property
    profile, people and each judge) beside it. `profiles`: `annotator_profiles` of everyone in a campaign (an
    exchange file has none: the groups section stays empty)."""
    data = annotators_only(everyone, annotators)
    if profiles is not None:
        by_name = dict(zip(everyone.annotators, profiles[1], strict=True))
        profiles = (profiles[0], [by_name[name] for name in data.annotators])
    resampler = ItemResampler(data.item_count, rounds=rounds)
    blocks = _agreement_codes(data)
    battles = _battles(data)
    scores, win_rates = _leaderboard(data, battles, resampler)
    report = {
        "campaign": about,
        "items": data.item_count,
        "judgments": data.judgment_count,
        "judgments_by_protocol": {protocol: int(np.count_nonzero(data.protocol == index))
                                  for index, protocol in enumerate(PROTOCOLS)},
        "agreement": _agreement(data, blocks, resampler, min_shared_units),
        "rating_vs_ranking": _rating_vs_ranking(data, resampler, ratings),
        "position_bias": _position_bias(data),
        "gold": gold,
        "annotators": _annotators(data, blocks, battles),
        "bradley_terry": scores,
        "win_rates": win_rates,
        "groups": _groups(data, blocks, battles, resampler, profiles, min_group_size),
        "human_vs_ai": human_vs_ai(everyone, resampler, min_shared_units=min_shared_units, routing=routing),
        "settings": {"bootstrap_rounds": rounds, "seed": SEED, "ratings": ratings,
                     "gold_threshold": gold["threshold"], "min_shared_units": min_shared_units,
                     "style_control": style_control, "properties": properties, "min_group_size": min_group_size,
                     "annotators": annotators},
    }
    if style_control:
        report["style_control"] = _style_leaderboard(data, battles, resampler)
    if properties:
        report["properties"] = _property_profile(everyone, resampler)
    return report


# --- shared shapes ----------------------------------------------------------------------------------------------

def _per_judgment(data: CampaignData, answers: Answers, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The judgments an answer table covers, and their values as a (judgments, slots) matrix, NaN where empty."""
    judgments, row = np.unique(answers.judgment, return_inverse=True)
    matrix = np.full((len(judgments), data.slot_candidate.shape[1]), np.nan)
    matrix[row, answers.slot] = value
    return judgments, matrix


def _slot_pairs(matrix: np.ndarray):
    """Every pair of slots s < t that both hold a value: (row, s, t, value at s, value at t)."""
    first, second = np.triu_indices(matrix.shape[1], k=1)
    row, pair = np.nonzero(~np.isnan(matrix[:, first]) & ~np.isnan(matrix[:, second]))
    return row, first[pair], second[pair], matrix[row, first[pair]], matrix[row, second[pair]]


def _unit_codes(data: CampaignData, answers: Answers, value: np.ndarray, n_values: int) -> Codes:
    """Codes whose units are the responses of items: (item, slot)."""
    width = data.slot_candidate.shape[1]
    keys, unit = np.unique(data.item[answers.judgment] * width + answers.slot, return_inverse=True)
    return Codes(unit=unit, rater=data.annotator[answers.judgment], value=value, unit_item=keys // width,
                 n_values=n_values)


# --- agreement --------------------------------------------------------------------------------------------------

def _agreement_codes(data: CampaignData) -> dict[str, tuple[Codes, str]]:
    """The reliability data of each protocol (of each attribute), with its level of measurement."""
    blocks = {}
    pairwise = np.flatnonzero((data.protocol == PAIRWISE) & (data.choice >= 0))
    if len(pairwise):
        items, unit = np.unique(data.item[pairwise], return_inverse=True)
        blocks[Protocol.PAIRWISE] = (Codes(unit=unit, rater=data.annotator[pairwise], value=data.choice[pairwise],
                                           unit_item=items, n_values=len(CHOICES)), NOMINAL)
    if len(data.rankings.judgment):
        blocks[Protocol.RANKING] = (_unit_codes(data, data.rankings, data.rankings.value,
                                                data.slot_candidate.shape[1]), ORDINAL)
    if len(data.ratings.judgment):
        low, high = RATING_RANGE
        blocks[Protocol.RATING] = (_unit_codes(data, data.ratings, data.ratings.value - low, high - low + 1), ORDINAL)
    if len(data.attributes.judgment):
        for index, name in enumerate(ATTRIBUTE_NAMES):
            low, high = (0, 1) if name == SAFETY else ATTRIBUTE_RANGE
            blocks[f"{Protocol.ATTRIBUTES}.{name}"] = (
                _unit_codes(data, data.attributes, data.attributes.value[:, index] - low, high - low + 1),
                NOMINAL if name == SAFETY else ORDINAL)
    return blocks


def _pair_estimates(data: CampaignData, batches, resampler: ItemResampler, n_values: int,
                    weightings: tuple[str, ...]) -> dict[str, dict[str, dict]]:
    """weighting -> "annotatorA|annotatorB" (names in alphabetical order) -> estimate, for every pair of the
    batches. Each batch's confusion sums are resampled once, whatever the weightings."""
    found = {weighting: {} for weighting in weightings}
    for pairs, shared, statistic in batches:
        sums, round_sums = statistic.sums(), resampler.sums(statistic)
        for weighting in weightings:
            combine = agreement.pair_kappas(len(pairs), n_values, weighting)
            with np.errstate(divide="ignore", invalid="ignore"):
                values, low_high = combine(sums), percentile_interval(combine(round_sums))
            for index, pair in enumerate(pairs):
                key = "|".join(sorted(data.annotators[rater] for rater in pair))
                found[weighting][key] = estimate(values[index], shared[index], low_high[0][index],
                                                 low_high[1][index])
    return {weighting: dict(sorted(pairs.items())) for weighting, pairs in found.items()}


def _aggregate_agreement(codes: Codes, level: str, resampler: ItemResampler) -> dict:
    """The measures of a block that name nobody (no per-pair kappas)."""
    alpha, alpha_value = agreement.krippendorff_alpha(codes, level)
    block = {
        "level": level,
        "units": alpha.n,
        "percent_agreement": resampler.estimate(agreement.percent_agreement(codes)),
        "fleiss_kappa": resampler.estimate(agreement.fleiss_kappa(codes)),
        "krippendorff_alpha": resampler.estimate(alpha, value=alpha_value),
    }
    if level == ORDINAL:
        block["quadratic_kappa"] = resampler.estimate(agreement.pooled_weighted_kappa(codes))
    return block


def _agreement_block(data: CampaignData, codes: Codes, level: str, resampler: ItemResampler,
                     min_shared_units: int) -> dict:
    block = _aggregate_agreement(codes, level, resampler)
    weightings = (NOMINAL, QUADRATIC) if level == ORDINAL else (NOMINAL,)
    pairs = _pair_estimates(data, agreement.cohen_kappas(codes, min_units=min_shared_units), resampler,
                            codes.n_values, weightings)
    block["cohen_kappa"] = pairs[NOMINAL]
    if level == ORDINAL:
        block["cohen_quadratic_kappa"] = pairs[QUADRATIC]
    return block


def _ranking_correlations(data: CampaignData, resampler: ItemResampler) -> dict:
    """Kendall's tau-b and Spearman's rho between every two rankings of the same item, averaged."""
    judgments, groups = _per_judgment(data, data.rankings, data.rankings.value)
    items = data.item[judgments]
    sizes = (~np.isnan(groups)).sum(axis=1)
    tau_parts, rho_parts, item_parts = [], [], []
    for size in np.unique(sizes):
        rows = np.flatnonzero(sizes == size)
        # rater_pairs pairs the rows (judgments) of each item: the row index stands in for the rater
        codes = Codes(unit=items[rows], rater=np.arange(len(rows)), value=np.zeros(len(rows), np.int64),
                      unit_item=np.arange(data.item_count), n_values=1)
        item, first, second, _, _ = agreement.rater_pairs(codes)
        ranked = groups[rows][:, :size]
        tau, rho = agreement.rank_correlations(ranked[first], ranked[second])
        tau_parts.append(tau)
        rho_parts.append(rho)
        item_parts.append(item)
    item = np.concatenate(item_parts)
    return {"kendall_tau": resampler.estimate(agreement.mean_statistic(item, np.concatenate(tau_parts))),
            "spearman": resampler.estimate(agreement.mean_statistic(item, np.concatenate(rho_parts)))}


def _agreement(data: CampaignData, blocks: dict, resampler: ItemResampler, min_shared_units: int) -> dict:
    result = {}
    for name, (codes, level) in blocks.items():
        block = _agreement_block(data, codes, level, resampler, min_shared_units)
        protocol, _, attribute = name.partition(".")
        if attribute:
            result.setdefault(protocol, {})[attribute] = block
        else:
            result[protocol] = block
    if Protocol.RANKING in result:
        result[Protocol.RANKING].update(_ranking_correlations(data, resampler))
    return result


# --- rating vs ranking ------------------------------------------------------------------------------------------

def _comparisons(data: CampaignData) -> dict[str, np.ndarray]:
    """Pairs of responses that a pairwise or ranking judgment ordered: judgment, both candidate pks, label."""
    pairwise = np.flatnonzero((data.protocol == PAIRWISE) & (data.choice >= 0))
    judgments, groups = _per_judgment(data, data.rankings, data.rankings.value)
    row, first, second, first_group, second_group = _slot_pairs(groups)
    judgment = np.concatenate([pairwise, judgments[row]])
    item = data.item[judgment]
    first = np.concatenate([np.zeros(len(pairwise), np.int64), first])
    second = np.concatenate([np.ones(len(pairwise), np.int64), second])
    # a better group has a lower index, so "a" wins when its group is lower: compare negated groups
    label = np.concatenate([data.choice[pairwise], consistency.label_from_scores(-first_group, -second_group)])
    return {"judgment": judgment, "first": data.slot_candidate[item, first],
            "second": data.slot_candidate[item, second], "label": label, "first_slot": first, "second_slot": second}


def _ratings_by_candidate(data: CampaignData) -> tuple[np.ndarray, np.ndarray]:
    """Mean rating per (candidate, rater), keyed candidate * raters + rater (sorted)."""
    ratings = data.ratings
    candidate = data.slot_candidate[data.item[ratings.judgment], ratings.slot]
    rater = data.annotator[ratings.judgment]
    raters = len(data.annotators)
    keys, index = np.unique(candidate * raters + rater, return_inverse=True)
    means = np.bincount(index, weights=ratings.value) / np.bincount(index)
    return keys, means


def _rated_comparisons(data: CampaignData, comparisons: dict, how: str) -> dict[str, np.ndarray]:
    """Comparisons whose two responses have ratings, with the label the ratings imply and who rated (-1: the
    mean of all raters)."""
    keys, means = _ratings_by_candidate(data)
    raters = len(data.annotators)
    first, second = comparisons["first"], comparisons["second"]
    if how == RATINGS_MEAN:
        candidates, index = np.unique(keys // raters, return_inverse=True)
        mean = np.bincount(index, weights=means) / np.bincount(index)  # over raters: each rater counts once
        first_at, first_rated = _lookup(candidates, first)
        second_at, second_rated = _lookup(candidates, second)
        chosen = np.flatnonzero(first_rated & second_rated)
        first_score, second_score = mean[first_at[chosen]], mean[second_at[chosen]]
        rater = np.full(len(chosen), -1)
    else:
        # one comparison per rater who rated both responses: expand over the raters of the first response
        start = np.searchsorted(keys, first * raters)
        count = np.searchsorted(keys, (first + 1) * raters) - start
        chosen = np.repeat(np.arange(len(first)), count)
        first_key = np.repeat(start, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        rater = keys[first_key] % raters
        second_at, both = _lookup(keys, second[chosen] * raters + rater)
        chosen, rater, first_key, second_at = chosen[both], rater[both], first_key[both], second_at[both]
        first_score, second_score = means[first_key], means[second_at]
    judgment = comparisons["judgment"][chosen]
    return {"item": data.item[judgment], "annotator": data.annotator[judgment], "rater": rater,
            "ranking_label": comparisons["label"][chosen],
            "rating_label": consistency.label_from_scores(first_score, second_score)}


def _lookup(sorted_keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each wanted key sits in sorted_keys, and whether it is there at all."""
    at = np.searchsorted(sorted_keys, wanted)
    found = at < len(sorted_keys)
    found[found] = sorted_keys[at[found]] == wanted[found]
    return np.where(found, at, 0), found


def _consistency_summary(rated: dict, keep: np.ndarray, resampler: ItemResampler) -> dict:
    ranking_label, rating_label = rated["ranking_label"][keep], rated["rating_label"][keep]
    return {
        "pairs": int(keep.sum()),
        "consistency": resampler.estimate(consistency.consistency(rated["item"][keep], ranking_label, rating_label)),
        "confusion": consistency.confusion(ranking_label, rating_label).tolist(),
        "tie_driven_share": rounded(consistency.tie_driven_share(ranking_label, rating_label)),
    }


def _rating_vs_ranking(data: CampaignData, resampler: ItemResampler, how: str) -> dict:
    rated = _rated_comparisons(data, _comparisons(data), how)
    everything = np.ones(len(rated["item"]), dtype=bool)
    arm = data.annotator_arm[rated["annotator"]]
    result = {
        "ratings": how,
        "labels": list(consistency.LABELS),
        "confusion_axes": "rows: the ranking's label; columns: the label the ratings imply",
        **_consistency_summary(rated, everything, resampler),
        "per_arm": {ARMS[index] or "none": _consistency_summary(rated, arm == index, resampler)
                    for index in np.unique(arm)},
        "per_annotator": {data.annotators[index]: _consistency_summary(rated, rated["annotator"] == index, resampler)
                          for index in np.unique(rated["annotator"])},
    }
    if how == RATINGS_EACH:
        result["per_rater"] = {data.annotators[index]: _consistency_summary(rated, rated["rater"] == index, resampler)
                               for index in np.unique(rated["rater"])}
    for group in ("per_annotator", "per_rater"):
        if group in result:
            result[group] = dict(sorted(result[group].items()))
    return result


# --- position bias ----------------------------------------------------------------------------------------------

def _position_bias(data: CampaignData) -> dict:
    result = {}
    pairwise = (data.protocol == PAIRWISE) & (data.choice >= 0) & (data.first_shown >= 0)
    if pairwise.any():
        decided = pairwise & (data.choice != CHOICES.index("tie"))
        chose_first = data.choice == data.first_shown  # choice "a" is slot 0, "b" slot 1
        per_annotator = {data.annotators[index]: position.first_shown_share(chose_first[decided & (
            data.annotator == index)]) for index in np.unique(data.annotator[decided])}
        result[Protocol.PAIRWISE] = {
            "overall": position.first_shown_share(chose_first[decided]),
            "tie_share": rounded(np.count_nonzero(pairwise & ~decided) / np.count_nonzero(pairwise)),
            "per_annotator": dict(sorted(per_annotator.items())),
        }
    if len(data.rankings.judgment):
        judgments, groups = _per_judgment(data, data.rankings, data.rankings.value)
        _, shown = _per_judgment(data, data.rankings, data.rankings.shown)
        ranks = np.full(groups.shape, np.nan)
        sizes = (~np.isnan(groups)).sum(axis=1)
        for size in np.unique(sizes):
            rows = np.flatnonzero(sizes == size)
            ranks[rows, :size] = agreement.average_ranks(groups[rows][:, :size])
        known = ~np.isnan(shown) & (shown >= 0)
        expected = np.broadcast_to(((sizes + 1) / 2)[:, None], ranks.shape)
        result[Protocol.RANKING] = {"mean_rank_by_shown_position": position.mean_by_shown_position(
            shown[known].astype(np.int64), ranks[known], expected[known])}
    if len(data.ratings.judgment):
        ratings = data.ratings
        known = ratings.shown >= 0
        grand_mean = np.full(known.sum(), ratings.value[known].mean() if known.any() else np.nan)
        result[Protocol.RATING] = {"mean_rating_by_shown_position": position.mean_by_shown_position(
            ratings.shown[known], ratings.value[known].astype(np.float64), grand_mean)}
    return result


# --- battles: leaderboard and outlier test ----------------------------------------------------------------------

def _battles(data: CampaignData) -> dict[str, np.ndarray]:
    """Every comparison of two responses by different known models: judgment, both models, score of the first
    (1 won, 0.5 tie, 0 lost), in judging order."""
    parts = []
    pairwise = np.flatnonzero((data.protocol == PAIRWISE) & (data.choice >= 0))
    parts.append((pairwise, np.zeros(len(pairwise), np.int64), np.ones(len(pairwise), np.int64),
                  np.array([1.0, 0.0, 0.5])[data.choice[pairwise]]))
    helpfulness = data.attributes.value[:, ATTRIBUTE_NAMES.index("helpfulness")]
    # lower group = better, so rankings are compared on negated groups
    for answers, value in ((data.rankings, -data.rankings.value), (data.ratings, data.ratings.value),
                           (data.attributes, helpfulness)):
        judgments, matrix = _per_judgment(data, answers, value)
        row, first, second, first_value, second_value = _slot_pairs(matrix)
        parts.append((judgments[row], first, second, (np.sign(first_value - second_value) + 1) / 2))
    judgment, first, second, score = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.argsort(judgment, kind="stable")  # judgments are numbered in the order they were made
    judgment, first, second, score = judgment[order], first[order], second[order], score[order]
    item = data.item[judgment]
    first_model, second_model = data.slot_model[item, first], data.slot_model[item, second]
    keep = (first_model >= 0) & (second_model >= 0) & (first_model != second_model)
    return {"judgment": judgment[keep], "item": item[keep], "first": first_model[keep],
            "second": second_model[keep], "score": score[keep], "first_slot": first[keep], "second_slot": second[keep]}


def _table(data: CampaignData, scores: np.ndarray, low: np.ndarray, high: np.ndarray, games: np.ndarray,
           order: np.ndarray) -> list[dict]:
    return [{"model": data.models[index], "score": rounded(scores[index]), "ci_low": rounded(low[index]),
             "ci_high": rounded(high[index]), "battles": int(games[index])} for index in order]


def _leaderboard(data: CampaignData, battles: dict, resampler: ItemResampler) -> tuple[list[dict], dict]:
    n_models = len(data.models)
    statistic = leaderboard.battles(battles["item"], battles["first"], battles["second"], battles["score"], n_models)
    if not statistic.n:
        return [], {"models": [], "win_rate": [], "games": []}
    scores = statistic.value()
    low, high = resampler.interval(statistic)
    wins, games = leaderboard.battle_matrices(statistic.sums(), n_models)
    played = np.flatnonzero(games.sum(axis=1) > 0)
    order = played[np.argsort(-scores[played], kind="stable")]
    rates = leaderboard.win_rates(wins, games)[np.ix_(order, order)]
    return _table(data, scores, low, high, games.sum(axis=1), order), {
        "models": [data.models[index] for index in order],
        "win_rate": [[rounded(rate) for rate in row] for row in rates],
        "games": games[np.ix_(order, order)].astype(int).tolist()}


def _style_leaderboard(data: CampaignData, battles: dict, resampler: ItemResampler) -> dict:
    """Bradley-Terry with style covariates, with the bootstrap's intervals for the scores and the coefficients."""
    if not len(battles["item"]):
        return {"bradley_terry": [], "coefficients": {}}
    item = battles["item"]
    features = style.style_features(data.slot_style[item, battles["first_slot"]],
                                    data.slot_style[item, battles["second_slot"]])
    n_models = len(data.models)
    fitted = style.style_controlled(battles["first"], battles["second"], battles["score"], features, n_models,
                                    item=item, item_weights=resampler.weights)
    scores = fitted["scores"]
    low, high = percentile_interval(fitted["round_scores"])
    coefficient_low, coefficient_high = percentile_interval(fitted["round_coefficients"])
    games = np.bincount(np.concatenate([battles["first"], battles["second"]]), minlength=n_models)
    played = np.flatnonzero(games > 0)
    order = played[np.argsort(-scores[played], kind="stable")]
    return {
        "bradley_terry": _table(data, scores, low, high, games, order),
        "coefficients": {name: estimate(fitted["coefficients"][index], len(item), coefficient_low[index],
                                        coefficient_high[index]) for index, name in enumerate(style.FEATURES)},
    }


# --- property profile -------------------------------------------------------------------------------------------


def _property_profile(data: CampaignData, resampler: ItemResampler) -> dict:
    """The property regression of people's decided comparisons, and of each AI judge's, side by side."""
    comparisons = _comparisons(data)
    decided = comparisons["label"] != consistency.TIE
    item = data.item[comparisons["judgment"]]
    features = property_profile.property_differences(data.slot_properties[item, comparisons["first_slot"]],
                                               data.slot_properties[item, comparisons["second_slot"]])
    annotator = data.annotator[comparisons["judgment"]]
    ai = data.annotator_ai
    judges = {PEOPLE: ~ai[annotator], **{data.annotators[index]: annotator == index for index in np.flatnonzero(ai)}}
    filled = data.slot_properties[data.slot_candidate >= 0]
    names = property_profile.PROPERTIES
    result = {"properties": list(names), "units": property_profile.UNITS,
              "response_means": {name: rounded(filled[:, index].mean()) if len(filled) else None
                                 for index, name in enumerate(names)},
              "fits": {}}
    for judge, rows in judges.items():
        keep = rows & decided
        fit = {"comparisons": int(np.count_nonzero(keep)), "ties_left_out": int(np.count_nonzero(rows & ~decided))}
        if fit["comparisons"]:
            fitted = property_profile.property_regression(
                features[keep], comparisons["label"][keep] == consistency.A, item=item[keep],
                item_weights=resampler.weights)
            low, high = percentile_interval(fitted["round_coefficients"])
            varies = np.concatenate([[True], (features[keep] != 0).any(axis=0)])  # a constant input tells nothing
            values = [estimate(value, fit["comparisons"], low[index], high[index]) if varies[index]
                      else estimate(None, fit["comparisons"]) for index, value in enumerate(fitted["coefficients"])]
            fit["intercept"] = values[0]
            fit["coefficients"] = dict(zip(names, values[1:], strict=True))
        result["fits"][judge] = fit
    return result


# --- groups: whose preferences ---------------------------------------------------------------------------------

PAIRWISE_SCALE = np.array([1.0, 0.0, 0.5])  # a, b, tie: how much the first response was preferred


def _codes_rows(codes: Codes, keep: np.ndarray) -> Codes:
    return Codes(unit=codes.unit[keep], rater=codes.rater[keep], value=codes.value[keep], unit_item=codes.unit_item,
                 n_values=codes.n_values)


def _partition(raters: np.ndarray, value_of: list, n_raters: int, min_size: int) -> tuple[list[str], np.ndarray]:
    """The groups shown among these contributing raters, and every rater's group (-1: none shown, or not one of
    them)."""
    names, group_of = groups.partition([value_of[rater] for rater in raters], min_size)
    rater_group = np.full(n_raters, -1, dtype=np.int64)
    rater_group[raters] = group_of
    return names, rater_group


def _group_agreement(name: str, codes: Codes, level: str, everyone: dict, value_of: list, n_raters: int,
                     resampler: ItemResampler, min_size: int) -> dict:
    """`codes`: people's only; `everyone`: their aggregate agreement, the same for every attribute."""
    raters = np.unique(codes.rater)
    names, rater_group = _partition(raters, value_of, n_raters, min_size)
    result = {"everyone": everyone, "groups": {}}
    if not names:
        return result
    row_group = rater_group[codes.rater]
    for index, group in enumerate(names):
        result["groups"][group] = {"annotators": int(np.count_nonzero(rater_group == index)),
                                   **_aggregate_agreement(_codes_rows(codes, row_group == index), level, resampler)}
    size = len(names)
    shares = groups.within_between(codes, row_group, size)
    values, (low, high) = shares.value(), resampler.interval(shares)
    pairs = shares.sums()[size * size:].reshape(size, size)  # each pair counted in both orders
    diagonal = np.eye(size, dtype=bool)

    def cell(index: int, n: float) -> dict:
        return estimate(values[index], n, low[index], high[index])

    cells = size * size
    result.update({
        "within": cell(cells, pairs[diagonal].sum() / 2), "between": cell(cells + 1, pairs[~diagonal].sum() / 2),
        "gap": cell(cells + 2, pairs.sum() / 2),
        "matrix": {"groups": names, "agreement": [[cell(g * size + h, pairs[g, h] / (1 if g != h else 2))
                                                   for h in range(size)] for g in range(size)]},
    })
    scale = PAIRWISE_SCALE if name == Protocol.PAIRWISE else np.arange(codes.n_values, dtype=np.float64)
    aligned = groups.alignment(codes, scale, row_group, size)
    r, (r_low, r_high) = aligned.value(), resampler.interval(aligned)
    units = groups.alignment_units(aligned, size)
    result["alignment"] = {group: {**estimate(r[index], units[index], r_low[index], r_high[index]),
                                   "p_value": rounded(groups.correlation_p_value(r[index], units[index]))}
                           for index, group in enumerate(names)}
    defined = [(row["value"], group) for group, row in result["alignment"].items() if row["value"] is not None]
    result["most_aligned"] = max(defined)[1] if defined else None
    return result


def _group_leaderboard(data: CampaignData, battles: dict, value_of: list, human: np.ndarray,
                       resampler: ItemResampler, min_size: int) -> dict:
    annotator = data.annotator[battles["judgment"]]
    raters = np.unique(annotator[human[annotator]])
    names, rater_group = _partition(raters, value_of, len(human), min_size)
    result = {}
    for index, group in enumerate(names):
        keep = rater_group[annotator] == index
        table, _ = _leaderboard(data, {key: column[keep] for key, column in battles.items()}, resampler)
        result[group] = {"annotators": int(np.count_nonzero(rater_group == index)), "bradley_terry": table}
    return result


def _groups(data: CampaignData, blocks: dict, battles: dict, resampler: ItemResampler, profiles: tuple | None,
            min_size: int) -> dict:
    """Per profile attribute: agreement of each group, within vs between groups and alignment with the majority
    (per protocol), and each group's leaderboard. People only: AI judges are left out. A group is formed anew for
    each figure from the people who contributed to it, so that none of them is shown with fewer than `min_size`."""
    human = ~data.annotator_ai
    judged = np.bincount(data.annotator, minlength=len(human)) > 0
    result = {"min_group_size": min_size, "annotators": int(np.count_nonzero(human & judged)), "with_profile": 0,
              "attributes": {}}
    if profiles is None:
        return result
    labels, values = profiles
    result["with_profile"] = sum(1 for index in np.flatnonzero(human & judged) if values[index])
    if not result["with_profile"]:  # as an exchange file's report, which carries no profiles
        return result
    people = {}
    for name, (codes, level) in blocks.items():
        codes = _codes_rows(codes, human[codes.rater])
        people[name] = (codes, level, {"annotators": len(np.unique(codes.rater)),
                                       **_aggregate_agreement(codes, level, resampler)})
    for key, label in labels.items():
        value_of = [row.get(key) for row in values]
        result["attributes"][key] = {
            "label": label,
            "agreement": {name: _group_agreement(name, codes, level, everyone, value_of, len(human), resampler,
                                                 min_size) for name, (codes, level, everyone) in people.items()},
            "leaderboard": _group_leaderboard(data, battles, value_of, human, resampler, min_size),
        }
    return result


# --- annotators -------------------------------------------------------------------------------------------------

def _annotators(data: CampaignData, blocks: dict, battles: dict) -> dict:
    raters = len(data.annotators)
    judged = np.bincount(data.annotator, minlength=raters)
    agree_sum, agree_n = np.zeros(raters), np.zeros(raters)
    for name, (codes, _) in blocks.items():
        if name.startswith(Protocol.ATTRIBUTES) and not name.endswith(".helpfulness"):
            continue  # attributes count through helpfulness, their overall score
        agrees = annotators.majority_agreement(codes.unit, codes.value, codes.n_units, codes.n_values)
        defined = ~np.isnan(agrees)
        agree_sum += np.bincount(codes.rater[defined], weights=agrees[defined], minlength=raters)
        agree_n += np.bincount(codes.rater[defined], minlength=raters)
    decided = battles["score"] != 0.5
    low_model = np.minimum(battles["first"], battles["second"])[decided]
    vote = np.where(battles["first"] < battles["second"], battles["score"], 1 - battles["score"])[decided]
    flagged, tested, evidence = annotators.sequential_outliers(
        data.annotator[battles["judgment"][decided]], low_model * len(data.models)
        + np.maximum(battles["first"], battles["second"])[decided], vote, raters)
    result = {}
    for index, name in enumerate(data.annotators):
        times = data.time_ms[(data.annotator == index) & ~np.isnan(data.time_ms)]
        finished = judged[index] + data.skipped[index]
        result[name] = {
            "judgments": int(judged[index]),
            "skipped": int(data.skipped[index]),
            "skip_rate": rounded(data.skipped[index] / finished) if finished else None,
            "median_time_on_task_ms": rounded(np.median(times), 1) if len(times) else None,
            "arm": ARMS[data.annotator_arm[index]] or None,
            "majority_agreement": estimate(agree_sum[index] / agree_n[index] if agree_n[index] else None,
                                           agree_n[index]),
            "outlier": {"flagged": bool(flagged[index]), "votes_tested": int(tested[index]),
                        "evidence": rounded(evidence[index], 2)},
        }
    return dict(sorted(result.items()))
