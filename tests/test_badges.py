"""Badges: headers and caching, escaping, font fitting, status changes, languages, PNG sizes."""
import io
import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image

from forum.badges import render
from forum.badges.fonts import fit, sizes, text_width
from forum.extensions import db
from forum.models import Organisation
from tests.conftest import ON_POSTGRES

SVG_NS = "{http://www.w3.org/2000/svg}"
EVIL = "Raad & Co <script>alert(1)</script> \"Zorg\" l'Été ë ö ç"
LONG = ("Adviesraad Sociaal Domein en Wmo-cliëntenraad van de gemeenten Súdwest-Fryslân, "
        "Waadhoeke en Harlingen (regionaal) — afdeling Jeugd en Gezin")[:120]
BADGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def svg_root(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return ET.fromstring(response.data)


def drawn_lines(root):
    return [el.text or "" for el in root.iter(f"{SVG_NS}text")]


def update_org(app, org_id, **values):
    with app.app_context():
        org = db.session.get(Organisation, org_id)
        for key, value in values.items():
            setattr(org, key, value)
        db.session.commit()
        return org.badge_version


@pytest.fixture(params=["fast path", "flask view"])
def served_by(request, app):
    """Badge hits are answered by the WSGI fast path; the Flask views must answer alike."""
    app.config["BADGE_FAST_PATH"] = request.param == "fast path"
    return request.param


def assert_public_image_headers(response, content_type):
    headers = response.headers
    assert headers["Content-Type"] == content_type
    assert re.fullmatch(r"public, max-age=\d+", headers["Cache-Control"])
    assert re.fullmatch(r'"[0-9a-f]{16,}"', headers["ETag"]), "a strong, quoted ETag"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == BADGE_CSP
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in headers
    assert "cookie" not in headers.get("Vary", "").lower()


# -- headers, conditional requests, errors ---------------------------------------------------

@pytest.mark.parametrize("path, content_type", [
    ("/badge/{slug}.svg", "image/svg+xml"),
    ("/badge/{slug}.svg?lang=fr&style=seal&theme=dark", "image/svg+xml"),
    ("/badge/{slug}.png", "image/png"),
    ("/badge/{slug}.png?lang=nl&style=compact&theme=light&scale=2", "image/png"),
])
def test_badge_headers(client, make_org, served_by, path, content_type):
    org = make_org()
    response = client.get(path.format(slug=org.slug))
    assert response.status_code == 200
    assert_public_image_headers(response, content_type)
    assert int(response.headers["Content-Length"]) == len(response.data) > 100
    assert response.headers["Referrer-Policy"] and response.headers["X-Frame-Options"] == "DENY"
    head = client.head(path.format(slug=org.slug))
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == response.headers["ETag"]


def test_signed_in_visitor_gets_no_cookie_and_no_vary(client, make_user, login_as, served_by):
    user = make_user()
    login_as(user)
    with client.application.app_context():
        slug = db.session.get(Organisation, user.organisation_id).slug
    for url in (f"/badge/{slug}.svg", f"/badge/{slug}.png?scale=2", f"/badge/{slug}.svg?style=nope",
                "/badge/no-such-org.svg"):
        response = client.get(url)
        assert "Set-Cookie" not in response.headers, url
        assert "cookie" not in response.headers.get("Vary", "").lower(), url


def test_conditional_request_answers_304(client, make_org, served_by):
    org = make_org()
    url = f"/badge/{org.slug}.svg?style=seal"
    first = client.get(url)
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert "Set-Cookie" not in again.headers
    assert again.headers["Content-Security-Policy"] == BADGE_CSP
    # A proxy may weaken the validator; If-None-Match uses the weak comparison.
    assert client.get(url, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    # Another variant has another ETag.
    assert client.get(f"/badge/{org.slug}.svg?style=compact").headers["ETag"] != etag
    png = client.get(f"/badge/{org.slug}.png?scale=2")
    assert client.get(f"/badge/{org.slug}.png?scale=2",
                      headers={"If-None-Match": png.headers["ETag"]}).status_code == 304


def test_same_inputs_same_etag_and_bytes(client, make_org):
    org = make_org()
    a = client.get(f"/badge/{org.slug}.svg?lang=nl")
    b = client.get(f"/badge/{org.slug}.svg?lang=nl&utm_source=newsletter")  # unknown keys are ignored
    assert a.headers["ETag"] == b.headers["ETag"] and a.data == b.data


@pytest.mark.parametrize("query", ["style=foo", "theme=purple", "lang=de", "scale=3", "download=yes"])
def test_unknown_values_give_400(client, make_org, query):
    org = make_org()
    response = client.get(f"/badge/{org.slug}.png?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.get_data(as_text=True)
    assert query.split("=")[1] in text and len(text) < 200
    assert "Set-Cookie" not in response.headers


def test_unknown_slug_404(client):
    for url in ("/badge/no-such-council.svg", "/badge/no-such-council.png?scale=2"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.headers["Content-Type"].startswith("text/plain")
    assert client.get("/nl/members/no-such-council").status_code == 404
    assert client.get("/fr/members/no-such-council").status_code == 404


def test_a_council_not_yet_approved_has_no_badge(client, make_org, served_by):
    """A pending council may be only a name typed while registering: answered as an unknown
    slug, byte for byte, until the umbrella approves it."""
    org = make_org(name="Raad die zich net aanmeldde", membership_status="pending")
    for fmt in ("svg", "png"):
        pending = client.get(f"/badge/{org.slug}.{fmt}?lang=nl")
        unknown = client.get(f"/badge/no-such-council.{fmt}?lang=nl")
        assert pending.status_code == unknown.status_code == 404
        assert pending.data == unknown.data and b"aanmeldde" not in pending.data


def test_download_sets_attachment(client, make_org):
    org = make_org()
    response = client.get(f"/badge/{org.slug}.png?scale=print&download=1&style=seal")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"{org.slug}-seal-light-nl-300dpi.png" in disposition
    assert "Content-Disposition" not in client.get(f"/badge/{org.slug}.png?scale=print").headers


# -- SVG safety and escaping -------------------------------------------------------------------

@pytest.mark.parametrize("style", render.STYLES)
@pytest.mark.parametrize("theme", render.THEMES)
def test_escaping_and_no_script(client, make_org, style, theme):
    org = make_org(name=EVIL)
    response = client.get(f"/badge/{org.slug}.svg?style={style}&theme={theme}&lang=fr")
    raw = response.data
    assert b"<script" not in raw.lower()
    root = svg_root(response)  # well-formed XML despite &, <, quotes
    allowed = {"svg", "title", "rect", "circle", "path", "text"}
    for el in root.iter():
        assert el.tag.replace(SVG_NS, "") in allowed, el.tag
        for attr in el.attrib:
            assert not attr.lower().startswith("on") and "href" not in attr.lower()
    # The name comes out exactly, accents included, over one or more lines.
    assert EVIL in " ".join(drawn_lines(root))
    assert EVIL in root.find(f"{SVG_NS}title").text
    # And the PNG rasterises the same SVG without trouble.
    png = client.get(f"/badge/{org.slug}.png?style={style}&theme={theme}&lang=fr")
    Image.open(io.BytesIO(png.data)).verify()


def test_verification_page_escapes_name(client, make_org):
    org = make_org(name=EVIL)
    html = client.get(f"/nl/members/{org.slug}").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "Raad &amp; Co &lt;script&gt;alert(1)&lt;/script&gt; &#34;Zorg&#34; l&#39;Été ë ö ç" in html
    # In the copyable snippet the markup is escaped once more (it is shown as text).
    snippet = re.search(r'<textarea id="verify-snippet"[^>]*readonly[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert "&amp;lt;script&amp;gt;" in snippet and "<script" not in snippet


# -- fitting text --------------------------------------------------------------------------------

def test_fit_wraps_shrinks_and_never_overflows():
    assert len(LONG) == 120
    fitted = fit(LONG, 228, 36, sizes(13, 7), max_lines=3)
    assert len(fitted.lines) <= 3 and fitted.height <= 36.01
    assert all(w <= 228 for w in fitted.widths())
    assert " ".join(fitted.lines) == LONG
    # A word longer than the line is broken inside the word rather than overflowing.
    word = "Zorgverzekeraarsonafhankelijkheidsbevorderingscommissie" * 2
    fitted = fit(word, 100, 100, sizes(12, 8), max_lines=8)
    assert "".join(fitted.lines) == word and all(w <= 100 for w in fitted.widths())
    # When even the smallest size cannot hold it, the text is shortened with an ellipsis.
    fitted = fit(LONG * 3, 100, 20, sizes(10, 8), max_lines=2)
    assert fitted.lines[-1].endswith("…") and all(w <= 100 for w in fitted.widths())


def test_metrics_match_the_renderer():
    """The JSON metrics are DejaVu Sans: 'W' is wide, 'i' narrow, bold wider than regular."""
    assert text_width("W", 10) > 2 * text_width("i", 10)
    assert text_width("Adviesraad", 12, bold=True) > text_width("Adviesraad", 12)
    assert text_width("ë", 10) == text_width("e", 10)


@pytest.mark.parametrize("lang", ["nl", "fr"])
@pytest.mark.parametrize("style", render.STYLES)
def test_long_name_fits_inside_the_badge(client, make_org, style, lang):
    org = make_org(name=LONG)
    root = svg_root(client.get(f"/badge/{org.slug}.svg?style={style}&lang={lang}"))
    width, height = render.SIZES[style]
    texts = list(root.iter(f"{SVG_NS}text"))
    for el in texts:
        x, y, length = float(el.get("x")), float(el.get("y")), float(el.get("textLength"))
        size = float(el.get("font-size"))
        assert size >= 6
        left = x - length / 2 if el.get("text-anchor") == "middle" else x
        if style == "compact":
            assert 80 <= left and left + length <= width - 8, el.text
            assert size <= y <= height - 4
        else:  # inside the inner ring of the seal (radius 88 around the centre)
            cx = cy = width / 2
            for corner_x in (left, left + length):
                for corner_y in (y - size, y + 0.25 * size):
                    assert (corner_x - cx) ** 2 + (corner_y - cy) ** 2 < 88 ** 2, el.text
    lines = drawn_lines(root)
    assert not any(line.endswith("…") for line in lines), "120 characters fit without cutting"
    assert LONG in " ".join(lines) or LONG in "".join(lines)


def test_long_name_pixels_stay_inside(client, make_org):
    """Checked on the PNG itself: cairo draws with the same metrics, so no ink crosses the margin."""
    org = make_org(name=LONG + "WWWW")
    png = client.get(f"/badge/{org.slug}.png?style=compact&scale=2")
    image = Image.open(io.BytesIO(png.data)).convert("RGB")
    assert image.size == (640, 160)
    # Between the text column's right edge (x=310) and the border (x=318) all is background
    # (rows clear of the rounded corners).
    for x in range(2 * 311, 2 * 317):
        for y in range(2 * 10, 2 * 70):
            assert image.getpixel((x, y)) == (255, 255, 255), (x, y)


# -- PNG sizes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("style, scale, size", [
    ("compact", "1", (320, 80)), ("compact", "2", (640, 160)), ("compact", "print", (945, 236)),
    ("seal", "1", (200, 200)), ("seal", "2", (400, 400)), ("seal", "print", (472, 472)),
])
def test_png_is_a_valid_image_of_the_stated_size(client, make_org, style, scale, size):
    org = make_org()
    response = client.get(f"/badge/{org.slug}.png?style={style}&scale={scale}&theme=dark")
    assert response.headers["Content-Type"] == "image/png"
    Image.open(io.BytesIO(response.data)).verify()
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG" and image.size == size
    if scale == "print":
        assert [round(v) for v in image.info["dpi"]] == [300, 300]
        # The stated size: width in mm at 300 dpi matches the print width.
        assert round(size[0] / 300 * 25.4) == render.PRINT_WIDTH_MM[style]
    # Not blank: the badge is drawn (several colours), corners of the seal transparent.
    assert len(image.convert("RGB").getcolors(1 << 20)) > 10
    if style == "seal":
        assert image.convert("RGBA").getpixel((0, 0))[3] == 0


# -- status changes and languages ------------------------------------------------------------

def test_active_to_lapsed_changes_badge_and_etag_at_once(app, client, make_org, served_by):
    org = make_org(name="Adviesraad Sociaal Domein Zeist", member_since=date(2018, 5, 1))
    url = f"/badge/{org.slug}.svg?lang=nl"
    before = client.get(url)
    assert "Aangesloten bij Koepel Adviesraden" in drawn_lines(svg_root(before))
    assert "Adviesraad Sociaal Domein Zeist" in drawn_lines(svg_root(before))
    png_before = client.get(f"/badge/{org.slug}.png?lang=nl").headers["ETag"]

    version = update_org(app, org.id, membership_status="lapsed")
    assert version == org.badge_version + 1

    after = client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200, "the old ETag no longer matches"
    assert after.headers["ETag"] != before.headers["ETag"]
    lines = drawn_lines(svg_root(after))
    assert "Geen lid (meer) van Koepel Adviesraden" in " ".join(lines)
    assert not any("Aangesloten" in line or "Zeist" in line for line in lines)
    assert client.get(f"/badge/{org.slug}.png?lang=nl").headers["ETag"] != png_before
    page = client.get(f"/nl/members/{org.slug}").get_data(as_text=True)
    assert 'class="verify-status former"' in page and "/badge/" not in page

    update_org(app, org.id, membership_status="active")
    assert client.get(url).headers["ETag"] not in (before.headers["ETag"], after.headers["ETag"]), \
        "badge_version moved on, so even the same drawing gets a new validator"


@pytest.mark.parametrize("values, text_nl, text_fr", [
    (dict(membership_status="ended"), "Geen lid (meer) van", "Plus membre de"),
    (dict(membership_status="active", member_until=date.today() - timedelta(days=1)),
     "Geen lid (meer) van", "Plus membre de"),
    (dict(membership_status="active", member_since=date.today() + timedelta(days=10)),
     "Geen lid van", "Pas membre de"),
])
def test_non_members_get_the_neutral_badge(client, make_org, values, text_nl, text_fr):
    org = make_org(name="Cliëntenraad Oosterhout", **values)
    for lang, text in (("nl", text_nl), ("fr", text_fr)):
        response = client.get(f"/badge/{org.slug}.svg?lang={lang}&style=seal")
        lines = " ".join(drawn_lines(svg_root(response)))
        assert text in lines
        assert "Oosterhout" not in lines and "Aangesloten" not in lines and "Membre de" not in lines.replace("Plus membre de", "")
        png = client.get(f"/badge/{org.slug}.png?lang={lang}")
        assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"


def test_languages_and_year(client, make_org):
    org = make_org(name="Conseil consultatif social de Namur", language="fr", country="BE",
                   member_since=date(2021, 9, 1))
    fr = drawn_lines(svg_root(client.get(f"/badge/{org.slug}.svg")))  # default: the org's language
    assert "Membre de Koepel Adviesraden" in fr and "Membre depuis 2021" in fr
    nl_root = svg_root(client.get(f"/badge/{org.slug}.svg?lang=nl"))
    nl = drawn_lines(nl_root)
    assert "Aangesloten bij Koepel Adviesraden" in nl and "Lid sinds 2021" in nl
    assert nl_root.get("{http://www.w3.org/XML/1998/namespace}lang") == "nl"
    seal = " ".join(drawn_lines(svg_root(client.get(f"/badge/{org.slug}.svg?lang=fr&style=seal"))))
    assert "Membre de" in seal and "Koepel Adviesraden" in seal and "Namur" in seal


def test_umbrella_configuration_changes_text_colour_and_etag(app, client, make_org):
    org = make_org()
    url = f"/badge/{org.slug}.svg?lang=fr"
    before = client.get(url)
    app.config.update(UMBRELLA_NAME="Fédération des Conseils", UMBRELLA_COLOR="#7a1f5c")
    after = client.get(url)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "Membre de Fédération des Conseils" in drawn_lines(svg_root(after))
    assert b"#7a1f5c" in after.data
    app.config.update(UMBRELLA_COLOR='red" onload="alert(1)')  # not a colour: the default is used
    assert b"onload" not in client.get(url).data


def test_badge_version_bumps_only_for_certified_fields(app, make_org):
    org = make_org()
    assert update_org(app, org.id, website="https://example.org") == org.badge_version
    assert update_org(app, org.id, name="Nieuwe naam") == org.badge_version + 1
    assert update_org(app, org.id, member_until=date(2030, 1, 1)) == org.badge_version + 2
    assert update_org(app, org.id, member_since=date(2019, 1, 1)) == org.badge_version + 3
    assert update_org(app, org.id, membership_status="active") == org.badge_version + 3  # unchanged value
    assert update_org(app, org.id, name="Andere naam", badge_version=50) == 50  # explicit wins


# -- caching ---------------------------------------------------------------------------------------

def test_rendered_once_then_served_from_memory_and_disk(app, app_config, client, make_org):
    from forum import create_app

    org = make_org()
    cache = app.extensions["agora_badge_cache"]
    url = f"/badge/{org.slug}.png?scale=2&theme=dark"
    start = cache.renders
    first = client.get(url)
    assert cache.renders == start + 1
    for _ in range(3):
        assert client.get(url).data == first.data
    assert cache.renders == start + 1
    files = list(Path(app.config["BADGE_CACHE_PATH"]).glob("*.png"))
    assert len(files) == 1
    # Another worker (a second app on the same instance folder) reads the file, draws nothing.
    other = create_app(dict(app_config))
    response = other.test_client().get(url)
    assert response.data == first.data and response.headers["ETag"] == first.headers["ETag"]
    assert other.extensions["agora_badge_cache"].renders == 0


def test_database_failure_gets_the_error_page_not_a_crash(app, app_config, client, make_org):
    org = make_org()
    if ON_POSTGRES:
        # A database server that does not answer (the shared test database stays intact).
        from sqlalchemy.engine import make_url

        from forum import create_app
        from tests.live import free_port

        down = make_url(app_config["SQLALCHEMY_DATABASE_URI"]).set(port=free_port())
        broken = create_app(dict(app_config, SQLALCHEMY_DATABASE_URI=down.render_as_string(hide_password=False)))
        client = broken.test_client()
    else:
        with app.app_context():
            db.session.execute(db.text("ALTER TABLE organisation RENAME TO organisation_gone"))
            db.session.commit()
    response = client.get(f"/badge/{org.slug}.svg")
    assert response.status_code == 503


def test_fast_path_and_flask_view_answer_identically(app, client, make_org):
    org = make_org()
    answers = {}
    for fast in (True, False):
        app.config["BADGE_FAST_PATH"] = fast
        for url in (f"/badge/{org.slug}.svg?style=seal&download=1", f"/badge/{org.slug}.png?scale=print"):
            response = client.get(url)
            answers.setdefault(url, []).append((response.status_code, sorted(response.headers.items()), response.data))
    for url, (fast, view) in answers.items():
        assert fast == view, url
