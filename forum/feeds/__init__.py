"""Atom feeds of public content: latest threads overall, per theme and per kind."""


def init_app(app):
    from .views import bp

    app.register_blueprint(bp)
