"""Import and export of forum content as JSON: `forum import FILE.json`, `forum export FILE.json`."""


def init_app(app):
    # The commands attach themselves to the `forum` group that forum.cli registers.
    from . import cli  # noqa: F401
