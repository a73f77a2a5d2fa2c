"""
HTTP end-to-end fixtures: `postern serve` with its http listener on a free
loopback port, and a small JSON API client (http.client).

Loaded from conftest.py (pytest_plugins). Built on fixtures_smtp.Server,
so every server here is stopped at teardown and its log checked for
sanitizer reports like the SMTP suites' servers.

  HttpServer(root, tls=False, **conf)
                          a Server whose [http] tls is off (plain HTTP on
                          127.0.0.1) unless tls=True (HTTPS with the
                          setup's self-signed certificate); .api_key is an
                          operator key (`postern api-key add ops`);
                          .api(...) a client; .user(address, password)
                          makes a user with a login password.
  Api(port, tls=False, cafile=None, key=None)
                          .call(method, path, body=None, headers=None)
                          -> Resp(status, headers, json, body);
                          .get/.post/.put/.delete; .login(address,
                          password) keeps the session cookie and CSRF
                          token and sends them from then on.
  http_server (fixture)   a server shared by a module's tests (module
                          scope), with example.org; tests make their own
                          users with .user() so they do not meet.
  http_server_factory     make(tls=False, start=True, **conf) -> a fresh,
                          started server of one test.
"""
import http.client
import json as jsonlib
import smtplib
import time
from typing import Any, NamedTuple

import pytest

from fixtures_smtp import Server, _check_binary, tls_client_context

LOGIN_PASSWORD = "correct horse battery staple"


class Resp(NamedTuple):
    status: int
    headers: Any  # http.client.HTTPMessage (case-insensitive get)
    json: Any     # the parsed body, or None when it is not JSON
    body: bytes

    def header(self, name):
        return self.headers.get(name)

    def cookies(self):
        """Every Set-Cookie value."""
        return self.headers.get_all("Set-Cookie") or []


class Api:
    """A JSON API caller. Plain HTTP or HTTPS (chain verified against
    cafile when given); an operator key, or a panel session after login()."""

    def __init__(self, port, tls=False, cafile=None, key=None, timeout=30, src=None):
        self.port = port
        self.src = (src, 0) if src else None  # a loopback source address
        self.tls = tls
        self.cafile = cafile
        self.key = key
        self.timeout = timeout
        self.sid = None   # the session cookie's value
        self.csrf = None  # the CSRF token the session call returned
        self.send_csrf = True

    def connect(self):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=self.timeout,
                                               context=tls_client_context(self.cafile),
                                               source_address=self.src)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout,
                                          source_address=self.src)

    def call(self, method, path, body=None, headers=None, raw=None):
        """One request on a fresh connection. body: an object sent as JSON;
        raw: bytes sent as they are (with headers' Content-Type)."""
        h = {}
        if self.key:
            h["Authorization"] = "Bearer " + self.key
        if self.sid:
            h["Cookie"] = "postern_session=" + self.sid
        if self.csrf and self.send_csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        data = raw
        if body is not None:
            data = jsonlib.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        conn = self.connect()
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
            status, hdrs = r.status, r.headers
        finally:
            conn.close()
        parsed = None
        if (hdrs.get("Content-Type") or "").startswith("application/json"):
            parsed = jsonlib.loads(payload)
        return Resp(status, hdrs, parsed, payload)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body=body if body is not None else {}, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body=body if body is not None else {}, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def ok(self, method, path, body=None, status=None):
        """A call that must succeed (200/201, or status); its JSON."""
        r = self.call(method, path, body=body)
        want = (status,) if status else (200, 201)
        assert r.status in want, "%s %s: %d %s" % (method, path, r.status, r.body[:500])
        return r.json

    def login(self, address, password=LOGIN_PASSWORD):
        """POST /api/v1/session; keep the cookie and CSRF token. The Resp."""
        r = self.call("POST", "/api/v1/session", body={"address": address, "password": password})
        if r.status == 200:
            self.sid = session_cookie(r)
            self.csrf = r.json["csrf_token"]
        return r


def smtp_login_works(srv, login, password):
    """STARTTLS and AUTH on the submission port: True if the login took."""
    s = smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=15)
    try:
        s.starttls(context=tls_client_context(srv.cert))
        s.login(login, password)
        return True
    except smtplib.SMTPAuthenticationError:
        return False
    finally:
        s.close()


def session_cookie(resp):
    """The value postern set for postern_session, or None."""
    for c in resp.cookies():
        name, _, rest = c.partition("=")
        if name.strip() == "postern_session":
            return rest.split(";", 1)[0]
    return None


def cookie_attributes(resp):
    """The attributes of the postern_session Set-Cookie, lower-cased names."""
    for c in resp.cookies():
        if c.startswith("postern_session="):
            parts = [p.strip() for p in c.split(";")[1:]]
            return {p.partition("=")[0].lower(): p.partition("=")[2] for p in parts}
    return None


class HttpServer(Server):
    """A Server with the http listener in reach of the tests."""

    def __init__(self, root, tls=False, **conf):
        conf.setdefault("http__tls", "on" if tls else "off")
        super().__init__(root, **conf)
        self.tls = tls
        self.api_key = self.cli("api-key", "add", "ops")["key"]

    def start(self, verbose=True):
        super().start(verbose)
        deadline = time.monotonic() + 20
        while True:  # the http thread starts with the others
            try:
                self.api(key=None).get("/")
                return self
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("http does not answer:\n%s" % self.log(), pytrace=False)
                time.sleep(0.02)

    def api(self, key="operator", **kw):
        """A client: the operator key unless key=None (or another key)."""
        return Api(self.ports["http"], tls=self.tls, cafile=self.cert,
                   key=self.api_key if key == "operator" else key, **kw)

    def user(self, prefix="user", domain="example.org", password=LOGIN_PASSWORD):
        """A fresh user with a login password; (address, SMTP password).
        Made through the API while the server runs (a CLI run under ASan
        costs most of a second)."""
        self._users += 1
        addr = "%s%d.%d@%s" % (prefix, self._users, time.monotonic_ns() % 100000, domain)
        if self.proc is not None:
            pw = self.api().ok("POST", "/api/v1/users",
                               {"address": addr, "password": password})["smtp_password"]
        else:
            pw = self.cli("user", "add", addr, "--password-stdin",
                          stdin=password + "\n")["smtp_password"]
        self.passwords[addr] = pw
        return addr, pw

    def add_domain(self, name="example.org"):
        """A domain (Ed25519 DKIM keys: RSA ones take long under ASan)."""
        if self.proc is not None:
            return self.api().ok("POST", "/api/v1/domains", {"domain": name, "dkim": "ed25519"})
        return self.cli("domain", "add", name, "--dkim", "ed25519")


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    """A started server with example.org, shared by one module's tests."""
    _check_binary()
    srv = HttpServer(tmp_path_factory.mktemp("http") / "postern")
    srv.start()
    srv.add_domain("example.org")
    yield srv
    srv.stop()


@pytest.fixture
def http_server_factory(tmp_path):
    """make(tls=False, start=True, **conf) -> a fresh server of this test
    (example.org added); conf keys are section__key."""
    _check_binary()
    made = []

    def make(tls=False, start=True, **conf):
        srv = HttpServer(tmp_path / ("postern%d" % len(made)), tls=tls, **conf)
        made.append(srv)
        if start:
            srv.start()
            srv.add_domain("example.org")
        else:
            srv.add_domain("example.org")
        return srv

    yield make
    for srv in made:
        srv.stop()
