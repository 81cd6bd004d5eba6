"""The campaign report as plain text, for the terminal (`--format json` has every annotator pair)."""

import statistics

PAIRS_SHOWN = 3


def _number(value, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _estimate(estimate: dict) -> str:
    if estimate["value"] is None:
        return f"—  (n={estimate['n']})"
    interval = ""
    if estimate["ci_low"] is not None:
        interval = f" [{_number(estimate['ci_low'])}, {_number(estimate['ci_high'])}]"
    return f"{_number(estimate['value'])}{interval}  (n={estimate['n']})"


def _agreement_lines(name: str, block: dict) -> list[str]:
    lines = [f"  {name} ({block['level']}, {block['units']} units judged by 2+)"]
    for key in ("percent_agreement", "fleiss_kappa", "krippendorff_alpha", "quadratic_kappa", "kendall_tau",
                "spearman"):
        if key in block:
            lines.append(f"    {key:<20} {_estimate(block[key])}")
    for key in ("cohen_kappa", "cohen_quadratic_kappa"):
        pairs = sorted((estimate["value"], pair) for pair, estimate in block.get(key, {}).items()
                       if estimate["value"] is not None)
        if pairs:
            median = statistics.median(value for value, _ in pairs)
            lowest = ", ".join(f"{pair} {_number(value)}" for value, pair in pairs[:PAIRS_SHOWN])
            lines.append(f"    {key:<20} {len(pairs)} pairs, median {_number(median)}; lowest: {lowest}")
    return lines


def report_text(report: dict) -> str:
    campaign = report["campaign"]
    protocols = ", ".join(f"{count} {name}" for name, count in report["judgments_by_protocol"].items() if count)
    lines = [f"Campaign {campaign['name']} ({campaign['design']}): {report['items']} items, "
             f"{report['judgments']} judgments ({protocols or 'none'})", "", "Agreement"]
    for protocol, block in report["agreement"].items():
        if "level" in block:
            lines += _agreement_lines(protocol, block)
        else:
            for attribute, attribute_block in block.items():
                lines += _agreement_lines(f"{protocol}: {attribute}", attribute_block)
    if not report["agreement"]:
        lines.append("  no unit was judged by two annotators")

    consistency = report["rating_vs_ranking"]
    lines += ["", f"Rating vs ranking (ratings: {consistency['ratings']}): {consistency['pairs']} pairs, "
                  f"consistency {_estimate(consistency['consistency'])}, "
                  f"tie-driven share of disagreements {_number(consistency['tie_driven_share'])}",
              "  ranking \\ rating   " + "".join(f"{label:>7}" for label in consistency["labels"])]
    for label, row in zip(consistency["labels"], consistency["confusion"], strict=True):
        lines.append(f"  {label:<18}" + "".join(f"{count:>7}" for count in row))

    lines += ["", "Position bias"]
    pairwise = report["position_bias"].get("pairwise")
    if pairwise:
        overall = pairwise["overall"]
        lines.append(f"  first shown chosen  {_estimate(overall)}  p={_number(overall['p_value'], 4)}  "
                     f"ties {_number(pairwise['tie_share'])}")
        for name, row in pairwise["per_annotator"].items():
            lines.append(f"    {name:<24} {_estimate(row)}  p={_number(row['p_value'], 4)}")
    for protocol, key in (("ranking", "mean_rank_by_shown_position"), ("rating", "mean_rating_by_shown_position")):
        for row in report["position_bias"].get(protocol, {}).get(key, []):
            lines.append(f"  {protocol} shown #{row['position']}: mean {_number(row['mean'], 2)} "
                         f"(no bias: {_number(row['expected'], 2)}, n={row['n']})")

    gold = report["gold"]
    lines += ["", f"Gold ({gold['items']} items, flag below {gold['threshold']})"]
    for name, row in gold["per_annotator"].items():
        flag = "  FLAGGED" if row["flagged"] else ""
        lines.append(f"  {name:<24} {row['correct']}/{row['n']} = {_number(row['value'])}{flag}")

    lines += ["", "Annotators", f"  {'name':<24}{'judged':>8}{'skip':>7}{'median s':>10}{'majority':>10}  outlier"]
    for name, row in report["annotators"].items():
        seconds = None if row["median_time_on_task_ms"] is None else row["median_time_on_task_ms"] / 1000
        outlier = "FLAGGED" if row["outlier"]["flagged"] else "-"
        lines.append(f"  {name:<24}{row['judgments']:>8}{_number(row['skip_rate'], 2):>7}{_number(seconds, 1):>10}"
                     f"{_number(row['majority_agreement']['value'], 2):>10}  {outlier}")

    lines += ["", "Bradley-Terry leaderboard (Elo scale, 95% interval)", *_leaderboard_lines(report["bradley_terry"])]
    style = report.get("style_control")
    if style:
        lines += ["", "Style-controlled leaderboard (length, headers, lists, bold as covariates)",
                  *_leaderboard_lines(style["bradley_terry"]), "  coefficients (log-odds per standard deviation)"]
        lines += [f"    {name:<10} {_estimate(estimate)}" for name, estimate in style["coefficients"].items()]
    if "properties" in report:
        lines += ["", *_property_lines(report["properties"])]
    lines += ["", *_group_lines(report["groups"])]
    lines += _human_vs_ai_lines(report["human_vs_ai"])
    return "\n".join(lines) + "\n"


def _property_lines(profile: dict) -> list[str]:
    lines = ["Property profile (log-odds of winning per unit of the difference)"]
    for judge, fit in profile["fits"].items():
        lines.append(f"  {judge}: {fit['comparisons']} decided comparisons, {fit['ties_left_out']} ties left out")
        for name, estimate in fit.get("coefficients", {}).items():
            lines.append(f"    {name:<20} {_estimate(estimate)}  ({profile['units'][name]})")
    return lines


def _group_lines(groups: dict) -> list[str]:
    lines = [f"Whose preferences: {groups['with_profile']} of {groups['annotators']} people keep a profile; groups of "
             f"at least {groups['min_group_size']}"]
    for attribute in groups["attributes"].values():
        for name, block in attribute["agreement"].items():
            if not block["groups"]:
                continue
            lines.append(f"  {attribute['label']}, {name}: within {_estimate(block['within'])}, between "
                         f"{_estimate(block['between'])}; most aligned with the majority: {block['most_aligned']}")
            for group, row in block["groups"].items():
                lines.append(f"    {group:<24} {row['annotators']:>4} people  alpha "
                             f"{_estimate(row['krippendorff_alpha'])}  r with majority "
                             f"{_estimate(block['alignment'][group])}")
    return lines


def _human_vs_ai_lines(section: dict) -> list[str]:
    if not section["judges"]:
        return []
    lines = ["", f"Human vs AI (against the human majority of {section['items_with_majority']} items)"]
    for name, judge in section["judges"].items():
        lines.append(f"  {name}: {judge['judgments']} judgments")
        for key in ("accuracy", "macro_f1", "kappa_vs_majority", "position_bias", "swap_conflict_rate"):
            lines.append(f"    {key:<20} {_estimate(judge[key])}")
    routing = section["routing"]
    for point in routing["curve"]:
        lines.append(f"  {point['share_to_people']:>5.0%} of {routing['items']} items to people: accuracy "
                     f"{_estimate(point['accuracy'])}")
    return lines


def _leaderboard_lines(rows: list[dict]) -> list[str]:
    return [f"  {rank:>2}. {row['model']:<30} {_number(row['score'], 0):>6} "
            f"[{_number(row['ci_low'], 0)}, {_number(row['ci_high'], 0)}]  {row['battles']} battles"
            for rank, row in enumerate(rows, start=1)]
