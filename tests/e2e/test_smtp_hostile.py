"""Postern as attackers and careless clients meet it (issue 11): weak TLS
suites, bad SASL base64, unbounded BDAT from nobody, clients that talk
before the greeting or never finish a handshake, 8-bit EHLO names in the
Received: header, and IPv6 clients that own a whole /64.
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import time

import pytest

from fixtures_smtp import (HOSTNAME, Server, SmtpClient, b64, make_message, plain_ir,
                           provision_documentation_example, queue_id, split_header,
                           tls_client_context)

HERE = os.path.dirname(os.path.abspath(__file__))


# --- TLS suites (item 17) ---------------------------------------------------


def s_client(port, *args, data=b"Q\n", timeout=20):
    """openssl s_client against 127.0.0.1:port; (returncode, output)."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", HOSTNAME] + list(args),
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def negotiated_cipher(out):
    m = re.search(r"Cipher is (\S+)", out)
    return m.group(1) if m else None


def make_rsa_cert(srv):
    """Replace the setup's ECDSA certificate by an RSA one (as an operator
    with a CA's RSA certificate would)."""
    key = srv.data / "tls" / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(srv.cert), "-days", "2",
                    "-subj", "/CN=" + HOSTNAME], check=True, capture_output=True)
    os.chmod(key, 0o600)


@pytest.mark.parametrize("keytype", ["ecdsa", "rsa"])
@pytest.mark.parametrize("port", ["submissions", "http"])
def test_tls_refuses_cbc_sha1_suites_and_accepts_aead_ones(smtp_server_factory, keytype, port):
    srv = smtp_server_factory(start=False)
    if keytype == "rsa":
        make_rsa_cert(srv)
    srv.start()
    sig = "ECDSA" if keytype == "ecdsa" else "RSA"
    for weak in ("ECDHE-%s-AES128-SHA" % sig, "ECDHE-%s-AES256-SHA" % sig,
                 "ECDHE-%s-AES128-SHA256" % sig):
        rc, out = s_client(srv.ports[port], "-tls1_2", "-cipher", weak)
        assert negotiated_cipher(out) in (None, "(NONE)"), \
            "%s on %s accepted %s:\n%s" % (keytype, port, weak, out[-2000:])
        assert rc != 0, out[-2000:]
    for good in ("ECDHE-%s-AES128-GCM-SHA256" % sig, "ECDHE-%s-CHACHA20-POLY1305" % sig):
        rc, out = s_client(srv.ports[port], "-tls1_2", "-cipher", good)
        assert negotiated_cipher(out) == good, out[-2000:]
    rc, out = s_client(srv.ports[port], "-tls1_3")
    assert "TLSv1.3" in out and negotiated_cipher(out), out[-2000:]


# --- SASL responses that are not base64 (item 11) ---------------------------


def tls_client(srv):
    c = srv.client("submissions")
    c.ehlo()
    return c


@pytest.mark.parametrize("dialog", [
    ["AUTH PLAIN !!!not-base64!!!"],
    ["AUTH PLAIN AGFsaWNlAHNlY3JldA"],  # padding missing
    ["AUTH PLAIN *"],
    ["AUTH PLAIN", "!!!not-base64!!!"],
    ["AUTH LOGIN", "@@@"],
    ["AUTH LOGIN " + b64("alice@example.org"), "not base64 at all"],
    ["AUTH LOGIN", b64("alice@example.org"), "%%%"],
    ["AUTH XOAUTH2 ???"],
    ["AUTH OAUTHBEARER", "???"],
], ids=["plain-ir", "plain-ir-unpadded", "plain-ir-star", "plain-continuation",
        "login-user", "login-ir-then-password", "login-password", "xoauth2-ir",
        "oauthbearer-continuation"])
def test_a_response_that_is_not_base64_gets_501_at_once(smtp_server, dialog):
    c = tls_client(smtp_server)
    for line in dialog[:-1]:
        assert c.cmd(line).code == 334
    t0 = time.monotonic()
    r = c.cmd(dialog[-1])
    took = time.monotonic() - t0
    assert r.code == 501 and r.enh == "5.5.2", r
    # a syntax error, not a failed credential: no failure delay (200 ms)
    assert took < 0.15, took
    # the session goes on, in step, and a good login still works
    assert c.cmd("NOOP").code == 250
    assert c.auth_plain("alice@example.org", smtp_server.alice_pw).code == 235


@pytest.mark.parametrize("start", [["AUTH PLAIN"], ["AUTH LOGIN"],
                                   ["AUTH LOGIN", b64("alice@example.org")]],
                         ids=["plain", "login-user", "login-password"])
def test_a_star_cancels_the_exchange_with_501(smtp_server, start):
    c = tls_client(smtp_server)
    for line in start:
        assert c.cmd(line).code == 334
    r = c.cmd("*")
    assert r.code == 501, r
    assert c.cmd("NOOP").code == 250
    assert c.auth_plain("alice@example.org", smtp_server.alice_pw).code == 235


def test_a_well_formed_wrong_response_still_gets_535_after_the_delay(smtp_server):
    c = tls_client(smtp_server)
    t0 = time.monotonic()
    r = c.cmd("AUTH PLAIN " + b64("no-nul-separators"))
    assert r.code == 535 and r.enh == "5.7.8", r
    assert time.monotonic() - t0 >= 0.18
