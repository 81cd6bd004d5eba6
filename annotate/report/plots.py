"""Server-side SVG plots for the report page: no JavaScript and no CDN. Labels (model and user names) go through
format_html, so they are escaped."""

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

ROW_HEIGHT = 26
TITLE_HEIGHT = 24
LABEL_WIDTH = 190
PLOT_WIDTH = 380
VALUE_WIDTH = 150
ACCENT = "#2f5bd3"
MUTED = "#5b6678"


def _n(value: float) -> str:
    """Coordinates with one decimal (format_html escapes its arguments, so numbers arrive formatted)."""
    return f"{value:.1f}"


def _svg(width: int, height: int, title: str, body: SafeString) -> SafeString:
    """The plot under its title, which is also what screen readers read."""
    height += TITLE_HEIGHT
    return format_html(
        '<svg class="plot" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">'
        '<title>{}</title><text x="4" y="15" font-size="13" font-weight="600">{}</text>'
        '<g transform="translate(0 {})">{}</g></svg>',
        width, height, width, height, title, title, title, TITLE_HEIGHT, body)


def interval_chart(rows: list[dict], *, title: str, low: float, high: float, reference: float | None = None,
                   bars: bool = False, digits: int = 2) -> SafeString:
    """One line per row {label, value, ci_low, ci_high}: a dot (or a bar when `bars`) with its interval as error
    bar, on a horizontal axis from `low` to `high`, with an optional dashed reference line."""
    span = (high - low) or 1

    def x(value: float) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * (min(max(value, low), high) - low) / span

    parts = []
    for index, row in enumerate(rows):
        y = 10 + index * ROW_HEIGHT + ROW_HEIGHT / 2
        parts.append(format_html('<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
                                 LABEL_WIDTH - 8, y, row["label"]))
        if row["value"] is None:
            parts.append(format_html('<text x="{}" y="{}" dominant-baseline="middle" fill="{}">undefined</text>',
                                     LABEL_WIDTH, y, MUTED))
            continue
        if bars:
            start = x(reference if reference is not None else low)
            parts.append(format_html('<rect x="{}" y="{}" width="{}" height="16" fill="{}" fill-opacity="0.35"/>',
                                     _n(min(start, x(row["value"]))), _n(y - 8), _n(abs(x(row["value"]) - start)),
                                     ACCENT))
        if row.get("ci_low") is not None and row.get("ci_high") is not None:
            left, right = x(row["ci_low"]), x(row["ci_high"])
            parts.append(format_html(
                '<path d="M{} {}H{}M{} {}V{}M{} {}V{}" stroke="{}" '
                'stroke-width="1.5" fill="none"/>', *map(_n, (left, y, right, left, y - 5, y + 5, right, y - 5, y + 5)),
                MUTED))
        parts.append(format_html('<circle cx="{}" cy="{}" r="4.5" fill="{}"/>', _n(x(row["value"])), _n(y), ACCENT))
        interval = "" if row.get("ci_low") is None else f" [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]"
        parts.append(format_html('<text x="{}" y="{}" dominant-baseline="middle" fill="{}">{}{}</text>',
                                 LABEL_WIDTH + PLOT_WIDTH + 10, y, MUTED, f"{row['value']:.{digits}f}", interval))
    height = 10 + len(rows) * ROW_HEIGHT + 24
    axis_y = height - 22
    parts.append(format_html('<path d="M{} {}H{}" stroke="{}"/>', LABEL_WIDTH, axis_y, LABEL_WIDTH + PLOT_WIDTH,
                             MUTED))
    for tick in (low, (low + high) / 2, high):
        parts.append(format_html('<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>', _n(x(tick)),
                                 axis_y + 15, MUTED, f"{tick:g}"))
    if reference is not None:
        parts.append(format_html('<path d="M{} 6V{}" stroke="{}" stroke-dasharray="4 3"/>', _n(x(reference)),
                                 axis_y, MUTED))
    return _svg(LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH, height, title, mark_safe("".join(parts)))


def _short(label: str, length: int) -> str:
    return label if len(label) <= length else label[: length - 1] + "…"


def heat_map(matrix: list[list], *, rows: list[str], columns: list[str], title: str, row_title: str,
             column_title: str, scale_max: float | None = None, digits: int = 0) -> SafeString:
    """Cells shaded by value (darker = larger; empty cells grey), each with its number."""
    cell, left, top = 64, 120, 46
    largest = scale_max or max((value for row in matrix for value in row if value is not None), default=1) or 1
    parts = [format_html('<text x="{}" y="14" text-anchor="middle" fill="{}">{}</text>',
                         left + cell * len(columns) / 2, MUTED, column_title),
             format_html('<text x="10" y="{}" fill="{}">{}</text>', top - 8, MUTED, row_title)]
    # A cell is 64 px wide: long column names are shortened, the full name one hover away.
    parts += [format_html('<text x="{}" y="{}" text-anchor="middle"><title>{}</title>{}</text>',
                          left + cell * j + cell / 2, top - 8, label, _short(label, 8))
              for j, label in enumerate(columns)]
    for i, (label, row) in enumerate(zip(rows, matrix, strict=True)):
        y = top + cell * i
        parts.append(format_html('<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle"><title>{}</title>{}'
                                 '</text>', left - 8, y + cell / 2, label, _short(label, 16)))
        for j, value in enumerate(row):
            shade = 0 if value is None else max(0.0, min(1.0, value / largest))
            fill = "#eef1f6" if value is None else ACCENT
            text = "" if value is None else f"{value:.{digits}f}"
            parts.append(format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="{}" stroke="#fff"/>'
                '<text x="{}" y="{}" text-anchor="middle" dominant-baseline="middle" fill="{}">{}</text>',
                left + cell * j, y, cell, cell, fill, f"{0.08 + 0.85 * shade if value is not None else 1:.2f}",
                left + cell * j + cell / 2, y + cell / 2, "#fff" if shade > 0.55 else "#1d2430", text))
    return _svg(left + cell * len(columns) + 10, top + cell * len(rows) + 10, title, mark_safe("".join(parts)))


