"""The moral graph as a server-side SVG: values on a circle (wisest first, at the top), node area by PageRank,
edge width by certainty, and a hover title with the card and the vote counts. No JavaScript needed."""

import math

from django.utils.html import escape

SIZE, MARGIN = 640, 120


def _certainty(summary: dict) -> float:
    """0..1: the Wilson lower bound where there is one, else the 2023 display rule (1 - entropy / 1.8)."""
    if "wiserLowerBound" in summary:
        return summary["wiserLowerBound"]
    return max(0.0, 1 - summary["entropy"] / 1.8)


def graph_svg(data: dict) -> str:
    values = sorted(data["values"], key=lambda value: -value["pagerank"])
    if not values:
        return ""
    centre, radius = SIZE / 2, SIZE / 2 - MARGIN
    top = max(value["pagerank"] for value in values)
    places, radii = {}, {}
    for index, value in enumerate(values):
        angle = -math.pi / 2 + 2 * math.pi * index / len(values)
        places[value["id"]] = (centre + radius * math.cos(angle), centre + radius * math.sin(angle))
        radii[value["id"]] = 5 + 25 * math.sqrt(value["pagerank"] / top)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" role="img" class="moral-graph" '
             f'style="max-width: {SIZE}px" '
             f'aria-label="Moral graph: {len(values)} values, {len(data["edges"])} edges">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#667"/></marker></defs>']
    for edge in data["edges"]:
        (x1, y1), (x2, y2) = places[edge["sourceValueId"]], places[edge["wiserValueId"]]
        # From rim to rim, so the arrowhead shows outside the wiser value's circle.
        length = math.hypot(x2 - x1, y2 - y1) or 1
        start, end = radii[edge["sourceValueId"]] / length, 1 - (radii[edge["wiserValueId"]] + 2) / length
        x1, y1, x2, y2 = x1 + (x2 - x1) * start, y1 + (y2 - y1) * start, x1 + (x2 - x1) * end, y1 + (y2 - y1) * end
        counts = edge["counts"]
        hover = (f'{", ".join(edge["contexts"])}: {counts["markedWiser"]} wiser, {counts["markedNotWiser"]} not '
                 f'wiser, {counts["markedUnsure"]} unsure, {counts["markedLessWise"]} less wise; likelihood '
                 f'{edge["summary"]["wiserLikelihood"]:.2f}')
        width = 1 + 5 * _certainty(edge["summary"])
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#667" '
                     f'stroke-opacity="0.6" stroke-width="{width:.1f}" marker-end="url(#arrow)">'
                     f'<title>{escape(hover)}</title></line>')
    for value in values:
        x, y = places[value["id"]]
        r = radii[value["id"]]
        hover = f'{value["title"]} (PageRank {value["pagerank"]:.3f})\n{value["description"]}\n' + \
            "\n".join(f"- {policy}" for policy in value["policies"])
        label = value["title"] if len(value["title"]) <= 28 else value["title"][:27] + "…"
        parts.append(f'<g class="node"><circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="#4a7bd0" '
                     f'fill-opacity="0.8"><title>{escape(hover)}</title></circle>'
                     f'<text x="{x:.1f}" y="{y + r + 12:.1f}" text-anchor="middle" font-size="11">'
                     f'{escape(label)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)
