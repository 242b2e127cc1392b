"""What Agora sends for caching and compression: ETag and 304 for anonymous readers,
gzip for HTML and JSON when asked, never for signed-in pages (BREACH) or small bodies."""
import gzip
import re

import pytest

from tests.conftest import login


def without_token(body):
    """A page without its CSRF token, which is signed with the time and changes each second."""
    return re.sub(rb'<meta name="csrf-token" content="[^"]*">', b"", body)


@pytest.fixture
def public_theme(make_theme):
    return make_theme(visibility="public")


@pytest.fixture
def public_thread(public_theme, make_thread, make_post):
    thread = make_thread(theme=public_theme, title="Een openbaar onderwerp over mantelzorg")
    for _ in range(3):
        make_post(thread)
    return thread


@pytest.mark.parametrize("url", ["/nl/latest", "/nl/t/{id}", "/nl/questions"])
def test_anonymous_pages_revalidate_with_304(client, public_thread, url):
    url = url.format(id=public_thread.id)
    first = client.get(url)
    assert first.status_code == 200 and first.headers.get("ETag", "").startswith('W/"')
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    other = client.get(url, headers={"If-None-Match": 'W/"something-else"'})
    assert other.status_code == 200 and without_token(other.get_data()) == without_token(first.get_data())


def test_a_changed_page_gets_a_new_etag(client, public_thread, make_post):
    first = client.get(f"/nl/t/{public_thread.id}")
    make_post(public_thread, body="Een nieuwe reactie die de pagina verandert.")
    second = client.get(f"/nl/t/{public_thread.id}", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and "Een nieuwe reactie" in second.get_data(as_text=True)
    assert second.headers["ETag"] != first.headers["ETag"]


def test_pages_with_forms_an_anonymous_reader_sends_are_not_revalidated(client):
    assert "ETag" not in client.get("/nl/login").headers


def test_signed_in_pages_have_no_etag_and_are_not_compressed(client, public_thread, make_user):
    login(client, make_user())
    response = client.get(f"/nl/t/{public_thread.id}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "ETag" not in response.headers
    assert "Content-Encoding" not in response.headers
    assert "Mantelzorg".lower() in response.get_data(as_text=True).lower()


def test_anonymous_html_is_gzipped_when_accepted(client, public_thread):
    plain = client.get("/nl/latest")
    packed = client.get("/nl/latest", headers={"Accept-Encoding": "gzip, deflate"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert without_token(gzip.decompress(packed.get_data())) == without_token(plain.get_data())
    assert len(packed.get_data()) < len(plain.get_data()) / 2
    # The same validator for both forms: a gzip reader revalidates with it.
    assert packed.headers["ETag"] == plain.headers["ETag"]
    assert client.get("/nl/latest", headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}).status_code == 304


def test_json_is_gzipped_and_small_or_binary_answers_are_not(client, public_theme, public_thread, make_thread):
    for _ in range(4):
        make_thread(theme=public_theme)
    plain = client.get("/api/v1/threads")
    assert plain.status_code == 200 and len(plain.get_data()) >= 1024
    api = client.get("/api/v1/threads", headers={"Accept-Encoding": "gzip"})
    assert api.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(api.get_data()) == plain.get_data()
    small = client.get("/api/v1/", headers={"Accept-Encoding": "gzip"})
    assert small.status_code == 200 and len(small.get_data()) < 1024
    assert "Content-Encoding" not in small.headers
    refused = client.get("/nl/latest", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    static = client.get("/static/agora.css", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in static.headers
