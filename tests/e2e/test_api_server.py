"""
The HTTP server itself: what every answer carries, the panel's files,
errors as JSON, limits, HTTPS, and when plain HTTP is allowed.
"""
import http.client
import socket
import ssl
import subprocess

import pytest

from fixtures_http import Api, HttpServer
from fixtures_smtp import POSTERN_BIN, env_for_postern

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def assert_security_headers(r):
    for k, v in SECURITY_HEADERS.items():
        assert r.header(k) == v, "%s: %r" % (k, r.header(k))
    csp = r.header("Content-Security-Policy")
    assert csp and "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_the_panel_page_is_served_with_the_security_headers(http_server):
    r = http_server.api(key=None).get("/")
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/html")
    assert b"<html" in r.body
    assert_security_headers(r)


def test_an_api_answer_and_an_error_carry_the_security_headers(http_server):
    api = http_server.api()
    ok = api.get("/api/v1/domains")
    assert ok.status == 200
    assert_security_headers(ok)
    assert ok.header("Cache-Control") == "no-store"
    bad = http_server.api(key=None).get("/api/v1/domains")
    assert bad.status == 401
    assert_security_headers(bad)


def test_an_unknown_path_is_a_404_with_a_sentence(http_server):
    for path in ("/api/v1/nothing", "/no-such-page.html", "/api/v1/users/a@b/nothing"):
        r = http_server.api().get(path)
        assert r.status == 404, path
        assert isinstance(r.json["error"], str) and r.json["error"]


def test_a_known_path_with_another_method_is_a_405_that_says_which(http_server):
    r = http_server.api().put("/api/v1/domains", {})
    assert r.status == 405
    assert "GET" in r.header("Allow") and "POST" in r.header("Allow")
    assert r.json["error"]


def test_a_path_that_climbs_or_hides_a_nul_is_refused(http_server):
    for path in ("/api/v1/users/%00x", "/../postern.conf", "/api/v1/%2e%2e/domains",
                 "/api/v1/users/%zz"):
        r = http_server.api().get(path)
        assert r.status == 400, path
        assert r.json["error"]


def test_a_body_that_is_not_a_json_object_is_refused(http_server):
    api = http_server.api()
    r = api.call("POST", "/api/v1/domains", raw=b"[1, 2]",
                 headers={"Content-Type": "application/json"})
    assert r.status == 400 and "JSON object" in r.json["error"]
    r = api.call("POST", "/api/v1/domains", raw=b'{"domain": "a.test", "domain": "b.test"}',
                 headers={"Content-Type": "application/json"})
    assert r.status == 400
    r = api.call("POST", "/api/v1/domains", raw=b'domain=a.test',
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 415
    names = [d["name"] for d in api.get("/api/v1/domains").json["domains"]]
    assert "a.test" not in names and "b.test" not in names


def test_a_body_over_the_limit_is_refused_with_413(http_server):
    # [http] max_body is 1M by default
    big = b'{"text": "' + b"x" * (1 << 20) + b'"}'
    try:
        r = http_server.api().call("POST", "/api/v1/tos", raw=big,
                                   headers={"Content-Type": "application/json"})
        assert r.status == 413
    except (ConnectionResetError, BrokenPipeError):
        pass  # refused before the whole body was sent
    assert http_server.api().get("/api/v1/tos").status == 404  # nothing was set
    assert http_server.api().get("/api/v1/domains").status == 200  # still answering


def test_https_serves_the_servers_certificate(http_server_factory):
    srv = http_server_factory(tls=True)
    api = srv.api()
    assert api.tls
    r = api.get("/api/v1/domains")  # chain verified against the setup's cert
    assert r.status == 200
    assert r.header("Strict-Transport-Security")
    # plain HTTP to the TLS port gets no answer
    conn = http.client.HTTPConnection("127.0.0.1", srv.ports["http"], timeout=5)
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.request("GET", "/api/v1/domains")
        conn.getresponse()
    conn.close()


def test_plain_http_is_refused_on_an_address_that_is_not_loopback(tmp_path):
    srv = HttpServer(tmp_path / "postern", http__tls="off")
    srv.conf_set("listen", "http", "0.0.0.0:%d" % srv.ports["http"])
    p = subprocess.run([POSTERN_BIN, "-c", str(srv.conf), "serve"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env_for_postern(), timeout=30)
    assert p.returncode != 0
    assert b"loopback" in p.stderr
