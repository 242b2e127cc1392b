"""Browser fixtures: gunicorn on 127.0.0.1 and Debian's headless Chromium via Playwright."""
import os
import shutil
from pathlib import Path

import pytest

from tests.live import LiveServer

from . import support

HERE = Path(__file__).resolve().parent
ARTIFACTS = Path(os.environ.get("AGORA_ARTIFACTS", HERE.parent.parent / "artifacts"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = HERE / "vendor" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def artifacts():
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed (run tests/e2e/setup.sh as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def axe_source():
    if not AXE.exists():
        pytest.skip("axe-core is not vendored (run tests/e2e/setup.sh)")
    return AXE.read_text()


def build_site(server, demo=True):
    """A migrated database (as in production: `db upgrade`), optionally with demo content."""
    server.flask("db", "upgrade")
    if demo:
        server.flask("forum", "demo", "--if-empty")
        # What the job process does in `make run`: index the outbox rows the demo wrote.
        server.flask("search", "sync")


GOLDEN_MEMBERS = 50


@pytest.fixture(scope="session")
def golden_site(tmp_path_factory):
    """One site built per run (migrations, demo content, search index, GOLDEN_MEMBERS extra
    members with support.MEMBER_PASSWORD); each live server starts on a copy of it."""
    instance = tmp_path_factory.mktemp("golden-instance")
    builder = LiveServer(instance)  # for its environment and CLI only; never started
    build_site(builder)
    support.create_members(builder, GOLDEN_MEMBERS, prefix="lid")
    return instance


def site_from(golden, target):
    """A fresh copy of the golden site's instance folder (database, index, caches)."""
    shutil.copytree(golden, target, dirs_exist_ok=True)
    return target


def golden_members(count):
    return [f"lid{i}@load.example" for i in range(min(count, GOLDEN_MEMBERS))]


def mail_env(smtp_server):
    return {"AGORA_MAIL_SERVER": "127.0.0.1", "AGORA_MAIL_PORT": str(smtp_server.port)}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, smtp_server, golden_site):
    """A fresh site: migrated database, demo content, real SMTP, 2 gunicorn workers."""
    instance = site_from(golden_site, tmp_path_factory.mktemp("live-instance"))
    server = LiveServer(instance, env=mail_env(smtp_server))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def new_context(browser, live_server):
    """Open browser contexts (separate people) on the live site; closed after the test."""
    contexts = []

    def make(locale="nl-NL", **kwargs):
        context = support.new_context(browser, live_server, locale=locale, **kwargs)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
