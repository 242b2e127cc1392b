"""Badge and directory services: who is a member today, which badge variant a request asks for, snippets."""
import hashlib
import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Optional

from flask import current_app, url_for
from markupsafe import Markup
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from ..models import LANGUAGES, Organisation
from ..places import COUNTRIES, find_province, fold, province_label
from . import render

DIRECTORY_PAGE_SIZE = 50

# Digest of the drawing code and the font table: a redeployed design gets new ETags and new
# cache files without anyone remembering to bump a version number.
_HERE = Path(__file__).resolve().parent
RENDER_DIGEST = hashlib.sha256(b"".join(
    (_HERE / name).read_bytes() for name in ("render.py", "fonts.py", "font_metrics.json")
)).hexdigest()[:16]

# One primary-key-like lookup per badge request (slug is unique, hence indexed): cheap, and
# a status change shows on the very next request. Core columns, not an ORM entity, to skip
# identity-map work; the statement is built once and its compiled form is cached.
_SUBJECT = select(
    Organisation.slug, Organisation.name, Organisation.language, Organisation.membership_status,
    Organisation.member_since, Organisation.member_until, Organisation.badge_version,
).where(Organisation.slug == bindparam("slug"))


class InvalidBadgeOption(ValueError):
    """A query value a badge URL does not know (answered with 400)."""

    def __init__(self, name, value, allowed):
        super().__init__(f"{name}={value!r}")
        self.name, self.value, self.allowed = name, value, allowed


def membership_state(status, since, until, today=None):
    """'member' (active today), 'former' (lapsed, ended or expired) or 'none' (pending, not started).

    Must agree with Organisation.is_member, which decides the same for the ORM object."""
    today = today or date.today()
    if status in ("lapsed", "ended"):
        return "former"
    if status != "active":
        return "none"
    if until and until < today:
        return "former"
    if since and since > today:
        return "none"
    return "member"


def parse_badge_options(args, fmt, default_lang):
    """Validate the query string of /badge/<slug>.<fmt>; unknown parameters are ignored
    (cache busters), unknown values raise InvalidBadgeOption."""
    def pick(name, allowed, default):
        value = args.get(name)
        if value is None or value == "":
            return default
        if value not in allowed:
            raise InvalidBadgeOption(name, value, allowed)
        return value

    options = {
        "lang": pick("lang", LANGUAGES, default_lang if default_lang in LANGUAGES else LANGUAGES[0]),
        "style": pick("style", render.STYLES, render.STYLES[0]),
        "theme": pick("theme", render.THEMES, render.THEMES[0]),
        "scale": pick("scale", render.SCALES, "1") if fmt == "png" else None,
        "download": pick("download", ("0", "1"), "0") == "1",
    }
    return options


class BadgeSubject(NamedTuple):
    slug: str
    name: str
    language: str
    membership_status: str
    member_since: Optional[date]
    member_until: Optional[date]
    badge_version: int


@lru_cache(maxsize=8)
def _compiled_subject(dialect):
    """The lookup as the driver's own SQL and parameter order, compiled once per dialect."""
    compiled = _SUBJECT.compile(dialect=dialect)
    return compiled.string, compiled.positiontup


def _as_date(value):
    # SQLite hands dates back as ISO strings (SQLAlchemy's type processors are skipped here).
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def load_badge_subject(slug):
    """The few columns a badge needs, or None for an unknown slug.

    Measured (bench/badge.py, SQLite): through a SQLAlchemy Connection this lookup cost
    ~270 µs, mostly the per-transaction BEGIN hook and result processing; on the pooled
    DBAPI connection it costs ~45 µs, still one indexed query per request, so a status
    change shows on the very next request. The SQL is SQLAlchemy's own, compiled for the
    engine's dialect (SQLite or PostgreSQL); the pool rolls back on return."""
    engine = db.engine
    sql, positional = _compiled_subject(engine.dialect)
    params = tuple(slug for _ in positional) if positional else {"slug": slug}
    driver_error = engine.dialect.loaded_dbapi.Error
    try:
        raw = engine.raw_connection()
    except driver_error as exc:
        # A server that does not answer (PostgreSQL down): the pool hands us the driver's
        # own error; wrapped like the query's below, so the answer is 503, not 500.
        raise DBAPIError.instance(None, None, exc, driver_error) from exc
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        finally:
            cursor.close()
    except driver_error as exc:
        # Re-raised as SQLAlchemy's own exception (OperationalError...), which the app's
        # error handling knows how to answer (503), as for any other query.
        raise DBAPIError.instance(sql, params, exc, driver_error) from exc
    finally:
        raw.close()
    if row is None:
        return None
    slug, name, language, status, since, until, version = row
    return BadgeSubject(slug, name, language, status, _as_date(since), _as_date(until), version)


def umbrella():
    """The umbrella's name and colours from configuration, made safe for drawing."""
    config = current_app.config
    return _umbrella(config.get("UMBRELLA_NAME"), config.get("UMBRELLA_COLOR"), config.get("UMBRELLA_ACCENT"))


def _umbrella(name, color, accent):
    return (
        render.clean_name(name or "Agora"),
        render.parse_color(color, "#1d4e89"),
        render.parse_color(accent, "#f2a900"),
    )


@dataclass(frozen=True)
class BadgeVariant:
    spec: render.BadgeSpec
    fmt: str
    scale: str
    key: str

    @property
    def etag(self):
        return self.key[:40]


def badge_variant(subject, options, fmt):
    """The spec of the badge to draw for this organisation and request, with its cache key.

    The key covers every input of the drawing (and the slug and badge_version, so an admin
    can re-issue badges); the neutral badge carries no name and is shared by all. Memoised
    on all of those inputs, today's date included (membership ends at midnight)."""
    config = current_app.config
    return _badge_variant(
        subject, tuple(sorted(options.items())), fmt, date.today(),
        (config.get("UMBRELLA_NAME"), config.get("UMBRELLA_COLOR"), config.get("UMBRELLA_ACCENT")),
    )


@lru_cache(maxsize=4096)
def _badge_variant(subject, option_items, fmt, today, umbrella_config):
    options = dict(option_items)
    state = membership_state(subject.membership_status, subject.member_since, subject.member_until, today)
    name, color, accent = _umbrella(*umbrella_config)
    if state == "member":
        since = subject.member_since
        spec = render.BadgeSpec(
            state, options["lang"], options["style"], options["theme"], name, color, accent,
            render.clean_name(subject.name), str(since.year if since else today.year),
            since is not None,
        )
        owner = (subject.slug, subject.badge_version)
    else:
        spec = render.BadgeSpec(state, options["lang"], options["style"], options["theme"], name, color, accent)
        owner = ()
    scale = options["scale"] or ""
    raw = repr((RENDER_DIGEST, fmt, scale, spec.parts(), owner)).encode("utf-8")
    return BadgeVariant(spec, fmt, scale, hashlib.sha256(raw).hexdigest())


def badge_bytes(variant):
    """The rendered bytes of a variant, drawn at most once per process (usually once overall)."""
    cache = current_app.extensions["agora_badge_cache"]

    def draw():
        svg = render.render_svg(variant.spec)
        if variant.fmt == "svg":
            return svg
        return render.render_png(svg, variant.spec.style, variant.scale)

    return cache.get(variant.key, variant.fmt, draw)


# -- organisations, verification and the directory ------------------------------------------

def has_public_page(membership_status):
    """Whether a council has a verification page and a badge: only once the umbrella has
    approved it. A pending council may be no more than a name someone typed while
    registering; it stays unknown to the public (404), like a slug nobody uses."""
    return membership_status != "pending"


def find_organisation(slug):
    """The organisation with this public page, or None (unknown or not yet approved)."""
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    return org if org is not None and has_public_page(org.membership_status) else None


def organisation_state(org):
    return membership_state(org.membership_status, org.member_since, org.member_until)


def _active_members_query():
    today = date.today()
    return select(Organisation).where(
        Organisation.membership_status == "active",
        (Organisation.member_since.is_(None)) | (Organisation.member_since <= today),
        (Organisation.member_until.is_(None)) | (Organisation.member_until >= today),
    )


@dataclass
class DirectoryPage:
    items: list
    total: int
    page: int
    pages: int
    countries: list
    provinces: list  # (code, label)
    municipalities: list
    province: str  # the chosen province's code


def search_directory(lang, q="", country="", province="", municipality="", page=1):
    """Active member organisations matching a name search and place filters.

    The list of member councils is small (hundreds), so filtering happens in Python:
    that gives accent- and case-insensitive matching ('liege' finds 'Liège') on SQLite
    and PostgreSQL alike. `province` is a code, or a name in either language (older links)."""
    members = db.session.scalars(_active_members_query()).all()
    words = fold(q).split()
    country = country if country in COUNTRIES else ""
    wanted_province = (find_province(province, country or None) or province) if province else None
    wanted_municipality = fold(municipality)

    def in_country(org):
        return not country or org.country == country

    def in_province(org):
        return wanted_province is None or org.province == wanted_province

    def in_municipality(org):
        return not wanted_municipality or fold(org.municipality) == wanted_municipality

    def matches(org):
        haystack = fold(f"{org.name} {org.municipality}")
        return all(word in haystack for word in words)

    hits = [o for o in members if in_country(o) and in_province(o) and in_municipality(o) and matches(o)]
    hits.sort(key=lambda o: (fold(o.name), o.id))
    pages = max(1, math.ceil(len(hits) / DIRECTORY_PAGE_SIZE))
    page = min(max(1, page), pages)
    start = (page - 1) * DIRECTORY_PAGE_SIZE

    # Filter choices narrow with the filters above them (provinces of the chosen country...).
    countries = sorted({o.country for o in members})
    provinces = {o.province: province_label(o.province, lang) for o in members if in_country(o) and o.province}
    municipalities = {}
    for o in members:
        if in_country(o) and in_province(o) and o.municipality:
            municipalities.setdefault(fold(o.municipality), o.municipality)
    return DirectoryPage(
        items=hits[start:start + DIRECTORY_PAGE_SIZE], total=len(hits), page=page, pages=pages,
        countries=countries,
        provinces=sorted(provinces.items(), key=lambda item: fold(item[1])),
        municipalities=sorted(municipalities.values(), key=fold),
        province=wanted_province or "",
    )


# -- URLs and copy-paste snippets --------------------------------------------------------

def absolute(path):
    """Snippets are pasted into other sites and mail: always the canonical BASE_URL."""
    return current_app.config["BASE_URL"].rstrip("/") + path


def badge_url(slug, fmt, lang, style, theme, scale=None, download=False):
    args = dict(slug=slug, lang=lang, style=style, theme=theme)
    if fmt == "png":
        args["scale"] = scale or "1"
    if download:
        args["download"] = "1"
    return absolute(url_for(f"badges.{fmt}", **args))


def badge_kit(org, lang, style, theme):
    """Everything the Badge page and the verification page offer for one variant."""
    name, _color, _accent = umbrella()
    verify = absolute(url_for("badges.verify", lang=lang, slug=org.slug))
    alt = render.alt_text("member", lang, name, render.clean_name(org.name))
    width, height = render.SIZES[style]
    svg = badge_url(org.slug, "svg", lang, style, theme)
    png2 = badge_url(org.slug, "png", lang, style, theme, scale="2")
    snippet = '<a href="{verify}"><img src="{src}" width="{w}" height="{h}" alt="{alt}"></a>'
    website = Markup(snippet).format(verify=verify, src=svg, w=width, h=height, alt=alt)
    # Mail: the 2x PNG shown at 1x size stays sharp on high-density screens.
    signature = Markup(snippet).format(verify=verify, src=png2, w=width, h=height, alt=alt)
    return {
        "lang": lang, "style": style, "theme": theme, "width": width, "height": height,
        "verify_url": verify, "alt": alt,
        "svg_url": svg,
        "png1_url": badge_url(org.slug, "png", lang, style, theme, scale="1"),
        "png2_url": png2,
        "print_url": badge_url(org.slug, "png", lang, style, theme, scale="print", download=True),
        "svg_download_url": badge_url(org.slug, "svg", lang, style, theme, download=True),
        "print_px": render.png_size(style, "print"),
        "print_mm": render.print_size_mm(style),
        "print_dpi": render.PRINT_DPI,
        "website_snippet": website,
        "signature_snippet": signature,
    }
