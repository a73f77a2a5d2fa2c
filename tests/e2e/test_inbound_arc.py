"""The MX validates the ARC chain a message arrives with (RFC 8617 5.2)
and writes the result in its Authentication-Results (arc=none, pass or
fail), which a forward then seals again as cv=. The chains are made by
another implementation, dkimpy's arc_sign (its Authentication-Results
parser, the authres package, stood in for by a few lines here), with keys
in the DNS server on loopback.
"""
import base64
import subprocess
import types

import dkim
import pytest

from fixtures_delivery import DnsServer
from fixtures_smtp import HOSTNAME, Server, _check_binary, provision_documentation_example, queue_id

AR = b"Authentication-Results: " + HOSTNAME.encode() + b";"


class _Result:
    def __init__(self, method, result):
        self.method, self.result = method, result


class _Header:
    """What dkimpy's arc_sign asks of authres: the authserv-id and each
    result's method and value."""

    @staticmethod
    def parse(text):
        parts = [p.strip() for p in text.split(":", 1)[1].split(";")]
        h = _Header()
        h.authserv_id = parts[0]
        h.results = [_Result(*p.split(None, 1)[0].split("=", 1))
                     for p in parts[1:] if "=" in p]
        return h


dkim.authres = types.SimpleNamespace(
    AuthenticationResultsHeader=_Header,
    core=types.SimpleNamespace(SyntaxError=ValueError),
    AuthresNotFoundError=RuntimeError)


def rsa_key():
    pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem,
                         capture_output=True, check=True).stdout
    return pem, base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    _check_binary()
    root = tmp_path_factory.mktemp("arc")
    dns = DnsServer(root / "dns").start()
    pem1, pub1 = rsa_key()
    pem2, pub2 = rsa_key()
    dns.set('one._domainkey.fwd1.test. TXT "v=DKIM1; k=rsa; p=%s"' % pub1,
            'two._domainkey.fwd2.test. TXT "v=DKIM1; k=rsa; p=%s"' % pub2,
            'fwd2.test. TXT "v=spf1 ip4:127.0.0.1 -all"')
    srv = Server(root / "postern", mailbox__lmtp="unix:/nonexistent/postern-test-lmtp",
                 delivery__dns_servers=dns.address)
    provision_documentation_example(srv)
    srv.start()
    yield srv, dns, {"fwd1": pem1, "fwd2": pem2}
    srv.stop()
    dns.stop()


MSG = (b"From: Carol <carol@list.example>\r\nTo: <alice@example.org>\r\n"
       b"Subject: on the list\r\nMessage-ID: <arc-1@list.example>\r\n\r\n"
       b"Forwarded twice.\r\n")


def seal(msg, pem, domain, selector, results):
    """One hop of dkimpy: its Authentication-Results, then its ARC set."""
    msg = b"Authentication-Results: %s; %s\r\n" % (domain, results) + msg
    fields = dkim.arc_sign(msg, selector, domain, pem, domain)
    assert fields, "dkimpy made no ARC set"
    return b"".join(fields) + msg


def chain(keys, hops=2):
    m = seal(MSG, keys["fwd1"], b"fwd1.test", b"one", b"spf=pass smtp.mailfrom=list.example")
    if hops == 2:
        m = seal(m, keys["fwd2"], b"fwd2.test", b"two", b"spf=pass; arc=pass")
    return m


def arc_result(srv, msg):
    c = srv.client("smtp")
    c.ehlo("mx.fwd2.test")
    r = c.mail("bounces@fwd2.test", "alice@example.org", msg)
    assert r.code == 250, r
    head = srv.spool(queue_id(r)).message.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(AR), head[:300]
    field = b" ".join(head.split(b"\r\nReceived:", 1)[0].split()).decode()
    return field


def test_a_message_without_arc_is_arc_none(world):
    srv, _, _ = world
    assert "arc=none" in arc_result(srv, MSG)


def test_a_chain_dkimpy_sealed_twice_is_arc_pass(world):
    srv, dns, keys = world
    m = chain(keys)
    # dkimpy agrees with itself first
    cv, _, why = dkim.arc_verify(m, dnsfunc=dns.dkim_dnsfunc())
    assert cv == dkim.CV_Pass, why
    ar = arc_result(srv, m)
    assert "arc=pass (2 ARC sets verified)" in ar, ar


def test_a_chain_with_a_changed_body_is_arc_fail(world):
    srv, _, keys = world
    ar = arc_result(srv, chain(keys) + b"P.S. added later\r\n")
    assert "arc=fail" in ar and "body hash" in ar, ar


def test_a_chain_whose_first_results_were_changed_is_arc_fail(world):
    srv, _, keys = world
    m = chain(keys).replace(b"smtp.mailfrom=list.example", b"smtp.mailfrom=list.examplf", 1)
    ar = arc_result(srv, m)
    assert "arc=fail" in ar and "ARC-Seal i=" in ar, ar


def drop_field(msg, name):
    """msg without its first name: field (folded lines and all)."""
    head, body = msg.split(b"\r\n\r\n", 1)
    fields, out, dropped = [], [], False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            fields[-1].append(line)
        else:
            fields.append([line])
    for f in fields:
        if not dropped and f[0].lower().startswith(name.lower() + b":"):
            dropped = True
            continue
        out.extend(f)
    assert dropped
    return b"\r\n".join(out) + b"\r\n\r\n" + body


def test_a_chain_missing_a_field_is_arc_fail(world):
    srv, _, keys = world
    ar = arc_result(srv, drop_field(chain(keys), b"ARC-Seal"))
    assert "arc=fail (ARC sets malformed or incomplete)" in ar, ar
