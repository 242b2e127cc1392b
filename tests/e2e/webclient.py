"""A small HTTP client for load and fault tests: cookies, CSRF tokens, timings, no redirects
followed (a 302 after a post is the acknowledgement we count)."""
import http.client
import re
import time
from urllib.parse import urlencode, urlsplit

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Answer:
    def __init__(self, status, headers, body, seconds):
        self.status = status
        self.headers = headers
        self.body = body
        self.seconds = seconds

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def location(self):
        return self.headers.get("location", "")


class WebClient:
    """One visitor: its own cookies; every request on a fresh connection (gunicorn's sync
    workers close it after each answer anyway)."""

    def __init__(self, base_url, timeout=60):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.timeout = timeout
        self.cookies = {}
        self.csrf = None

    def request(self, method, path, form=None, headers=None, body=None):
        headers = dict(headers or {})
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
            for value in response.headers.get_all("Set-Cookie") or ():
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if "max-age=0" in value.lower() or "expires=thu, 01 jan 1970" in value.lower():
                    self.cookies.pop(name.strip(), None)
                else:
                    self.cookies[name.strip()] = cookie_value
        finally:
            connection.close()
        answer = Answer(response.status, answer_headers, data, time.perf_counter() - started)
        match = CSRF_META.search(answer.text) if answer_headers.get("content-type", "").startswith("text/html") else None
        if match:
            self.csrf = match.group(1)
        return answer

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, form, **kw):
        if "csrf_token" not in form:
            if self.csrf is None:
                self.get("/nl/about")
            form = dict(form, csrf_token=self.csrf)
        return self.request("POST", path, form=form, **kw)

    def sign_in(self, email, password, lang="nl"):
        self.get(f"/{lang}/login")
        answer = self.post(f"/{lang}/login", {"email": email, "password": password})
        assert answer.status == 302, f"sign-in of {email} answered {answer.status}: {answer.text[:500]}"
        self.get(f"/{lang}/")  # a fresh CSRF token for the signed-in session
        return answer
