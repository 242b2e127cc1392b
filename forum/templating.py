"""Template globals and filters shared by every area."""
import functools
import logging

from flask import g
from flask_babel import format_decimal, format_timedelta
from flask_babel import gettext as _
from flask_login import current_user

from search.analysis import detect_language

from .markup import plain_text
from .models import utcnow
from .moderation.services import review_count
from .permissions import TEMPLATE_POLICY, can_moderate, is_member
from .places import province_name

log = logging.getLogger(__name__)


def _menu(name, items):
    """A menu as [(endpoint, address, label)], built once per language and script root:
    a dozen url_for and gettext calls a page no longer makes."""
    from flask import current_app, request, url_for

    from .i18n import current_language

    menus = current_app.extensions.setdefault("agora_menus", {})
    key = (name, current_language(), request.script_root)
    if key not in menus:
        menus[key] = [(endpoint, url_for(endpoint), str(label)) for endpoint, label in items()]
    return menus[key]


def main_menu():
    """The header menu."""
    return _menu("main", _main_menu_items)


def footer_menu():
    return _menu("footer", _footer_menu_items)


def _main_menu_items():
    return [
        ("threads.latest", _("Latest")),
        ("threads.themes", _("Themes")),
        ("threads.questions", _("Questions")),
        ("threads.practices", _("Practices")),
        ("threads.initiatives", _("Initiatives")),
        ("threads.vacancies", _("Vacancies")),
        ("events.upcoming", _("Events")),
        ("badges.directory", _("Member councils")),
    ]


def _footer_menu_items():
    return [
        ("main.about", _("About Agora")),
        ("main.privacy", _("Privacy statement")),
        ("main.terms", _("Terms of use")),
        ("feeds.latest", _("Atom feed")),
    ]


def _safe_count(fn):
    """Header counters must never break a page (error pages render the header too)."""
    try:
        return fn() or 0
    except Exception:
        log.warning("header counter failed", exc_info=True)
        return 0


# The header counts unread notifications up to this many and shows "99+" beyond: a member
# who reads the digest and never the page gathers thousands, counted on every page.
UNREAD_SHOWN = 99


@functools.cache
def _unread_statement():
    """The member's (`:uid`) unread notifications counted up to UNREAD_SHOWN + 1, built once:
    every page of a member that does not read it along with its own statement asks it."""
    from .extensions import db
    from .models import Notification

    unread = (db.select(Notification.id)
              .where(Notification.user_id == db.bindparam("uid"), Notification.read_at.is_(None))
              .limit(UNREAD_SHOWN + 1).subquery())
    return db.select(db.func.count()).select_from(unread)


def unread_notifications():
    from .extensions import db

    if not is_member(current_user):
        return 0
    if "agora_unread_notifications" not in g:  # or read along with the page's reader facts
        g.agora_unread_notifications = _safe_count(
            lambda: db.session.scalar(_unread_statement(), {"uid": current_user.id}))
    return g.agora_unread_notifications


def moderation_counts():
    """Total waiting in the review queue."""
    if not can_moderate(current_user):
        return 0
    return _safe_count(review_count)


def author_name(user):
    """The name shown for a post's author: deleted accounts read "former member"."""
    if user is None or getattr(user, "deleted_at", None) is not None:
        return _("former member")
    return user.name


def post_language(post, thread=None):
    """The language a post is written in, for its lang attribute: replies may be in the
    other language than their thread (Belgian councils answer in either)."""
    thread = thread or post.thread
    if post.number == 1:
        return thread.language
    return detect_language(plain_text(post.body_html), default=thread.language)


def init_app(app):
    app.jinja_env.globals.update(TEMPLATE_POLICY)
    app.jinja_env.globals.update(
        utcnow=utcnow,
        main_menu=main_menu,
        footer_menu=footer_menu,
        unread_notifications=unread_notifications, unread_shown=UNREAD_SHOWN,
        moderation_counts=moderation_counts,
        author_name=author_name,
        post_language=post_language,
        province_name=province_name,
    )
    app.jinja_env.filters["author_name"] = author_name
    app.jinja_env.filters["number"] = format_decimal
    app.jinja_env.add_extension("jinja2.ext.do")

    @app.template_filter("ago")
    def ago(value):
        if value is None:
            return ""
        return format_timedelta(value - utcnow(), add_direction=True, threshold=0.9)
