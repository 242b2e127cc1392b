"""Regenerate font_metrics.json (advance widths of DejaVu Sans) from the installed font files.

Run once, when the font or the character set changes, and commit the JSON:

    .venv/bin/python -m forum.badges.make_metrics

The badge SVG names "DejaVu Sans" first in its font-family and cairosvg (which draws the
PNGs) uses only that first family, so these widths are the widths the PNGs are drawn with.
Only advance widths are stored: cairo's "toy" text API, which cairosvg uses, does not kern.
"""
import json
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {"regular": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf"}
UNITS_PER_EM = 2048  # DejaVu's em; measuring at this size yields font units directly.

# Printable ASCII, Latin-1, Latin Extended-A, the Romanian commas, and the typographic
# punctuation people paste into names (dashes, curly quotes, ellipsis, euro sign).
RANGES = [(0x20, 0x7F), (0xA0, 0x180), (0x218, 0x21C)]
EXTRA = "\u2010\u2011\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
OUTPUT = Path(__file__).with_name("font_metrics.json")


def characters():
    chars = [chr(c) for start, end in RANGES for c in range(start, end)]
    return chars + list(EXTRA)


def measure():
    from PIL import ImageFont

    result = {"family": "DejaVu Sans", "units_per_em": UNITS_PER_EM, "fonts": {}}
    for weight, filename in FONTS.items():
        font = ImageFont.truetype(str(FONT_DIR / filename), UNITS_PER_EM)
        widths = {ch: int(round(font.getlength(ch))) for ch in characters()}
        result["fonts"][weight] = {"file": filename, "advances": widths}
    return result


def main():
    OUTPUT.write_text(json.dumps(measure(), ensure_ascii=False, sort_keys=True, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
