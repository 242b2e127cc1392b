"""A stacked bar chart of posts per week and theme, drawn as inline SVG on the server.

No scripts and no style attributes (the CSP forbids inline styles): colours and fonts
are SVG presentation attributes. The page puts a data table next to it for screen readers.
"""
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup, escape

# Okabe-Ito, then four of Paul Tol's: distinguishable with the common forms of colour
# blindness. Past twelve themes colours repeat; the data table names every number.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#555555",
           "#882255", "#332288", "#999933", "#117733")

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 12, 36


def colour(index):
    return PALETTE[index % len(PALETTE)]


def _axis(value):
    """A round step (1, 2 or 5 × 10^n) and the number of steps (at most 5) to reach value."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            candidate = step * factor
            steps = max(-(-value // candidate), 1)
            if steps <= 5:
                return candidate, int(steps)
        step *= 10


def _attrs(**attrs):
    parts = []
    for key, value in attrs.items():
        parts.append(f'{key.rstrip("_").replace("_", "-")}="{escape(value)}"')
    return " ".join(parts)


def posts_chart(weekly, lang, chart_id="posts-chart"):
    """The SVG markup of a WeeklyPosts (forum.admin.stats) as a stacked bar chart."""
    weeks = weekly.weeks
    totals = weekly.totals
    tick, ticks = _axis(max(totals or [0]))
    top = tick * ticks
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(weeks), 1)
    bar_w = max(slot * 0.8, 1)
    title = ngettext("Posts per week per theme, last %(num)d week",
                     "Posts per week per theme, last %(num)d weeks", len(weeks))
    desc = _("%(posts)s in total; the busiest week had %(max)d. The table below gives every number.",
             posts=ngettext("%(num)d post", "%(num)d posts", weekly.total), max=max(totals or [0]))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="sans-serif" font-size="11">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    # Horizontal grid lines with their value.
    for i in range(ticks + 1):
        value = tick * i
        y = TOP + plot_h - plot_h * i / ticks
        out.append(f'<line {_attrs(x1=LEFT, x2=WIDTH - RIGHT, y1=f"{y:.1f}", y2=f"{y:.1f}", stroke="#d0d7de", stroke_width=1)}/>')
        label = str(value)
        out.append(f'<text {_attrs(x=LEFT - 6, y=f"{y + 4:.1f}", text_anchor="end", fill="#444")}>{label}</text>')
    # Bars: one stack per week, themes in list order from the bottom up.
    for i, week in enumerate(weeks):
        x = LEFT + i * slot + (slot - bar_w) / 2
        base = 0
        for n, (theme, counts) in enumerate(weekly.series):
            value = counts[i]
            if not value:
                continue
            h = plot_h * value / top
            y = TOP + plot_h - plot_h * (base + value) / top
            tip = _("%(theme)s, week of %(date)s: %(count)d", theme=theme.name(lang),
                    date=format_date(week, "medium"), count=value)
            out.append(f'<rect {_attrs(x=f"{x:.1f}", y=f"{y:.1f}", width=f"{bar_w:.1f}", height=f"{h:.1f}", fill=colour(n))}>'
                       f'<title>{escape(tip)}</title></rect>')
            base += value
    # Month labels under the first week of each month.
    last_month = None
    for i, week in enumerate(weeks):
        if week.month != last_month:
            last_month = week.month
            if i > len(weeks) - 3:
                continue  # too close to the right edge to be readable
            x = LEFT + i * slot
            out.append(f'<text {_attrs(x=f"{x:.1f}", y=HEIGHT - BOTTOM + 16, fill="#444")}>'
                       f'{escape(format_date(week, "MMM yy"))}</text>')
    out.append(f'<line {_attrs(x1=LEFT, x2=WIDTH - RIGHT, y1=TOP + plot_h, y2=TOP + plot_h, stroke="#444", stroke_width=1)}/>')
    out.append("</svg>")
    return Markup("".join(out))


def swatch(index):
    """A small coloured square for the legend (decorative: the theme name is next to it)."""
    return Markup(
        f'<svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" focusable="false">'
        f'<rect width="12" height="12" fill="{colour(index)}"/></svg>'
    )
