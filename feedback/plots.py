"""The signals dashboard's plots, drawn by the report's server-side SVG helpers (no JavaScript, labels escaped)."""

from annotate.report.plots import heat_map, interval_chart
from feedback.signals.rubric import CATEGORIES, DSAT, SAT


def signal_plots(dashboard: dict) -> dict:
    counts, turns = dashboard["counts"], dashboard["counts"]["turns"] or 1
    shares = [{"label": f"{'SAT' if c in SAT else 'DSAT'} {c.replace('_', ' ')}", "value": counts[c] / turns}
              for c in CATEGORIES]
    plots = {"shares": interval_chart(shares, title="Share of user turns per category", low=0,
                                      high=max([row["value"] for row in shares] + [0.01]), bars=True, digits=3)}
    for key, title, column_title in (("by_week", "Turns per category and week", "week starting"),
                                     ("by_endpoint", "Turns per category and model endpoint", "model")):
        columns = sorted(dashboard[key])
        if columns:
            plots[key] = heat_map([[dashboard[key][column][c] for column in columns] for c in CATEGORIES],
                                  rows=[c.replace("_", " ") + (" (dsat)" if c in DSAT else "") for c in CATEGORIES],
                                  columns=columns, title=title, row_title="category", column_title=column_title)
    return plots
