"""Keep public, cacheable endpoints free of the session cookie and of `Vary: Cookie`."""
from flask import request


class CacheableEndpointsSessionInterface:
    """Wraps the app's session interface; for listed endpoints an unmodified session is not saved.

    Flask (3.1.3+) marks the session as accessed whenever anything touches the `session`
    proxy, and Flask-Login's after_request hook does so on every response, so every
    response would carry `Vary: Cookie`. A badge does not depend on who asks: a shared
    cache must be able to keep one copy for everybody. For the endpoints named in
    app.extensions["agora_cacheable_endpoints"] nothing is written back unless the
    session was really modified (which would be a bug there, and the tests look for it).
    Everything else is delegated unchanged to the wrapped interface.
    """

    def __init__(self, inner, endpoints):
        self._inner = inner
        self._endpoints = endpoints

    def save_session(self, app, session, response):
        if request.endpoint in self._endpoints and not session.modified:
            return None
        return self._inner.save_session(app, session, response)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def install(app, endpoints):
    """Add endpoints to the cacheable set (the wrapper is installed once per app)."""
    cacheable = app.extensions.setdefault("agora_cacheable_endpoints", set())
    cacheable.update(endpoints)
    if not isinstance(app.session_interface, CacheableEndpointsSessionInterface):
        app.session_interface = CacheableEndpointsSessionInterface(app.session_interface, cacheable)
