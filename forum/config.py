"""Configuration read from AGORA_* environment variables, with embedded defaults."""
import os
import secrets
from pathlib import Path

MB = 1024 * 1024
# The demo accounts' password unless AGORA_DEMO_PASSWORD says otherwise (tests sign in with it).
DEMO_PASSWORD = "Agora-demo-2026"


def _bool(value):
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def instance_path_from_env():
    """The folder holding everything a site writes: database, index, key, mail, caches."""
    return str(Path(os.environ.get("AGORA_INSTANCE_PATH", "instance")).resolve())


def _secret_key(instance_path):
    """AGORA_SECRET_KEY, or a key generated once and kept in the instance folder."""
    if os.environ.get("AGORA_SECRET_KEY"):
        return os.environ["AGORA_SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        # O_EXCL: two workers starting at once must end up with the same key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        import time
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty")


def build_config(instance_path):
    """Defaults and environment; create_app() applies explicit overrides on top."""
    env = os.environ.get
    base_url = env("AGORA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    secure = base_url.startswith("https://")
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": env(
            "AGORA_DATABASE_URL", "sqlite:///" + str(Path(instance_path) / "agora.db")
        ),
        "BASE_URL": base_url,
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        # Every request body, text only; a member's upload to a posting page may be larger
        # (forum/attachments raises it for the files). Each text field of a multipart
        # body stays under MAX_FORM_MEMORY_SIZE even then: 20x the longest post.
        "MAX_CONTENT_LENGTH": int(env("AGORA_MAX_CONTENT_LENGTH", 1 * MB)),
        "MAX_FORM_MEMORY_SIZE": 1 * MB,
        "WTF_CSRF_TIME_LIMIT": 60 * 60 * 8,
        # Mail: SMTP when AGORA_MAIL_SERVER is set, otherwise files in instance/mail/.
        "MAIL_SERVER": env("AGORA_MAIL_SERVER", ""),
        "MAIL_PORT": int(env("AGORA_MAIL_PORT", 25)),
        "MAIL_USERNAME": env("AGORA_MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env("AGORA_MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool(env("AGORA_MAIL_USE_TLS", "0")),
        "MAIL_SENDER": env("AGORA_MAIL_SENDER", "Agora <noreply@agora.invalid>"),
        "UMBRELLA_NAME": env("AGORA_UMBRELLA_NAME", "Koepel Adviesraden"),
        "UMBRELLA_COLOR": env("AGORA_UMBRELLA_COLOR", "#1d4e89"),
        "UMBRELLA_ACCENT": env("AGORA_UMBRELLA_ACCENT", "#f2a900"),
        "SEARCH_BACKEND": env("AGORA_SEARCH_BACKEND", "whoosh"),
        # Local time for scheduled jobs (daily digest after 07:00, weekly on Mondays).
        "TIMEZONE": env("AGORA_TIMEZONE", "Europe/Amsterdam"),
        "SEARCH_INDEX_PATH": str(Path(instance_path) / "search-index"),
        "MAIL_FOLDER": str(Path(instance_path) / "mail"),
        # Token lifetimes in seconds.
        "CONFIRM_TOKEN_MAX_AGE": 60 * 60 * 48,
        "RESET_TOKEN_MAX_AGE": 60 * 60 * 2,
        # Rate limits: (count, seconds).
        "RATELIMIT_LOGIN_IP": (6, 60),
        "RATELIMIT_LOGIN_ACCOUNT": (10, 3600),
        "RATELIMIT_RESET_IP": (6, 60),
        "RATELIMIT_RESET_ACCOUNT": (5, 3600),
        "RATELIMIT_REGISTER_IP": (10, 3600),
        "RATELIMIT_ENABLED": True,
        "EDIT_WINDOW_SECONDS": int(env("AGORA_EDIT_WINDOW_SECONDS", 60 * 60 * 24)),
        # Whole reading pages kept per worker (forum/pagecache.py); 0 renders every request.
        "PAGE_CACHE": env("AGORA_PAGE_CACHE", "1") != "0",
        "FLAGS_TO_HIDE": int(env("AGORA_FLAGS_TO_HIDE", 3)),
        # Weeks after an advice was sent without a recorded answer before its poster is reminded (once).
        "ADVICE_REMINDER_WEEKS": int(env("AGORA_ADVICE_REMINDER_WEEKS", 8)),
        "PREMODERATE_FIRST_POSTS": int(env("AGORA_PREMODERATE_FIRST_POSTS", 2)),
        # A member's first events (planned for their council) wait for a moderator.
        "PREMODERATE_FIRST_EVENTS": int(env("AGORA_PREMODERATE_FIRST_EVENTS", 2)),
        "NEW_MEMBER_MAX_LINKS": int(env("AGORA_NEW_MEMBER_MAX_LINKS", 2)),
        "SEARCH_SYNC_AFTER_REQUEST": True,
        # Seconds a request that wrote waits for the search index lock before leaving its
        # outbox rows to the drainer at work, the next request or the job process. Waiting
        # put up to a second on the answer to a post under load.
        "SEARCH_DRAIN_WAIT": float(env("AGORA_SEARCH_DRAIN_WAIT", "0")),
        # Seconds after a drain during which writing requests leave their outbox rows for the
        # next one (or the job process, every few seconds): under a burst of posts the index
        # takes one commit per interval instead of one per post. 0: every request drains.
        "SEARCH_DRAIN_INTERVAL": float(env("AGORA_SEARCH_DRAIN_INTERVAL", "3")),
        # Attachments: per file, per member in a rolling 24 hours (0: no quota), per post;
        # images are scaled down to MAX_SIDE and refused above MAX_IMAGE_PIXELS (bombs).
        "ATTACHMENT_MAX_BYTES": int(env("AGORA_ATTACHMENT_MAX_BYTES", 10 * MB)),
        "ATTACHMENT_DAILY_QUOTA": int(env("AGORA_ATTACHMENT_DAILY_QUOTA", 50 * MB)),
        "ATTACHMENT_MAX_FILES": int(env("AGORA_ATTACHMENT_MAX_FILES", 10)),
        "ATTACHMENT_IMAGE_MAX_SIDE": int(env("AGORA_ATTACHMENT_IMAGE_MAX_SIDE", 2560)),
        "ATTACHMENT_MAX_IMAGE_PIXELS": int(env("AGORA_ATTACHMENT_MAX_IMAGE_PIXELS", 40_000_000)),
        "ATTACHMENT_PATH": env("AGORA_ATTACHMENT_PATH") or str(Path(instance_path) / "attachments"),
        "DEMO_PASSWORD": env("AGORA_DEMO_PASSWORD", DEMO_PASSWORD),
        # Moderators and admins must set up a second factor before staff pages open.
        "STAFF_SECOND_FACTOR": _bool(env("AGORA_STAFF_SECOND_FACTOR", "1")),
    }
