"""Agora: the application factory."""
import importlib
import logging
import os
from pathlib import Path

from flask import Flask
from jinja2 import FileSystemBytecodeCache

from .config import build_config, instance_path_from_env
from .extensions import csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


class _BytecodeCache(FileSystemBytecodeCache):
    """Only a speed-up: a full or read-only disk must not break rendering (the 503 page
    for a full disk is itself a template)."""

    def load_bytecode(self, bucket):
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass

    def dump_bytecode(self, bucket):
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def create_app(config=None):
    """Build an Agora app; `config` overrides the environment (tests pass their own)."""
    areas = _import_areas()  # first: shared modules (templating) import from the areas too
    config = dict(config or {})
    instance_path = str(Path(config.pop("INSTANCE_PATH", None) or instance_path_from_env()).resolve())
    os.makedirs(instance_path, exist_ok=True)
    app = Flask(
        __name__,
        instance_path=instance_path,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(build_config(instance_path))
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")
    app.config.update(config)
    # A database server (PostgreSQL) may have dropped an idle connection: check it before
    # use. A SQLite file cannot; there the check was one more statement on every request.
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
        "pool_pre_ping": not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")})
    logging.basicConfig(level=logging.INFO)

    from . import database  # noqa: F401  (registers the SQLite engine hooks)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)

    # Compiled templates are cached on disk (keyed on the source's checksum, so edits are
    # picked up): each gunicorn worker, and each test's fresh app, skips recompiling them.
    template_cache = app.config.get("TEMPLATE_CACHE_DIR") or os.path.join(instance_path, "cache", "templates")
    try:
        os.makedirs(template_cache, exist_ok=True)
    except OSError:  # a read-only instance folder: render without the cache
        pass
    else:
        app.jinja_env.bytecode_cache = _BytecodeCache(template_cache)

    from . import i18n, security, errors, templating, httpcache, pagecache

    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    httpcache.init_app(app)
    pagecache.init_app(app)

    from auth import init_app as init_auth
    init_auth(app)

    from .views import bp as main_bp
    app.register_blueprint(main_bp)

    for area in areas:
        area.init_app(app)  # its blueprints, CLI commands and signal receivers
    return app


# Every area, by name, in registration order. None is optional: a site without, say,
# attachments would keep a deleted member's files, so a broken area stops start-up.
AREAS = (
    "forum.threads",
    "forum.moderation",
    "forum.admin",
    "forum.privacy",
    "forum.badges",
    "forum.attachments",
    "forum.advice",
    "forum.api",
    "forum.feeds",
    "forum.events",
    "forum.mailin",
    "forum.io",
    "forum.jobs",
    "forum.cli",
    "forum.backup",
    "search",
)


def _import_areas():
    """Every area's package; a missing or broken one stops start-up with its name."""
    modules = []
    for name in AREAS:
        try:
            modules.append(importlib.import_module(name))
        except Exception as exc:
            raise RuntimeError(f"Agora could not load the area '{name}': {exc}") from exc
    return modules
