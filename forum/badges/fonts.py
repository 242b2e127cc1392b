"""Text measurement with DejaVu Sans metrics, and fitting text into a box (wrap, shrink, never overflow)."""
import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

METRICS_FILE = Path(__file__).with_name("font_metrics.json")
# The SVG lists this family first; cairosvg only ever uses the first family, so the PNGs
# are drawn with exactly these metrics. Browsers without DejaVu fall back to Verdana
# (a close relative) and the textLength attribute squeezes any difference into the box.
FONT_FAMILY = "DejaVu Sans"
FONT_STACK = "'DejaVu Sans', Verdana, 'Bitstream Vera Sans', Geneva, sans-serif"
# A character the table does not know is counted as one full em: wider than any Latin
# glyph, so an unexpected script may look loose but never overflows.
UNKNOWN_ADVANCE_EM = 1.0
ELLIPSIS = "\u2026"


@lru_cache(maxsize=1)
def _metrics():
    data = json.loads(METRICS_FILE.read_text(encoding="utf-8"))
    upem = data["units_per_em"]
    return {
        weight: {ch: units / upem for ch, units in font["advances"].items()}
        for weight, font in data["fonts"].items()
    }


def clean_text(text):
    """Normalise to NFC and drop what XML 1.0 cannot carry (control characters)."""
    text = unicodedata.normalize("NFC", str(text or ""))
    text = "".join(ch if ch in "\t\n" or unicodedata.category(ch) != "Cc" else " " for ch in text)
    return " ".join(text.split())


def text_width(text, size, bold=False):
    """Width in px of `text` at font size `size`: the sum of advances, as cairo draws it."""
    table = _metrics()["bold" if bold else "regular"]
    return size * sum(table.get(ch, UNKNOWN_ADVANCE_EM) for ch in text)


@dataclass(frozen=True)
class FittedText:
    lines: tuple
    size: float
    bold: bool
    line_height: float

    @property
    def height(self):
        return self.line_height * len(self.lines)

    def widths(self):
        return [text_width(line, self.size, self.bold) for line in self.lines]


def _break_word(word, width, size, bold):
    """Split a word that is wider than the box by characters (a very long compound)."""
    pieces, current = [], ""
    for ch in word:
        if current and text_width(current + ch, size, bold) > width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    if current:
        pieces.append(current)
    return pieces


def wrap(text, width, size, bold=False):
    """Greedy line breaking at spaces (and inside words only when a word cannot fit a line)."""
    return _wrap(text, width, size, bold)[0]


def _wrap(text, width, size, bold):
    """Lines, and whether a word had to be broken to make them."""
    lines, current, broken = [], "", False
    for word in text.split(" "):
        if not word:
            continue
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        if text_width(word, size, bold) <= width:
            current = word
        else:
            *full, current = _break_word(word, width, size, bold)
            lines.extend(full)
            broken = True
    if current:
        lines.append(current)
    return lines, broken


def _ellipsize(line, width, size, bold):
    while line and text_width(line + ELLIPSIS, size, bold) > width:
        line = line[:-1].rstrip()
    return line + ELLIPSIS


def fit(text, width, height, sizes, max_lines, bold=False, leading=1.2, allow_break=True):
    """The largest size in `sizes` at which `text` wraps into at most `max_lines` lines
    that fit `width` x `height`, breaking only at spaces if any size allows that. When
    even the smallest size is too big, the last line allowed is cut with an ellipsis:
    the text may be shortened but is never drawn outside its box. With allow_break=False
    the result is None instead of a broken word or an ellipsis."""
    text = clean_text(text)
    for may_break in (False, True) if allow_break else (False,):
        for size in sizes:
            line_height = size * leading
            lines, broken = _wrap(text, width, size, bold)
            if broken and not may_break:
                continue
            if len(lines) <= max_lines and len(lines) * line_height <= height + 0.01:
                return FittedText(tuple(lines), size, bold, line_height)
    if not allow_break:
        return None
    size = sizes[-1]
    line_height = size * leading
    room = max(1, min(max_lines, int((height + 0.01) // line_height)))
    lines = wrap(text, width, size, bold)
    if len(lines) > room:
        lines = lines[:room]
        lines[-1] = _ellipsize(lines[-1], width, size, bold)
    return FittedText(tuple(lines), size, bold, line_height)


def sizes(largest, smallest, step=0.5):
    """Candidate font sizes from large to small."""
    out, size = [], float(largest)
    while size >= smallest - 1e-9:
        out.append(round(size, 2))
        size -= step
    return out
