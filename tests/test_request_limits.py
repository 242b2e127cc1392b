"""Over-long addresses and headers are answered by Agora (translated page, security headers),
not by gunicorn's bare error page."""
import http.client

import pytest

from tests.live import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("limits-instance"), workers=1)
    live.flask("db", "upgrade")
    live.start()
    yield live
    live.stop()


def _get(server, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


@pytest.mark.parametrize("length", [5000, 9000, 60000])
def test_long_address_gets_agoras_page(server, length):
    status, headers, body = _get(server, "/nl/search?q=" + "a" * length)
    if length < 8190:
        assert status == 200
    else:
        assert status == 414
        assert "Adres te lang" in body or "te lang" in body
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert "Content-Security-Policy" in headers


def test_long_header_gets_agoras_page(server):
    status, headers, body = _get(server, "/fr/", headers={"X-Long": "b" * 20000})
    assert status == 431
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert '<html lang="fr"' in body


def test_many_headers_get_agoras_page(server):
    status, headers, _body = _get(server, "/nl/", headers={f"X-H{i}": "x" for i in range(150)})
    assert status == 431
    assert "Content-Security-Policy" in headers
