"""The one sanitising module: Markdown in, safe HTML out (markdown-it-py + nh3).

bleach's maintainers ended it, so we sanitise with nh3 (Rust's ammonia), which uses
the same allow-list model. Every piece of user HTML that reaches a page passes
through render_markdown(); templates never mark raw user input |safe.
"""
import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody",
    "tr", "th", "td", "img", "span",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},  # class: only "mention" passes _filter_attribute
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
    "span": {"class"},
    "code": {"class"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"
# Only classes we set ourselves (mentions, code languages) survive.
_CLASS_PATTERN = re.compile(r"^(mention|language-[a-z0-9_+-]{1,20})$")

# CommonMark with tables and strikethrough; raw HTML in the source is shown as text.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)
# Headings start at h2: the thread title is the page's h1.


def _shifted_heading(tokens, idx, options, env):
    level = min(int(tokens[idx].tag[1]) + 1, 6)
    return f"<h{level}>" if tokens[idx].nesting == 1 else f"</h{level}>\n"


_md.renderer.rules["heading_open"] = _shifted_heading
_md.renderer.rules["heading_close"] = _shifted_heading


def _image(tokens, idx, options, env):
    """Images from this site only; another site's image becomes a link to it.

    Agora loads nothing from other sites (privacy, and the CSP's img-src 'self' would show
    a broken image anyway), so `![alt](https://elders/x.png)` renders as a plain link.
    """
    token = tokens[idx]
    src = token.attrGet("src") or ""
    alt = escape(token.content or src)
    if src.startswith("/") and not src.startswith("//"):
        return f'<img src="{escape(src)}" alt="{alt}">'
    return f'<a href="{escape(src)}">{alt}</a>'


_md.renderer.rules["image"] = _image


def _filter_attribute(tag, attr, value):
    if attr == "class":
        kept = [c for c in value.split() if _CLASS_PATTERN.match(c)]
        return " ".join(kept) or None
    return value


def sanitise(html):
    """Allow-listed HTML only: no scripts, styles, iframes, svg or event attributes."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=LINK_REL,
        attribute_filter=_filter_attribute,
        strip_comments=True,
    )


def render_markdown(text, postprocess=None):
    """Render Markdown source to sanitised HTML as Markup.

    `postprocess(html) -> html` runs before sanitising (e.g. to link @mentions) so that
    whatever it adds is held to the same allow-list.
    """
    html = _md.render(text or "")
    if postprocess is not None:
        html = postprocess(html)
    return Markup(sanitise(html))


def plain_text(html):
    """Text content of sanitised HTML, for search indexing, feeds and mails."""
    text = nh3.clean(html or "", tags=set())
    import html as _html
    return _html.unescape(re.sub(r"\s+", " ", text)).strip()


def excerpt(html, length=200):
    """The start of the text as plain text (not escaped: Jinja or ElementTree escapes it
    where it is written, and escaping here too gave `d&amp;#39;` in feeds)."""
    text = plain_text(html)
    return text if len(text) <= length else text[: length - 1].rsplit(" ", 1)[0] + "…"
