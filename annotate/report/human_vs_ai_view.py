"""The human-vs-AI section of the report page: its charts, and whose judgments the rest of the page is of."""

from django.utils.safestring import SafeString

from annotate.protocols import is_ai_judge
from annotate.report import plots as report_plots
from annotate.report.metrics.data import PEOPLE


def annotators_chosen(value: str | None) -> str:
    """People, or the one AI judge named: anything else falls back to people."""
    return value if value and is_ai_judge(value) else PEOPLE


def _row(label: str, estimate: dict) -> dict:
    return {"label": label, "value": estimate["value"], "ci_low": estimate["ci_low"], "ci_high": estimate["ci_high"]}


def human_vs_ai_plots(section: dict) -> dict[str, SafeString]:
    judges = section["judges"]
    if not judges:
        return {}
    plots = {
        "judges_accuracy": report_plots.interval_chart(
            [_row(f"{name}: {label}", judge[key]) for name, judge in judges.items()
             for key, label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("kappa_vs_majority", "kappa"))],
            title="Each AI judge against the human majority", low=0.0, high=1.0, bars=True),
        "judges_position": report_plots.interval_chart(
            [_row(name, judge["position_bias"]) for name, judge in judges.items()],
            title="Share of the judge's decided verdicts for the response shown first", low=0.0, high=1.0,
            reference=0.5, bars=True),
    }
    for index, (name, judge) in enumerate(judges.items()):
        plots[f"confusion_{index}"] = report_plots.heat_map(
            judge["confusion"], rows=section["labels"], columns=section["labels"], title=f"{name} against people",
            row_title="human majority", column_title="judge")
    curve = section["routing"]["curve"]
    if curve:
        plots["routing"] = report_plots.interval_chart(
            [_row(f"{round(point['share_to_people'] * 100)}% to people", point["accuracy"]) for point in curve],
            title="Accuracy kept when the most uncertain items go to people", low=0.0, high=1.0, bars=True)
    return plots
