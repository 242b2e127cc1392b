"""Language selection: the one place that decides whether a page is Dutch or French."""
from flask import current_app, g, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, get_locale
from flask_login import current_user

from .extensions import babel
from .models import LANGUAGES

DEFAULT_LANGUAGE = "nl"
COOKIE = "agora_lang"


def _from_path():
    first = request.path.lstrip("/").split("/", 1)[0]
    return first if first in LANGUAGES else None


def best_language():
    """URL prefix, then the signed-in user's choice, then the cookie, then Accept-Language, then Dutch."""
    if not has_request_context():
        return g.get("lang") or DEFAULT_LANGUAGE
    if "lang" in g:
        return g.lang
    lang = _from_path()
    if lang is None and current_user and current_user.is_authenticated:
        lang = current_user.locale if current_user.locale in LANGUAGES else None
    if lang is None:
        cookie = request.cookies.get(COOKIE)
        lang = cookie if cookie in LANGUAGES else None
    if lang is None:
        try:
            lang = request.accept_languages.best_match(LANGUAGES)
        except Exception:  # a malformed header is no reason to fail
            lang = None
    return lang or DEFAULT_LANGUAGE


def current_language():
    return str(get_locale() or DEFAULT_LANGUAGE)[:2]


def other_language(lang=None):
    return "fr" if (lang or current_language()) == "nl" else "nl"


def switch_url(lang):
    """The current page in another language (or that language's home when there is none)."""
    endpoint = request.endpoint
    if endpoint and request.url_rule and "lang" in request.url_rule.arguments:
        args = dict(request.view_args or {})
        args.update(request.args.to_dict())
        args["lang"] = lang
        try:
            return url_for(endpoint, **args)
        except Exception:
            pass
    return url_for("main.home", lang=lang)


def init_app(app):
    babel.init_app(app, locale_selector=best_language)

    @app.url_value_preprocessor
    def pull_lang(endpoint, values):
        if values and "lang" in values:
            lang = values.pop("lang")
            if lang not in LANGUAGES:
                from flask import abort
                g.lang = best_language()
                abort(404)
            g.lang = lang

    @app.url_defaults
    def add_lang(endpoint, values):
        if "lang" in values or not endpoint:
            return
        if current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
            values["lang"] = current_language()

    @app.after_request
    def remember_lang(response):
        lang = g.get("lang")
        if lang and request.cookies.get(COOKIE) != lang:
            response.set_cookie(
                COOKIE, lang, max_age=60 * 60 * 24 * 365, samesite="Lax", httponly=True,
                secure=app.config["SESSION_COOKIE_SECURE"],
            )
        return response

    app.jinja_env.globals.update(
        current_language=current_language,
        other_language=other_language,
        switch_url=switch_url,
        format_date=format_date,
        format_datetime=format_datetime,
        LANGUAGES=LANGUAGES,
    )
