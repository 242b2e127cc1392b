"""Advice per year or theme by answer status: a stacked horizontal bar chart as inline SVG.

The same style as forum/admin/chart.py (presentation attributes, no scripts or styles);
the page shows the same figures in a table beside it.
"""
from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..admin.chart import colour
from .fields import STATUSES, STATUS_LABELS

WIDTH = 640
LABEL_W, RIGHT, TOP, ROW_H, BAR_H = 150, 40, 8, 26, 18
# Status colours: the palette's order, awaiting last in grey.
STATUS_COLOURS = {"adopted": colour(2), "partly": colour(4), "not_adopted": colour(5),
                  "no_answer": colour(3), "awaiting": colour(7)}
ORDER = ("adopted", "partly", "not_adopted", "no_answer", "awaiting")


def status_colour(status):
    return STATUS_COLOURS[status]


def status_chart(table, title, chart_id):
    """SVG markup of a forum.advice.services.StatusTable, one bar per row."""
    rows = table.rows
    longest = max([table.total(c) for _k, _l, c in rows] or [0]) or 1
    height = TOP * 2 + ROW_H * max(len(rows), 1)
    plot_w = WIDTH - LABEL_W - RIGHT
    desc = _("%(count)d advices; the table beside the chart gives every number.",
             count=sum(table.totals.values()))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" class="chart" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="sans-serif" font-size="11">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for i, (_key, label, counts) in enumerate(rows):
        y = TOP + i * ROW_H
        out.append(f'<text x="{LABEL_W - 6}" y="{y + BAR_H - 5}" text-anchor="end" fill="#444">'
                   f'{escape(str(label)[:28])}</text>')
        x = LABEL_W
        for status in ORDER:
            value = counts.get(status, 0)
            if not value:
                continue
            w = plot_w * value / longest
            tip = f"{label}, {STATUS_LABELS[status]}: {value}"
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_H}" fill="{status_colour(status)}" '
                       f'data-row="{escape(str(label))}" data-status="{status}" data-count="{value}">'
                       f'<title>{escape(tip)}</title></rect>')
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + BAR_H - 5}" fill="#444">{table.total(counts)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def swatch(status):
    """A small coloured square for the legend (the status name is next to it)."""
    return Markup(f'<svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" focusable="false">'
                  f'<rect width="12" height="12" fill="{status_colour(status)}"/></svg>')


assert set(ORDER) == set(STATUSES)
