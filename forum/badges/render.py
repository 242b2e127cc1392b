"""Drawing the badges: one SVG per variant, and PNGs rasterised from that same SVG with cairosvg.

Everything here is a pure function of a BadgeSpec, so a spec's digest is a correct cache key
and ETag. No script, no external reference, no <style> element: the SVG is safe to serve
under `default-src 'none'` and to open as a document.
"""
import io
import re
from dataclasses import astuple, dataclass

from markupsafe import escape

from .fonts import FONT_STACK, clean_text, fit, sizes, text_width

STYLES = ("compact", "seal")
THEMES = ("light", "dark")
SCALES = ("1", "2", "print")
STATES = ("member", "former", "none")  # former: lapsed/ended/expired; none: pending/not started

# Intrinsic size in CSS px (the SVG's width/height, and the 1x PNG).
SIZES = {"compact": (320, 80), "seal": (200, 200)}
# Printed width in millimetres for the letterhead PNG (300 dpi); height follows the aspect.
PRINT_WIDTH_MM = {"compact": 80, "seal": 40}
PRINT_DPI = 300

# The badge wording is the certified claim the issue fixes word for word per language; it
# follows the `lang` query parameter, not the visitor's interface language, and must never
# fall back to English because a catalogue is incomplete. Hence a table, not gettext.
WORDING = {
    "nl": {
        "claim": "Aangesloten bij {umbrella}",
        "prefix": "Aangesloten bij",
        "since": "Lid sinds {year}",
        "year": "Lid {year}",
        "former": "Geen lid (meer) van {umbrella}",
        "former_prefix": "Geen lid (meer) van",
        "none": "Geen lid van {umbrella}",
        "none_prefix": "Geen lid van",
        "alt": "Aangesloten bij {umbrella}: {name}. Bekijk het lidmaatschap.",
        "alt_former": "Geen lid (meer) van {umbrella}",
        "alt_none": "Geen lid van {umbrella}",
        "not_active": "Lidmaatschap niet actief",
    },
    "fr": {
        "claim": "Membre de {umbrella}",
        "prefix": "Membre de",
        "since": "Membre depuis {year}",
        "year": "Membre {year}",
        "former": "Plus membre de {umbrella}",
        "former_prefix": "Plus membre de",
        "none": "Pas membre de {umbrella}",
        "none_prefix": "Pas membre de",
        "alt": "Membre de {umbrella}\u00a0: {name}. Vérifier l’adhésion.",
        "alt_former": "Plus membre de {umbrella}",
        "alt_none": "Pas membre de {umbrella}",
        "not_active": "Adhésion non active",
    },
}

def clean_name(text):
    """A name as it will be drawn: NFC, no control characters, single spaces."""
    return clean_text(text)


# DejaVu Sans: ascent and descent as fractions of the em (1901 and 483 of 2048 units).
ASCENT, DESCENT = 1901 / 2048, 483 / 2048


@dataclass(frozen=True)
class BadgeSpec:
    """Everything that changes a badge's pixels; nothing else may influence the drawing."""

    state: str
    lang: str
    style: str
    theme: str
    umbrella: str
    color: str
    accent: str
    name: str = ""
    year: str = ""
    year_is_since: bool = True

    def parts(self):
        return astuple(self)


def alt_text(state, lang, umbrella, name=""):
    """The image's text alternative, in the badge's own language."""
    words = WORDING[lang]
    key = {"member": "alt", "former": "alt_former"}.get(state, "alt_none")
    return words[key].format(umbrella=umbrella, name=name)


# -- colours ---------------------------------------------------------------------------

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def parse_color(value, default):
    """A #rrggbb string from configuration; anything else falls back (it goes into markup)."""
    match = _HEX.match(str(value or "").strip())
    if not match:
        return default
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits.lower()


def _rgb(color):
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def _hex(rgb):
    return "#" + "".join(f"{max(0, min(255, round(c))):02x}" for c in rgb)


def _mix(color, other, amount):
    a, b = _rgb(color), _rgb(other)
    return _hex(x + (y - x) * amount for x, y in zip(a, b))


def _luminance(color):
    def channel(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable(color, background, minimum=4.5):
    """The configured colour, darkened or lightened just enough to be readable as text (WCAG AA)."""
    target = "#000000" if _luminance(background) > 0.4 else "#ffffff"
    for step in range(0, 21):
        candidate = _mix(color, target, step / 20)
        if contrast(candidate, background) >= minimum:
            return candidate
    return target


def palette(spec):
    """Colours per state and theme, derived from the umbrella's configured colours."""
    if spec.state != "member":
        if spec.theme == "dark":
            return dict(bg="#22272e", border="#6b7785", claim="#e1e6eb", name="#e1e6eb",
                        foot="#c9d1da", mark="#9aa5b1", mark_fg="#22272e", ring="#6b7785")
        return dict(bg="#f3f5f8", border="#8a96a3", claim="#3d4752", name="#3d4752",
                    foot="#4a5560", mark="#6b7785", mark_fg="#f3f5f8", ring="#c9d1da")
    if spec.theme == "dark":
        bg = _mix(spec.color, "#000000", 0.62)
        return dict(bg=bg, border=_mix(spec.color, "#ffffff", 0.25), claim=readable(spec.accent, bg),
                    name="#ffffff", foot="#d5dde6", mark=spec.accent,
                    mark_fg=bg, ring=_mix(spec.color, "#ffffff", 0.25))
    bg = "#ffffff"
    return dict(bg=bg, border=spec.color, claim=readable(spec.color, bg), name="#1b1f24",
                foot="#4a5560", mark=spec.color, mark_fg="#ffffff", ring=spec.accent)


# -- SVG building ----------------------------------------------------------------------

def _num(value):
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text(line, x, y, fitted, fill, anchor=None):
    """One line of text. textLength pins the measured width, so a browser that lacks DejaVu
    Sans squeezes its fallback font into the same box instead of overflowing."""
    width = text_width(line, fitted.size, fitted.bold)
    attrs = [
        f'x="{_num(x)}"', f'y="{_num(y)}"', f'font-family="{FONT_STACK}"',
        f'font-size="{_num(fitted.size)}"', f'fill="{fill}"',
        f'textLength="{_num(width)}"', 'lengthAdjust="spacingAndGlyphs"',
    ]
    if fitted.bold:
        attrs.append('font-weight="bold"')
    if anchor:
        attrs.append(f'text-anchor="{anchor}"')
    return f"<text {' '.join(attrs)}>{escape(line)}</text>"


def _block(fitted, x, top, fill, anchor=None):
    """Lines of a fitted text, baselines placed so each glyph box is centred in its line."""
    out = []
    pad = (fitted.line_height - (ASCENT + DESCENT) * fitted.size) / 2
    for i, line in enumerate(fitted.lines):
        baseline = top + i * fitted.line_height + pad + ASCENT * fitted.size
        out.append(_text(line, x, baseline, fitted, fill, anchor))
    return out


def _mark(cx, cy, r, colors, member):
    """The emblem: a check mark in a disc for members, a dash in an empty ring otherwise."""
    if member:
        k = r / 26
        return [
            f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(r + 4 * k)}" fill="none" '
            f'stroke="{colors["ring"]}" stroke-width="{_num(3 * k)}"/>',
            f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(r)}" fill="{colors["mark"]}"/>',
            f'<path d="M{_num(cx - 12 * k)} {_num(cy + 1 * k)} l{_num(8 * k)} {_num(8 * k)} '
            f'l{_num(16 * k)} {_num(-18 * k)}" fill="none" stroke="{colors["mark_fg"]}" '
            f'stroke-width="{_num(5 * k)}" stroke-linecap="round" stroke-linejoin="round"/>',
        ]
    k = r / 26
    return [
        f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(r)}" fill="none" '
        f'stroke="{colors["mark"]}" stroke-width="{_num(3 * k)}"/>',
        f'<path d="M{_num(cx - 11 * k)} {_num(cy)} h{_num(22 * k)}" stroke="{colors["mark"]}" '
        f'stroke-width="{_num(4 * k)}" stroke-linecap="round"/>',
    ]


def _first_fit(text, width, height, options, bold=False):
    """Try (max_lines, sizes) options in order of preference, e.g. one big line before two;
    a smaller size is preferred to breaking a word, and breaking a word to cutting text."""
    for allow_break in (False, True):
        for max_lines, candidates in options:
            if allow_break:
                fitted = fit(text, width, height, candidates, max_lines, bold=bold)
                if fitted.lines and fitted.lines[-1].endswith("\u2026"):
                    continue
            else:
                fitted = fit(text, width, height, candidates, max_lines, bold=bold, allow_break=False)
            if fitted is not None:
                return fitted
    max_lines, candidates = options[-1]
    return fit(text, width, height, candidates, max_lines, bold=bold)


def _footer_text(spec):
    words = WORDING[spec.lang]
    if spec.state == "member":
        return words["since" if spec.year_is_since else "year"].format(year=spec.year) if spec.year else ""
    return words["not_active"]


def _compact(spec, colors):
    width, height = SIZES["compact"]
    member = spec.state == "member"
    x0, text_w, top, box_h, gap = 82, 228, 7, 66, 3
    words = WORDING[spec.lang]
    claim_text = words["claim" if member else spec.state].format(umbrella=spec.umbrella)
    footer = fit(_footer_text(spec), text_w, 12, sizes(10, 7), 1)
    if member:
        claim = _first_fit(claim_text, text_w, 28, [(1, sizes(12.5, 10)), (2, sizes(11, 8))], bold=True)
        room = box_h - claim.height - footer.height - 2 * gap
        name = _first_fit(spec.name, text_w, room, [
            (1, sizes(15, 11.5)), (2, sizes(13, 9)), (3, sizes(10, 7.5)), (4, sizes(8, 6.5)),
        ])
        blocks = [(claim, colors["claim"]), (name, colors["name"]), (footer, colors["foot"])]
    else:
        claim = _first_fit(claim_text, text_w, box_h - footer.height - gap,
                           [(1, sizes(14, 11)), (2, sizes(13, 9)), (3, sizes(10, 7))], bold=True)
        blocks = [(claim, colors["claim"]), (footer, colors["foot"])]
    blocks = [(b, c) for b, c in blocks if b.lines]
    total = sum(b.height for b, _ in blocks) + gap * (len(blocks) - 1)
    y = top + max(0.0, (box_h - total) / 2)
    body = [
        f'<rect x="0.75" y="0.75" width="{width - 1.5}" height="{height - 1.5}" rx="8" '
        f'fill="{colors["bg"]}" stroke="{colors["border"]}" stroke-width="1.5"/>',
        *_mark(40, 40, 24, colors, member),
    ]
    for fitted, fill in blocks:
        body.extend(_block(fitted, x0, y, fill))
        y += fitted.height + gap
    return width, height, body


def _seal(spec, colors):
    width, height = SIZES["seal"]
    member = spec.state == "member"
    cx = width / 2
    words = WORDING[spec.lang]
    # Text stays inside a 124 px column between y=58 and y=150: inside the inner ring
    # (r=82 around the centre) every line of that column has room for its full width.
    col_w, top, box_h, gap = 124, 58, 92, 4
    prefix = fit(words["prefix" if member else f"{spec.state}_prefix"], col_w, 12, sizes(10, 7), 1)
    umbrella = _first_fit(spec.umbrella, col_w, 34, [(1, sizes(14, 10)), (2, sizes(12, 8))], bold=True)
    blocks = [(prefix, colors["foot"]), (umbrella, colors["claim"])]
    if member:
        room = box_h - prefix.height - umbrella.height - 3 * gap - 6
        name = _first_fit(spec.name, col_w, room, [
            (1, sizes(14, 11)), (2, sizes(12.5, 9)), (3, sizes(10.5, 8)), (4, sizes(8.5, 7)), (5, sizes(7, 6)),
        ])
        blocks.append((name, colors["name"]))
    total = sum(b.height for b, _ in blocks) + gap * (len(blocks) - 1) + (6 if member else 0)
    y = top + max(0.0, (box_h - total) / 2)
    body = [
        f'<circle cx="{_num(cx)}" cy="{_num(cx)}" r="96.5" fill="{colors["bg"]}" '
        f'stroke="{colors["border"]}" stroke-width="5"/>',
        f'<circle cx="{_num(cx)}" cy="{_num(cx)}" r="88" fill="none" stroke="{colors["ring"]}" stroke-width="1.5"/>',
        *_mark(cx, 36, 13, colors, member),
    ]
    for i, (fitted, fill) in enumerate(blocks):
        body.extend(_block(fitted, cx, y, fill, anchor="middle"))
        y += fitted.height + gap
        if member and i == 1:  # a short accent rule between the claim and the council's name
            body.append(f'<path d="M{_num(cx - 20)} {_num(y + 1)} h40" stroke="{colors["ring"]}" stroke-width="1.5"/>')
            y += 6
    footer = fit(_footer_text(spec), 92, 12, sizes(10, 7), 1)
    body.extend(_block(footer, cx, 154, colors["foot"], anchor="middle"))
    return width, height, body


def render_svg(spec):
    """The badge as SVG bytes (UTF-8)."""
    colors = palette(spec)
    draw = _seal if spec.style == "seal" else _compact
    width, height, body = draw(spec, colors)
    title = alt_text(spec.state, spec.lang, spec.umbrella, spec.name)
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xml:lang="{spec.lang}">',
        f"<title>{escape(title)}</title>",
        *body,
        "</svg>",
    ]
    return ("\n".join(parts) + "\n").encode("utf-8")


def png_size(style, scale):
    """Pixel size of a PNG variant: 1x, 2x, or the print size at 300 dpi."""
    width, height = SIZES[style]
    if scale == "print":
        px_w = round(PRINT_WIDTH_MM[style] / 25.4 * PRINT_DPI)
        return px_w, round(px_w * height / width)
    factor = int(scale)
    return width * factor, height * factor


def print_size_mm(style):
    """Printed width and height in millimetres, as numbers to show (no needless decimals)."""
    width, height = SIZES[style]
    mm_w = PRINT_WIDTH_MM[style]
    mm_h = round(mm_w * height / width, 1)
    return mm_w, int(mm_h) if mm_h == int(mm_h) else mm_h


def render_png(svg, style, scale):
    """Rasterise the SVG (the same bytes the website gets) at the variant's pixel size."""
    import cairosvg

    px_w, px_h = png_size(style, scale)
    data = cairosvg.svg2png(bytestring=svg, output_width=px_w, output_height=px_h)
    dpi = PRINT_DPI if scale == "print" else 96 * int(scale)
    # Record the density (pHYs), so a word processor places the print PNG at its stated size.
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.save(out, format="PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()
