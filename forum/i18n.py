"""Language selection: the one place that decides whether a page is Dutch or French."""
from flask import current_app, g, has_request_context, request, url_for
from flask_babel import format_date, format_datetime, get_locale, get_translations
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


def _babel_state():
    """Flask-Babel's per-request namespace (None outside an application context).

    A page asks for its language and its translations some 700 times; Flask-Babel's own
    get_locale() and get_translations() walk four context look-ups each time, which was
    about a sixth of a thread page's time. What Flask-Babel already chose for the request
    (or force_locale set) is read here directly instead.
    """
    try:
        return g.get("_flask_babel")
    except RuntimeError:
        return None


def _babel_locale():
    """The locale Flask-Babel already chose for this request; None when it has not yet."""
    return getattr(_babel_state(), "babel_locale", None)


def current_language():
    locale = _babel_locale()
    if locale is not None:
        return locale.language
    return str(get_locale() or DEFAULT_LANGUAGE)[:2]


def page_translations():
    """The gettext translations of the request's language: Flask-Babel's own object, which
    its Domain keeps per locale for the life of the app, found here with one look-up."""
    state = _babel_state()
    locale = getattr(state, "babel_locale", None)
    domain = getattr(state, "babel_domain", None)
    if locale is None or domain is None:
        return get_translations()  # chooses the locale and domain for the next calls
    by_locale = domain.__dict__.setdefault("agora_by_locale", {})
    key = (locale.language, locale.territory)
    translations = by_locale.get(key)
    if translations is None:
        translations = by_locale[key] = get_translations()
    return translations


def install_gettext(app):
    """Jinja's _(), ngettext() and pgettext() through page_translations(), as Flask-Babel's
    own callables do through get_translations()."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


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


class _FormMessages:
    """WTForms' own messages (a few validators' texts) in the page's language, read once per
    process and language. Flask-WTF reads them from disk on every request that builds a form
    unless the request already holds them (request.wtforms_translations): a thread page
    spent more on that than on the rest of its reply form."""

    _loaded = {}

    def _translations(self):
        from babel import support
        from wtforms.i18n import messages_path

        locale = str(get_locale())
        found = self._loaded.get(locale)
        if found is None:
            found = self._loaded[locale] = support.Translations.load(messages_path(), [locale], domain="wtforms")
        return found

    def ugettext(self, string):
        return self._translations().ugettext(string)

    def ungettext(self, singular, plural, n):
        return self._translations().ungettext(singular, plural, n)


FORM_MESSAGES = _FormMessages()


def init_app(app):
    babel.init_app(app, locale_selector=best_language)
    install_gettext(app)

    @app.before_request
    def form_messages():
        request.wtforms_translations = FORM_MESSAGES

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
