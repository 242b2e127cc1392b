"""Badge images for other sites and mail, the member directory, verification pages, the members' Badge page."""
from flask import Blueprint, Response, abort, render_template, request
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_login import current_user

from ..i18n import current_language
from ..models import LANGUAGES
from ..permissions import member_required
from . import render
from .serving import BadgeNotFound, badge_reply, public_headers
from .services import InvalidBadgeOption, badge_kit, find_organisation, organisation_state, search_directory, umbrella

# The area's own stylesheet, so its layout rules live with it (no inline styles under the CSP).
bp = Blueprint("badges", __name__, static_folder="static", static_url_path="/badges/static")


# -- images: /badge/<slug>.svg and .png ---------------------------------------------------
# These answer thousands of embedding sites and mail clients. They must not read the
# session, current_user or anything that picks a language from cookies, and must not
# render base.html: any of those would add Set-Cookie or Vary: Cookie to a public,
# cacheable response. Errors are therefore answered here as short plain text. Hits
# usually never get here: serving.BadgeFastPath answers them before Flask does.

@bp.get("/badge/<slug>.svg")
def svg(slug):
    return _serve(slug, "svg")


@bp.get("/badge/<slug>.png")
def png(slug):
    return _serve(slug, "png")


def _serve(slug, fmt):
    try:
        reply = badge_reply(slug, fmt, request.args, request.if_none_match)
    except BadgeNotFound:
        return badge_error(404, "not_found")
    except InvalidBadgeOption as exc:
        return badge_error(400, "invalid", exc)
    return Response(reply.body, status=reply.status, headers=reply.headers)


def badge_error(status, kind, exc=None):
    """A short plain-text error. force_locale picks the language from the `lang` parameter
    (Dutch otherwise) without running the locale selector, which would read the session."""
    lang = request.args.get("lang")
    with force_locale(lang if lang in LANGUAGES else LANGUAGES[0]):
        if kind == "invalid":
            text = _("Unknown value “%(value)s” for %(name)s; use one of: %(allowed)s.",
                     value=exc.value[:40], name=exc.name, allowed=", ".join(exc.allowed))
        else:
            text = _("There is no organisation with this badge address.")
    headers = [("Content-Type", "text/plain; charset=utf-8")] + public_headers(60)
    return Response(text + "\n", status=status, headers=headers)


# -- HTML pages -------------------------------------------------------------------------------

@bp.get("/<lang>/members")
def directory():
    args = {key: request.args.get(key, "").strip()[:200] for key in ("q", "country", "province", "municipality")}
    page = request.args.get("page", 1, type=int) or 1
    lang = current_language()
    result = search_directory(lang, page=page, **args)
    return render_template(
        "badges/directory.html", result=result, args=args, country_names=country_names(),
        selected_province=result.province,
        filter_args={k: v for k, v in args.items() if v},
    )


def country_names():
    return {"NL": _("Netherlands"), "BE": _("Belgium")}


@bp.get("/<lang>/members/<slug>")
def verify(slug):
    org = find_organisation(slug)
    if org is None:
        abort(404)
    state = organisation_state(org)
    lang = current_language()
    kits = [badge_kit(org, lang, style, "light") for style in render.STYLES] if state == "member" else []
    headline, label = describe_membership(org, state)
    return render_template(
        "badges/verify.html", org=org, state=state, kits=kits, headline=headline, status_label=label,
        country_names=country_names(),
    )


def describe_membership(org, state):
    """A plain sentence and a short label for the membership as it stands today."""
    names = dict(name=org.name, umbrella=umbrella()[0])
    if state == "member":
        return _("%(name)s is a member of %(umbrella)s.", **names), _("Active member")
    if org.membership_status == "lapsed":
        return (_("%(name)s is no longer a member of %(umbrella)s: its membership has lapsed.", **names),
                _("Membership lapsed"))
    if org.membership_status == "ended":
        return (_("%(name)s is no longer a member of %(umbrella)s: its membership has ended.", **names),
                _("Membership ended"))
    if state == "former":  # active on paper, but the end date has passed
        return (_("%(name)s is no longer a member of %(umbrella)s: its membership ran until %(date)s.",
                  date=format_date(org.member_until, "long"), **names), _("Membership expired"))
    if org.membership_status == "active" and org.member_since:
        return (_("%(name)s is not yet a member of %(umbrella)s: its membership starts on %(date)s.",
                  date=format_date(org.member_since, "long"), **names), _("Membership not started"))
    return (_("%(name)s is not a member of %(umbrella)s: its membership has not started.", **names),
            _("Not a member (application pending)"))


@bp.get("/<lang>/badge")
@member_required
def member_badge():
    org = current_user.organisation
    state = organisation_state(org) if org is not None else "none"
    if org is None or state != "member":
        return render_template("badges/member.html", org=org, state=state, kit=None, previews=[])
    choice = {
        "badge_lang": _choose("badge_lang", LANGUAGES, current_language()),
        "style": _choose("style", render.STYLES, render.STYLES[0]),
        "theme": _choose("theme", render.THEMES, render.THEMES[0]),
    }
    kit = badge_kit(org, choice["badge_lang"], choice["style"], choice["theme"])
    previews = [
        dict(lang=lang, style=style, theme=theme, width=render.SIZES[style][0], height=render.SIZES[style][1],
             alt=render.alt_text("member", lang, umbrella()[0], render.clean_name(org.name)),
             selected=(lang, style, theme) == (choice["badge_lang"], choice["style"], choice["theme"]))
        for lang in LANGUAGES for style in render.STYLES for theme in render.THEMES
    ]
    return render_template("badges/member.html", org=org, state=state, kit=kit, previews=previews, choice=choice)


def _choose(name, allowed, default):
    """The Badge page is a form, not a badge URL: an unknown choice falls back to the default."""
    value = request.args.get(name)
    return value if value in allowed else default
