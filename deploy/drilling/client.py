"""A browser for scripts: cookies, CSRF tokens, one connection per request, nothing hidden.

It keeps the session cookie even though the portal marks it `Secure` (PUBLIC_URL is https):
it stands for a browser talking to the TLS end in front of nginx, or speaks TLS itself when
given an `ssl.SSLContext` (the tests' production site).
"""

from __future__ import annotations

import http.client
import re
import ssl
import urllib.parse
from dataclasses import dataclass, field

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def csrf_token(self) -> str | None:
        match = CSRF.search(self.text)
        return match.group(1) if match else None


@dataclass
class Browser:
    host: str
    port: int
    timeout: float = 40.0  # longer than nginx's proxy_read_timeout: nginx answers first
    source_address: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None  # HTTPS with this context, plain HTTP without

    @classmethod
    def of(cls, base_url: str, **kwargs) -> Browser:
        parts = urllib.parse.urlsplit(base_url)
        return cls(parts.hostname, parts.port, **kwargs)

    @property
    def origin(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> Page:
        options = {
            "timeout": self.timeout,
            "source_address": (self.source_address, 0) if self.source_address else None,
        }
        if self.tls is None:
            connection = http.client.HTTPConnection(self.host, self.port, **options)
        else:
            connection = http.client.HTTPSConnection(
                self.host, self.port, context=self.tls, **options
            )
        sent = {"Connection": "close", "User-Agent": "cartable-exercice/1"}
        if self.cookies:
            sent["Cookie"] = self.cookie_header()
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent["Referer"] = self.origin + path
        sent.update(headers or {})
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            received = {name.lower(): value for name, value in response.getheaders()}
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    self.store_cookie(value)
            return Page(response.status, received, text)
        finally:
            connection.close()

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def store_cookie(self, header: str) -> None:
        """Keep (or forget, when it expires it) the cookie a `Set-Cookie` header sends."""
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        attributes = attributes.lower()
        if "max-age=0" in attributes or "expires=thu, 01 jan 1970" in attributes:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def get(self, path: str, **kwargs) -> Page:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, fields: dict, form_page: Page | None = None, **kwargs) -> Page:
        """POST a form with the CSRF token of the page showing it (fetched when not given)."""
        page = form_page or self.get(path)
        token = page.csrf_token()
        if token is None:
            raise RuntimeError(f"no form on {path} ({page.status})")
        return self.request("POST", path, {"csrf_token": token, **fields}, **kwargs)

    def log_in(self, email: str, password: str) -> Page:
        return self.post("/connexion", {"email": email, "password": password})
