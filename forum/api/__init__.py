"""The read-only JSON API under /api/v1: themes, threads with their posts, member councils."""


def init_app(app):
    from ..extensions import csrf
    from .views import bp

    # Only GET routes: nothing here changes state, and API clients carry no CSRF token.
    csrf.exempt(bp)
    app.register_blueprint(bp)
