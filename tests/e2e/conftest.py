"""Browser fixtures: gunicorn on 127.0.0.1 and Debian's headless Chromium via Playwright."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import ROOT, LiveServer

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


CREATE_ALL = "from wsgi import app\nfrom forum.extensions import db\nwith app.app_context(): db.create_all()"


def build_site(server, demo=True):
    """A migrated database (as in production: `db upgrade`), optionally with demo content."""
    if os.environ.get("AGORA_E2E_CREATE_ALL"):
        # Only for a working tree whose models are ahead of migrations/ (the lead
        # regenerates them): builds the schema from the models instead.
        subprocess.run([sys.executable, "-c", CREATE_ALL], cwd=ROOT, env=server.env, check=True)
    else:
        server.flask("db", "upgrade")
    if demo:
        server.flask("forum", "demo", "--if-empty")
        # What the job process does in `make run`: index the outbox rows the demo wrote.
        server.flask("search", "sync")


def mail_env(smtp_server):
    return {"AGORA_MAIL_SERVER": "127.0.0.1", "AGORA_MAIL_PORT": str(smtp_server.port)}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, smtp_server):
    """A fresh site: migrated database, demo content, real SMTP, 2 gunicorn workers."""
    instance = tmp_path_factory.mktemp("live-instance")
    server = LiveServer(instance, env=mail_env(smtp_server))
    build_site(server)
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
