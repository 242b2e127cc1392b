"""The skips CI accepts. Under CI=true (or AGORA_STRICT_SKIPS=1) any other skip fails the run.

A skip hides a test that did not run; in CI that must be a decision, not an accident (a
missing Chromium once turned 116 browser tests into skips and a green run). Each allowed
reason is listed with why it is fine for that run.
"""
import os

ALLOWED = (
    # The main suite runs twice: on SQLite (make test) and on PostgreSQL (make test-postgres).
    # Tests of one database's own behaviour run in that database's run only.
    ("PostgreSQL run only", "runs in make test-postgres, which CI also runs"),
    ("needs AGORA_TEST_DATABASE_URL", "a PostgreSQL fixture; runs in make test-postgres"),
    ("the PostgreSQL search engine runs in the PostgreSQL run", "runs in make test-postgres"),
    ("SQLite-specific", "WAL, backup API and PRAGMAs; runs in make test"),
)


def strict():
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("AGORA_STRICT_SKIPS") == "1"


def allowed(reason):
    return any(reason.startswith(prefix) or f" {prefix}" in reason for prefix, _why in ALLOWED)


class StrictSkips:
    """pytest plugin: collect skips, fail the session on any not in ALLOWED."""

    def __init__(self):
        self.unexpected = []

    def pytest_runtest_logreport(self, report):
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            reason = reason.removeprefix("Skipped: ")
            if not allowed(reason):
                self.unexpected.append((report.nodeid, reason))

    def pytest_sessionfinish(self, session, exitstatus):
        if self.unexpected and exitstatus == 0:
            session.exitstatus = 1

    def pytest_terminal_summary(self, terminalreporter):
        if self.unexpected:
            terminalreporter.section("unexpected skips (CI fails on these; see tests/skips.py)")
            for nodeid, reason in self.unexpected:
                terminalreporter.write_line(f"{nodeid}: {reason}")
