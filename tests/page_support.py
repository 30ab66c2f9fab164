"""A visitor to the web pages: their own cookie jar, signs in through the form, sends the CSRF token."""
import re

from fastapi.testclient import TestClient

from conftest import PASSWORD

_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Visitor:
    def __init__(self, app):
        self.client = TestClient(app)
        self.token = ""

    def get(self, path: str, **kwargs):
        response = self.client.get(path, follow_redirects=kwargs.pop("follow_redirects", False), **kwargs)
        self._remember(response)
        return response

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token)
        response = self.client.post(path, data=data, follow_redirects=kwargs.pop("follow_redirects", False), **kwargs)
        self._remember(response)
        return response

    def follow(self, response):
        """Where a form sent us (303), as the browser would then see it."""
        assert response.status_code == 303, (response.status_code, response.text[:500])
        return self.get(response.headers["location"])

    def sign_in(self, username: str, password: str = PASSWORD):
        self.get("/login")
        return self.post("/login", {"username": username, "password": password})

    def _remember(self, response):
        match = _TOKEN.search(response.text) if response.headers.get("content-type", "").startswith("text/html") else None
        if match:
            self.token = match.group(1)


def visitor(app, username: str | None = None) -> Visitor:
    person = Visitor(app)
    if username:
        response = person.sign_in(username)
        assert response.status_code == 303, response.text[:500]
        person.get("/submit")  # signing in makes a fresh CSRF token: pick it up from a page
    return person


def text_of(html: str) -> str:
    """The page's visible words, roughly: tags dropped, whitespace squeezed."""
    without_scripts = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", without_scripts))
