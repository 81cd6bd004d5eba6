"""Agreement measures reproduce published values, and do not depend on how raters or units are numbered."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import kendalltau, spearmanr

from annotate.report.metrics import agreement
from annotate.report.metrics.agreement import NOMINAL, ORDINAL, Codes
from annotate.report.metrics.bootstrap import ItemResampler

nan = np.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers, 12 units, values 1-5.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]
# Krippendorff (2011), example A: two observers, binary values, ten units.
KRIPPENDORFF_2011_BINARY = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
# Fleiss (1971): 30 patients, 6 psychiatrists each, 5 diagnoses (as R's irr::diagnoses; kappam.fleiss = 0.4302445).
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]
# Wikipedia's worked example of Fleiss' kappa: how many of 14 raters put each of 10 subjects in each of 5 categories.
FLEISS_WIKIPEDIA_COUNTS = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]
# R's irr::anxiety, raters 2 and 3 (20 subjects, values 1-6); irr's kappa2 gives -0.006289308 unweighted and
# 0.2520325 with squared weights, which irr computes on the levels that occur (1, 2, 3, 4, 6 -> 1..5).
ANXIETY_RATER_2 = [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4]
ANXIETY_RATER_3 = [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]


def codes_from_table(table, *, values: list) -> Codes:
    """Rows are raters, columns units (NaN: no value); each unit is its own item."""
    table = np.asarray(table, dtype=float)
    rater, unit = np.nonzero(~np.isnan(table))
    value = np.searchsorted(values, table[rater, unit])
    return Codes(unit=unit, rater=rater, value=value, unit_item=np.arange(table.shape[1]), n_values=len(values))


def codes_from_counts(counts) -> Codes:
    """A subjects x categories count table, one anonymous rater per count."""
    counts = np.asarray(counts)
    unit, value = np.nonzero(counts)
    unit, value = np.repeat(unit, counts[unit, value]), np.repeat(value, counts[counts > 0])
    rater = np.concatenate([np.arange(n) for n in np.bincount(unit)])
    return Codes(unit=unit, rater=rater, value=value, unit_item=np.arange(len(counts)), n_values=counts.shape[1])


def test_krippendorffs_2011_example_gives_alpha_0_743_nominal_and_0_815_ordinal():
    codes = codes_from_table(KRIPPENDORFF_2011, values=[1, 2, 3, 4, 5])

    nominal, nominal_value = agreement.krippendorff_alpha(codes, NOMINAL)
    ordinal, ordinal_value = agreement.krippendorff_alpha(codes, ORDINAL)

    assert round(nominal_value, 3) == 0.743 and round(ordinal_value, 3) == 0.815
    assert nominal.value() == pytest.approx(nominal_value) and ordinal.value() == pytest.approx(ordinal_value)
    assert nominal.n == 11  # unit 12 has one value only


def test_krippendorffs_binary_example_gives_alpha_0_095():
    statistic, value = agreement.krippendorff_alpha(codes_from_table(KRIPPENDORFF_2011_BINARY, values=[0, 1]),
                                                    NOMINAL)
    assert round(value, 3) == 0.095 and statistic.value() == pytest.approx(value)


def test_fleiss_1971_diagnoses_give_kappa_0_430():
    codes = codes_from_table(np.asarray(FLEISS_1971).T, values=[1, 2, 3, 4, 5])
    assert agreement.fleiss_kappa(codes).value() == pytest.approx(0.4302445, abs=1e-7)


def test_the_wikipedia_fleiss_example_gives_kappa_0_210_and_agreement_0_378():
    codes = codes_from_counts(FLEISS_WIKIPEDIA_COUNTS)
    assert round(agreement.fleiss_kappa(codes).value(), 3) == 0.210
    assert round(agreement.percent_agreement(codes).value(), 3) == 0.378  # P-bar


def test_cohens_kappa_matches_r_irr_on_the_anxiety_ratings():
    unweighted = codes_from_table([ANXIETY_RATER_2, ANXIETY_RATER_3], values=[1, 2, 3, 4, 5, 6])
    occurring = codes_from_table([ANXIETY_RATER_2, ANXIETY_RATER_3], values=[1, 2, 3, 4, 6])

    [(pairs, shared, kappa)] = agreement.cohen_kappas(unweighted, min_units=20)
    [(_, _, squared)] = agreement.cohen_kappas(occurring, weighting="quadratic", min_units=20)

    assert pairs == [(0, 1)] and list(shared) == [20]
    assert kappa.value()[0] == pytest.approx(-0.006289308, abs=1e-9)
    assert squared.value()[0] == pytest.approx(0.2520325, abs=1e-7)


def test_percent_agreement_is_the_mean_share_of_agreeing_rater_pairs():
    # unit 0: a, a, b -> 1 of 3 pairs agree; unit 1: a, a -> 1 of 1; unit 2 has one value and does not count
    codes = Codes(unit=np.array([0, 0, 0, 1, 1, 2]), rater=np.array([0, 1, 2, 0, 1, 0]),
                  value=np.array([0, 0, 1, 0, 0, 1]), unit_item=np.arange(3), n_values=3)
    statistic = agreement.percent_agreement(codes)
    assert statistic.value() == pytest.approx((1 / 3 + 1) / 2) and statistic.n == 2


def test_a_pair_of_raters_needs_enough_common_units_for_cohens_kappa():
    codes = codes_from_table([[1, 2, 1], [1, 2, 2]], values=[1, 2])
    assert agreement.cohen_kappas(codes, min_units=4) == []
    assert len(agreement.cohen_kappas(codes, min_units=3)) == 1


def test_rank_correlations_match_scipys_tau_b_and_spearman_with_ties():
    rng = np.random.default_rng(7)
    first, second = rng.integers(0, 3, size=(50, 5)), rng.integers(0, 3, size=(50, 5))

    tau, rho = agreement.rank_correlations(first, second)

    for row in range(50):
        if len(set(first[row])) > 1 and len(set(second[row])) > 1:
            assert tau[row] == pytest.approx(kendalltau(first[row], second[row]).statistic)
            assert rho[row] == pytest.approx(spearmanr(first[row], second[row]).statistic)
        else:
            assert np.isnan(tau[row]) and np.isnan(rho[row])


def measures(codes: Codes, level: str) -> dict:
    alpha, alpha_value = agreement.krippendorff_alpha(codes, level)
    return {
        "percent": agreement.percent_agreement(codes).value(),
        "fleiss": agreement.fleiss_kappa(codes).value(),
        "alpha": alpha_value,
        "pooled_quadratic": agreement.pooled_weighted_kappa(codes).value(),
        "cohen": np.sort([kappa for _, _, statistic in agreement.cohen_kappas(codes, min_units=2)
                          for kappa in statistic.value()]),  # one per rater pair; NaN (undefined) sorts last
    }


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), level=st.sampled_from([NOMINAL, ORDINAL]))
def test_permuting_annotators_or_units_leaves_agreement_unchanged(seed, level):
    rng = np.random.default_rng(seed)
    raters, units, values = rng.integers(2, 6), rng.integers(3, 25), rng.integers(2, 6)
    table = rng.integers(0, values, size=(raters, units)).astype(float)
    table[rng.random(table.shape) < 0.3] = nan
    table[:2, 0] = [0, values - 1]  # at least one pairable unit with two different values
    shuffled = table[rng.permutation(raters)][:, rng.permutation(units)]

    before = measures(codes_from_table(table, values=list(range(values))), level)
    after = measures(codes_from_table(shuffled, values=list(range(values))), level)

    np.testing.assert_allclose(before.pop("cohen"), after.pop("cohen"), atol=1e-12)
    assert before == pytest.approx(after, nan_ok=True)


def test_the_bootstrap_interval_is_reproducible_and_brackets_the_estimate():
    codes = codes_from_table(np.asarray(FLEISS_1971).T, values=[1, 2, 3, 4, 5])
    statistic, value = agreement.krippendorff_alpha(codes, NOMINAL)

    first = ItemResampler(codes.n_units).estimate(statistic, value=value)
    again = ItemResampler(codes.n_units).estimate(statistic, value=value)

    assert first == again
    assert first["ci_low"] < first["value"] < first["ci_high"] and first["n"] == 30
