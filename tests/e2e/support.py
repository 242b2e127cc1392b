"""Helpers for the browser tests: sign in, axe-core, XSS traps, DOM checks, screenshots."""
import re
import sqlite3
from contextlib import closing
from pathlib import Path

from forum.demo_content import DEMO_PASSWORD

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

# Installed in every page and frame before the page's own scripts. It runs through the
# DevTools protocol, so the site's CSP (no inline scripts) does not block it. Payloads in
# tests/xss_payloads.txt set window.__xss (or parent.__xss); a dialog is caught by
# Playwright's "dialog" event. CSP violations are collected: a page that needs an inline
# script or style="" attribute is broken under the real policy.
INIT_SCRIPT = """
(() => {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
      + ` (${e.sourceFile || ''}:${e.lineNumber || ''}) ${e.sample || ''}`);
  });
})();
"""

# Everything in the rendered DOM that could run script or leave the page: checked after
# the browser has parsed the page, so parser differences (mutation XSS) are caught too.
DOM_CHECK = r"""
(allowed) => {
  const bad = [];
  const urlAttrs = new Set(['href', 'src', 'action', 'formaction', 'data', 'srcdoc', 'background',
    'poster', 'ping', 'codebase', 'cite', 'longdesc', 'lowsrc', 'dynsrc', 'xlink:href', 'srcset']);
  const forbidden = new Set(['iframe', 'object', 'embed', 'base', 'frame', 'frameset', 'applet',
    'foreignobject', 'math', 'noscript', 'template', 'style', 'svg', 'xmp', 'plaintext', 'noembed',
    'listing', 'isindex', 'marquee', 'portal']);
  const describe = (el) => el.outerHTML.slice(0, 160);
  for (const el of document.querySelectorAll('*')) {
    const tag = el.localName.toLowerCase();
    if (tag === 'script') {
      const src = el.getAttribute('src') || '';
      // Only the site's own files: a same-origin path, never inline code.
      if (!/^\/[a-z]/i.test(src) || el.textContent.trim()) bad.push('script: ' + describe(el));
    }
    if (forbidden.has(tag) && !allowed.includes(tag)) bad.push(tag + ': ' + describe(el));
    if (tag === 'meta' && (el.getAttribute('http-equiv') || '').toLowerCase() === 'refresh') bad.push('meta refresh: ' + describe(el));
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) bad.push('event attribute ' + name + ': ' + describe(el));
      if (name === 'style' && !allowed.includes('style')) bad.push('style attribute: ' + describe(el));
      if (urlAttrs.has(name) || name.endsWith(':href')) {
        const value = attr.value.replace(/[\u0000-\u0020\u007f-\u00a0\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]/g, '').toLowerCase();
        if (/^(javascript|vbscript|data|livescript|mocha):/.test(value)) bad.push('scripted URL in ' + name + ': ' + describe(el));
      }
    }
  }
  return bad;
}
"""


def db_path(server):
    return Path(server.instance_path) / "agora.db"


def query(server, sql, *params):
    """Read the live site's SQLite database directly (read-only checks in tests)."""
    with closing(sqlite3.connect(f"file:{db_path(server)}?mode=ro", uri=True, timeout=30)) as conn:
        return conn.execute(sql, params).fetchall()


def scalar(server, sql, *params):
    rows = query(server, sql, *params)
    return rows[0][0] if rows else None


def new_context(browser, server, locale="nl-NL", **kwargs):
    context = browser.new_context(base_url=server.url, locale=locale, **kwargs)
    context.add_init_script(INIT_SCRIPT)
    context.set_default_timeout(15000)
    return context


def sign_in(page, email, password=DEMO_PASSWORD, lang="nl"):
    """Sign in through the login form; asserts we end up signed in."""
    page.goto(f"/{lang}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.locator("main form[action$='/login'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("form[action$='/logout']").count() == 1, f"sign-in as {email} failed: {page.url}"


def run_axe(page, axe_source):
    """axe-core's WCAG 2.1 A/AA rules on the current page; returns readable violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluate() goes through DevTools: not an inline script, so the CSP allows it.
        page.evaluate(axe_source)
    violations = page.evaluate(
        """async (tags) => {
          const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary.replace(/\\s+/g, ' '))}));
        }""",
        WCAG_TAGS,
    )
    return [f"{v['id']} ({v['impact']}): {v['help']}\n      " + "\n      ".join(v["nodes"][:6])
            for v in violations]


def dom_problems(page, allowed=()):
    """Executable or embedding markup in the rendered DOM; `allowed` names tags a document
    may have anyway (a badge image is an <svg> with a <style>)."""
    return page.evaluate(DOM_CHECK, list(allowed))


def csp_violations(page):
    return page.evaluate("() => window.__cspViolations || []")


def xss_fired(page):
    """True when any payload set the marker in the page or one of its frames."""
    for frame in page.frames:
        try:
            if frame.evaluate("() => typeof window.__xss !== 'undefined'"):
                return True
        except Exception:  # a frame that went away
            continue
    return False


def screenshot(page, artifacts, name):
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    path = artifacts / "screenshots" / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


MEMBERS_SCRIPT = """
import sys
from wsgi import app
from forum.extensions import db
from forum.models import Organisation, User, utcnow

count, prefix, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
# A cheap hash: fifty sign-ins at production cost would measure scrypt, not the forum.
app.config["PASSWORD_HASH_METHOD"] = "scrypt:4096:8:1"
with app.app_context():
    org = db.session.scalar(db.select(Organisation).where(Organisation.membership_status == "active")
                            .order_by(Organisation.id))
    for i in range(count):
        user = User(email=f"{prefix}{i}@load.example", name=f"Lid {prefix} {i}", role="member",
                    status="active", organisation_id=org.id, locale="nl", notify_mode="never",
                    confirmed_at=utcnow(), approved_at=utcnow(), terms_accepted_at=utcnow())
        user.set_password(password)
        db.session.add(user)
    db.session.commit()
"""
MEMBER_PASSWORD = "Last-test-wachtwoord-1"


def create_members(server, count, prefix="lid"):
    """`count` active members with MEMBER_PASSWORD, written straight into the site's database
    (as an admin's import would); returns their e-mail addresses."""
    import subprocess
    import sys

    from tests.live import ROOT

    subprocess.run([sys.executable, "-c", MEMBERS_SCRIPT, str(count), prefix, MEMBER_PASSWORD],
                   cwd=ROOT, env=server.env, check=True, capture_output=True, text=True)
    return [f"{prefix}{i}@load.example" for i in range(count)]


def writable_threads(server):
    """Visible, open threads in themes where every member may post."""
    return [row[0] for row in query(server, """
        SELECT t.id FROM thread t JOIN theme th ON th.id = t.theme_id
        WHERE t.status = 'visible' AND t.locked = 0 AND t.merged_into_id IS NULL
          AND th.post_policy = 'everyone' ORDER BY t.id""")]
