"""
Outbound TLS policy end to end (RFC 7672 DANE, RFC 8461 MTA-STS, RFC 8689
REQUIRETLS): postern delivering to test MX hosts whose certificates a
test CA made, found through the loopback DNS server (which answers TLSA
records and the AD bit for names marked SECURE), MTA-STS policies served
over HTTPS on loopback by a certificate of the same CA, trusted through
[delivery] tls_ca.
"""
import contextlib
import gzip
import json
import hashlib
import http.server
import re
import smtplib
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from fixtures_delivery import Mx, _MxHandler, attempts, wait_until
from fixtures_smtp import _open_clients, tls_client_context

STS_HOST = "127.0.0.7"


class CertAuthority:
    """A CA made with openssl, and server certificates it signs."""

    def __init__(self, root):
        self.dir = Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.key, self.cert = self.dir / "ca.key", self.dir / "ca.pem"
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "2",
                  "-subj", "/CN=postern test CA",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    @staticmethod
    def _run(*args):
        subprocess.run(["openssl"] + [str(a) for a in args], check=True,
                       capture_output=True, timeout=30)

    def issue(self, *names, days=2):
        """A certificate for names (subjectAltName DNS): (key, cert)."""
        base = self.dir / names[0]
        key, csr, crt, ext = (base.with_suffix(s) for s in (".key", ".csr", ".pem", ".ext"))
        self._run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=%s" % names[0])
        ext.write_text("subjectAltName=%s\n" % ",".join("DNS:" + n for n in names))
        self._run("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                  "-CAcreateserial", "-out", crt, "-days", str(days), "-extfile", ext)
        return key, crt

    def context(self, *names, chain=False):
        """A server context for names; chain: the CA's certificate sent
        too (as DANE-TA needs, RFC 7672 3.2.2)."""
        key, crt = self.issue(*names)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if chain:
            full = crt.with_suffix(".chain.pem")
            full.write_bytes(crt.read_bytes() + self.cert.read_bytes())
            ctx.load_cert_chain(str(full), str(key))
        else:
            ctx.load_cert_chain(str(crt), str(key))
        return ctx, crt

    @staticmethod
    def spki_sha256(crt):
        """The TLSA 3 1 1 association data of a certificate."""
        pub = subprocess.run(["openssl", "x509", "-in", str(crt), "-pubkey", "-noout"],
                             check=True, capture_output=True, timeout=30).stdout
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                             check=True, capture_output=True, timeout=30).stdout
        return hashlib.sha256(der).hexdigest()


class StsServer:
    """HTTPS on STS_HOST:port serving /.well-known/mta-sts.txt by Host:
    policies[host] = (status, content type, body); every request seen."""

    def __init__(self, ctx):
        self.policies, self.requests, self.posts = {}, [], []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                outer.requests.append((host, self.path))
                status, ctype, body = outer.policies.get(host, (404, "text/plain", "no"))
                if self.path != "/.well-known/mta-sts.txt":
                    status, body = 404, "no"
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                outer.posts.append((self.path, dict(self.headers.items()),
                                    self.rfile.read(n)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer((STS_HOST, 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class RequireTlsMx(Mx):
    """A test MX that offers REQUIRETLS and records the MAIL parameters."""

    def start(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP

        mx = self
        mx.mail_params = []

        class Smtp(SMTP):
            def _getparams(self, params):
                got = super()._getparams([p for p in params if p.upper() != "REQUIRETLS"])
                mx.mail_params.append([p.upper() for p in params])
                return got

        class Handler(_MxHandler):
            async def handle_EHLO(self, server, session, envelope, hostname, responses):
                session.host_name = hostname
                return responses[:-1] + ["250-REQUIRETLS", responses[-1]]

        class Ctl(Controller):
            def factory(self):
                return Smtp(self.handler, **self.SMTP_kwargs)

        self.controller = Ctl(Handler(self), hostname=self.host, port=self.port,
                              server_hostname=self.name, ready_timeout=5,
                              tls_context=self.tls_context, require_starttls=False)
        self.controller.start()
        return self


@pytest.fixture
def world(delivery, tmp_path):
    ca = CertAuthority(tmp_path / "ca")
    sts_ctx, _ = ca.context("mta-sts.sts.test", "mta-sts.testing.test", "mta-sts.other.test",
                            "mta-sts.bad.test")
    sts = StsServer(sts_ctx)
    delivery.ca, delivery.sts = ca, sts
    try:
        yield delivery
    finally:
        sts.stop()


def server(w, **conf):
    return w.server(delivery__tls_ca=str(w.ca.cert), delivery__mta_sts_port=str(w.sts.port),
                    **conf)


def sts_zone(domain, mx_host, mx_ip, policy_id="20261204"):
    return ["%s. MX 10 %s." % (domain, mx_host),
            "%s. A %s" % (mx_host, mx_ip),
            '_mta-sts.%s. TXT "v=STSv1; id=%s;"' % (domain, policy_id),
            "mta-sts.%s. A %s" % (domain, STS_HOST)]


def policy(mode, *mx, max_age=86400):
    return ("text/plain", "version: STSv1\r\nmode: %s\r\n%smax_age: %d\r\n"
            % (mode, "".join("mx: %s\r\n" % m for m in mx), max_age))


def msg(to, subject="policy test"):
    return ("From: alice@example.org\r\nTo: %s\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.org>\r\n\r\nhello\r\n" % (to, subject, time.time_ns()))


def wait_attempt(srv, qid, result, timeout=15):
    def found():
        return [a for a in attempts(srv.log(), qid) if a["result"] == result]
    wait_until(found, timeout, lambda: "a %s attempt of %s in %r" % (
        result, qid, attempts(srv.log(), qid)))
    return found()[0]


def no_mail_command(mx):
    return not any(e[0] == "MAIL" for e in mx.events) and mx.received == []


# MTA-STS ---------------------------------------------------------------


def test_mta_sts_enforce_delivers_over_verified_tls_and_caches_the_policy(world):
    ctx, _ = world.ca.context("mx.sts.test")
    mx = world.mx("127.0.0.2", tls_context=ctx)
    world.dns.set(*sts_zone("sts.test", "mx.sts.test", "127.0.0.2"))
    world.sts.policies["mta-sts.sts.test"] = (200,) + policy("enforce", "mx.sts.test")
    srv = server(world)
    qid = world.submit(srv, "bob@sts.test", msg("bob@sts.test"))
    a = wait_attempt(srv, qid, "sent")
    assert (a["tls_policy"], a["verified"]) == ("mta-sts", "yes"), a
    assert a["tls"].startswith("TLSv1."), a
    assert mx.wait(1)[0].tls
    assert world.sts.requests == [("mta-sts.sts.test", "/.well-known/mta-sts.txt")]
    # kept on disk for its max_age, and fetched again only for a new id
    cached = (srv.data / "mta-sts" / "sts.test").read_text()
    assert "id 20261204" in cached and "mode: enforce" in cached
    srv.stop()
    srv.start()
    qid = world.submit(srv, "bob@sts.test", msg("bob@sts.test"))
    wait_attempt(srv, qid, "sent")
    assert len(world.sts.requests) == 1
    world.dns.set(*sts_zone("sts.test", "mx.sts.test", "127.0.0.2", policy_id="2"))
    srv.stop()
    srv.start()
    qid = world.submit(srv, "bob@sts.test", msg("bob@sts.test"))
    wait_attempt(srv, qid, "sent")
    assert len(world.sts.requests) == 2


def test_mta_sts_enforce_with_a_certificate_for_another_name_defers_and_sends_nothing(world):
    ctx, _ = world.ca.context("wrong.sts.test")
    mx = world.mx("127.0.0.2", tls_context=ctx)
    world.dns.set(*sts_zone("sts.test", "mx.sts.test", "127.0.0.2"))
    world.sts.policies["mta-sts.sts.test"] = (200,) + policy("enforce", "mx.sts.test")
    srv = server(world)
    qid = world.submit(srv, "bob@sts.test", msg("bob@sts.test"))
    a = wait_attempt(srv, qid, "deferred")
    assert "MTA-STS" in a["reply"] or "certificate" in a["reply"], a
    time.sleep(1)
    assert no_mail_command(mx), mx.events
    assert srv.cli("queue", "show", qid)["id"] == qid


def test_mta_sts_enforce_skips_an_mx_the_policy_does_not_name(world):
    ctx, _ = world.ca.context("mx.sts.test")
    mx = world.mx("127.0.0.2", tls_context=ctx)
    world.dns.set(*sts_zone("sts.test", "mx.sts.test", "127.0.0.2"))
    world.sts.policies["mta-sts.sts.test"] = (200,) + policy("enforce", "*.elsewhere.test")
    srv = server(world)
    qid = world.submit(srv, "bob@sts.test", msg("bob@sts.test"))
    a = wait_attempt(srv, qid, "deferred")
    assert "not an MX host of the MTA-STS policy" in a["reply"], a
    assert mx.events == [], "no connection at all to an MX outside the policy"


def test_mta_sts_enforce_to_an_mx_without_starttls_sends_nothing_in_clear(world):
    mx = world.mx("127.0.0.2")
    world.dns.set(*sts_zone("sts.test", "mx.sts.test", "127.0.0.2"))
    world.sts.policies["mta-sts.sts.test"] = (200,) + policy("enforce", "mx.sts.test")
    srv = server(world)
    qid = world.submit(srv, "bob@sts.test", msg("bob@sts.test"))
    a = wait_attempt(srv, qid, "deferred")
    assert "no STARTTLS" in a["reply"], a
    assert no_mail_command(mx), mx.events


def test_mta_sts_testing_delivers_despite_a_bad_certificate_and_says_so(world):
    ctx, _ = world.ca.context("wrong.testing.test")
    mx = world.mx("127.0.0.2", tls_context=ctx)
    world.dns.set(*sts_zone("testing.test", "mx.testing.test", "127.0.0.2"))
    world.sts.policies["mta-sts.testing.test"] = (200,) + policy("testing", "mx.testing.test")
    srv = server(world)
    qid = world.submit(srv, "bob@testing.test", msg("bob@testing.test"))
    a = wait_attempt(srv, qid, "sent")
    assert (a["tls_policy"], a["verified"]) == ("mta-sts-testing", "no"), a
    assert mx.wait(1)[0].tls


def test_a_policy_that_cannot_be_fetched_or_is_malformed_leaves_tls_opportunistic(world):
    mx = world.mx("127.0.0.2")  # no STARTTLS at all
    world.dns.set(*(sts_zone("bad.test", "mx.bad.test", "127.0.0.2") +
                    sts_zone("other.test", "mx.other.test", "127.0.0.2")))
    world.sts.policies["mta-sts.bad.test"] = (200, "text/plain", "version: STSv1\nmode: nonsense\n")
    world.sts.policies["mta-sts.other.test"] = (200,) + (("text/html",) + policy(
        "enforce", "mx.other.test")[1:])
    srv = server(world)
    qid = world.submit(srv, ["bob@bad.test", "bob@other.test"], msg("bob@bad.test"))
    wait_until(lambda: len(mx.received) == 2, 15, "both delivered in clear")
    log = srv.log()
    assert "domain=bad.test error=\"malformed policy\"" in log
    assert "domain=other.test error=\"policy served as text/html, not text/plain\"" in log
    assert [a["tls_policy"] for a in attempts(log, qid)] == ["none", "none"]


def test_the_policy_server_must_have_a_certificate_postern_trusts(world):
    """Without tls_ca the test CA is unknown: no policy is fetched, and
    delivery stays opportunistic (it would be the same for an attacker's
    policy server)."""
    ctx, _ = world.ca.context("wrong.sts.test")
    mx = world.mx("127.0.0.2", tls_context=ctx)
    world.dns.set(*sts_zone("sts.test", "mx.sts.test", "127.0.0.2"))
    world.sts.policies["mta-sts.sts.test"] = (200,) + policy("enforce", "mx.sts.test")
    srv = world.server(delivery__mta_sts_port=str(world.sts.port))
    qid = world.submit(srv, "bob@sts.test", msg("bob@sts.test"))
    a = wait_attempt(srv, qid, "sent")
    assert a["tls_policy"] == "none", a
    assert "domain=sts.test error=" in srv.log()
    assert mx.wait(1)


# DANE --------------------------------------------------------------------


def dane_zone(domain, mx_host, mx_ip, tlsa, secure=True):
    z = ["%s. MX 10 %s." % (domain, mx_host), "%s. A %s" % (mx_host, mx_ip),
         "_25._tcp.%s. TLSA %s" % (mx_host, tlsa)]
    if secure:
        z += ["%s. SECURE" % domain, "%s. SECURE" % mx_host, "_25._tcp.%s. SECURE" % mx_host]
    return z


def test_dane_ee_match_delivers_verified(world):
    ctx, crt = world.ca.context("mx.dane.test")
    mx = world.mx("127.0.0.3", tls_context=ctx)
    world.dns.set(*dane_zone("dane.test", "mx.dane.test", "127.0.0.3",
                             "3 1 1 " + world.ca.spki_sha256(crt)))
    srv = world.server()  # no tls_ca: DANE-EE needs no CA
    assert "queue.tls dane=on mta_sts=on" in srv.log()
    qid = world.submit(srv, "bob@dane.test", msg("bob@dane.test"))
    a = wait_attempt(srv, qid, "sent")
    assert (a["tls_policy"], a["verified"]) == ("dane", "yes"), a
    assert mx.wait(1)[0].tls


def test_dane_mismatch_defers_and_sends_nothing(world):
    ctx, _ = world.ca.context("mx.dane.test")
    mx = world.mx("127.0.0.3", tls_context=ctx)
    world.dns.set(*dane_zone("dane.test", "mx.dane.test", "127.0.0.3", "3 1 1 " + "ab" * 32))
    srv = world.server()
    qid = world.submit(srv, "bob@dane.test", msg("bob@dane.test"))
    a = wait_attempt(srv, qid, "deferred")
    assert "nothing sent" in a["reply"], a
    time.sleep(1)
    assert no_mail_command(mx), mx.events


def test_dane_ta_checks_the_chain_and_the_mx_name(world):
    ca_hash = hashlib.sha256(subprocess.run(
        ["openssl", "x509", "-in", str(world.ca.cert), "-outform", "DER"],
        check=True, capture_output=True).stdout).hexdigest()
    good, _ = world.ca.context("mx.dane.test", chain=True)
    mx = world.mx("127.0.0.3", tls_context=good)
    world.dns.set(*dane_zone("dane.test", "mx.dane.test", "127.0.0.3", "2 0 1 " + ca_hash))
    srv = world.server()
    qid = world.submit(srv, "bob@dane.test", msg("bob@dane.test"))
    a = wait_attempt(srv, qid, "sent")
    assert (a["tls_policy"], a["verified"]) == ("dane", "yes"), a
    assert mx.wait(1)
    # the same CA, a certificate for another name: refused (RFC 7672 3.2.3)
    wrong, _ = world.ca.context("wrong.dane2.test", chain=True)
    mx2 = world.mx("127.0.0.4", tls_context=wrong)
    world.dns.add(*dane_zone("dane2.test", "mx.dane2.test", "127.0.0.4", "2 0 1 " + ca_hash))
    qid = world.submit(srv, "bob@dane2.test", msg("bob@dane2.test"))
    a = wait_attempt(srv, qid, "deferred")
    assert "nothing sent" in a["reply"], a
    assert no_mail_command(mx2), mx2.events


def test_dane_to_an_mx_without_starttls_sends_nothing(world):
    mx = world.mx("127.0.0.3")
    world.dns.set(*dane_zone("dane.test", "mx.dane.test", "127.0.0.3", "3 1 1 " + "ab" * 32))
    srv = world.server()
    qid = world.submit(srv, "bob@dane.test", msg("bob@dane.test"))
    a = wait_attempt(srv, qid, "deferred")
    assert "no STARTTLS" in a["reply"], a
    assert no_mail_command(mx), mx.events


def test_tlsa_records_without_dnssec_are_ignored(world):
    """Records that did not come validated (no AD bit) prove nothing:
    opportunistic TLS, as for any domain."""
    ctx, _ = world.ca.context("mx.dane.test")
    mx = world.mx("127.0.0.3", tls_context=ctx)
    world.dns.set(*dane_zone("dane.test", "mx.dane.test", "127.0.0.3", "3 1 1 " + "ab" * 32,
                             secure=False))
    srv = world.server()
    qid = world.submit(srv, "bob@dane.test", msg("bob@dane.test"))
    a = wait_attempt(srv, qid, "sent")
    assert a["tls_policy"] == "none" and a["verified"] == "no", a
    assert mx.wait(1)[0].tls


def test_dane_off_ignores_validated_records(world):
    ctx, _ = world.ca.context("mx.dane.test")
    mx = world.mx("127.0.0.3", tls_context=ctx)
    world.dns.set(*dane_zone("dane.test", "mx.dane.test", "127.0.0.3", "3 1 1 " + "ab" * 32))
    srv = world.server(delivery__dane="off")
    qid = world.submit(srv, "bob@dane.test", msg("bob@dane.test"))
    a = wait_attempt(srv, qid, "sent")
    assert a["tls_policy"] == "none", a
    assert mx.wait(1)


# REQUIRETLS -----------------------------------------------------------------


def submit_requiretls(w, srv, to, body):
    ctx = tls_client_context(srv.cert)
    s = smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=15)
    _open_clients.append(s)
    try:
        s.ehlo("client.example.test")
        assert not s.has_extn("requiretls"), "REQUIRETLS offered before TLS"
        s.starttls(context=ctx)
        s.ehlo("client.example.test")
        assert s.has_extn("requiretls")
        s.login("alice@example.org", srv.passwords["alice@example.org"])
        code, text = s.mail("alice@example.org", ["REQUIRETLS"])
        assert code == 250, (code, text)
        assert s.rcpt(to)[0] == 250
        code, text = s.data(body)
        assert code == 250, (code, text)
        s.quit()
    finally:
        with contextlib.suppress(Exception):
            s.close()
    return re.search(rb"queued as ([0-9a-f]{20})", text).group(1).decode()


def test_requiretls_to_an_unverified_mx_is_bounced_not_sent(world):
    ctx, _ = world.ca.context("mx.plain.test")
    mx = world.mx("127.0.0.2", tls_context=ctx)
    home = world.mx("127.0.0.4")
    world.dns.set("plain.test. MX 10 mx.plain.test.", "mx.plain.test. A 127.0.0.2",
                  "example.org. MX 10 mx.example.org.", "mx.example.org. A 127.0.0.4")
    srv = world.server()
    qid = submit_requiretls(world, srv, "bob@plain.test", msg("bob@plain.test"))
    a = wait_attempt(srv, qid, "bounced")
    assert "5.7.10" in a["reply"], a
    assert no_mail_command(mx), mx.events
    dsn = home.wait(1)[0]
    assert dsn.rcpt_tos == ["alice@example.org"] and dsn.mail_from == ""
    assert b"5.7.10" in dsn.content


def test_requiretls_to_a_dane_verified_mx_that_offers_it_is_delivered_with_it(world):
    ctx, crt = world.ca.context("mx.dane.test")
    mx = RequireTlsMx("127.0.0.3", world.port, tls_context=ctx)
    world._mxs.append(mx)
    mx.start()
    world.dns.set(*dane_zone("dane.test", "mx.dane.test", "127.0.0.3",
                             "3 1 1 " + world.ca.spki_sha256(crt)))
    srv = world.server()
    qid = submit_requiretls(world, srv, "bob@dane.test", msg("bob@dane.test"))
    a = wait_attempt(srv, qid, "sent")
    assert (a["tls_policy"], a["verified"]) == ("dane", "yes"), a
    assert mx.wait(1)[0].tls
    assert any("REQUIRETLS" in p for p in mx.mail_params), mx.mail_params


def test_requiretls_is_kept_in_the_queue(world):
    world.dns.set("slow.test. MX 10 mx.slow.test.", "mx.slow.test. A 127.0.0.5")
    srv = world.server()
    qid = submit_requiretls(world, srv, "bob@slow.test", msg("bob@slow.test"))
    shown = srv.cli("queue", "show", qid)
    assert shown.get("requiretls") is True, shown


def test_queue_show_tells_each_recipients_last_attempt_with_its_tls(world):
    """One recipient delivered under DANE, one waiting on an MTA-STS
    policy its MX fails: `queue show` says which and why."""
    ctx, crt = world.ca.context("mx.dane.test")
    world.mx("127.0.0.3", tls_context=ctx)
    bad, _ = world.ca.context("wrong.sts.test")
    world.mx("127.0.0.2", tls_context=bad)
    world.dns.set(*(dane_zone("dane.test", "mx.dane.test", "127.0.0.3",
                              "3 1 1 " + world.ca.spki_sha256(crt)) +
                    sts_zone("sts.test", "mx.sts.test", "127.0.0.2")))
    world.sts.policies["mta-sts.sts.test"] = (200,) + policy("enforce", "mx.sts.test")
    srv = server(world)
    qid = world.submit(srv, ["bob@dane.test", "carol@sts.test"], msg("bob@dane.test"))
    wait_attempt(srv, qid, "sent")
    wait_attempt(srv, qid, "deferred")

    def shown():
        s = srv.cli("queue", "show", qid)
        return s if all(s.get("last_attempt") or [None]) else None
    wait_until(shown, 10, "both recipients' notes in queue show")
    sent, waiting = shown()["last_attempt"]
    assert sent.startswith("sent host=mx.dane.test tls=TLSv1.") and \
        "tls_policy=dane verified=yes" in sent, sent
    assert waiting.startswith("deferred ") and "MTA-STS" in waiting, waiting


def test_tls_reports_name_the_policy_each_session_ran_under(world):
    """The TLS report (RFC 8460) of a day: an MTA-STS domain delivered
    to, a DANE domain whose TLSA records do not match, a domain whose
    policy could not be fetched."""
    good, _ = world.ca.context("mx.sts.test")
    world.mx("127.0.0.2", tls_context=good)
    danectx, _ = world.ca.context("mx.dane.test")
    world.mx("127.0.0.3", tls_context=danectx)
    world.mx("127.0.0.4")
    wrong, _ = world.ca.context("wrong.testing.test")
    world.mx("127.0.0.5", tls_context=wrong)
    rua = '"v=TLSRPTv1; rua=https://mta-sts.sts.test:%d/tlsrpt"' % world.sts.port
    world.dns.set(*(sts_zone("sts.test", "mx.sts.test", "127.0.0.2") +
                    dane_zone("dane.test", "mx.dane.test", "127.0.0.3", "3 1 1 " + "ab" * 32) +
                    sts_zone("bad.test", "mx.bad.test", "127.0.0.4") +
                    sts_zone("testing.test", "mx.testing.test", "127.0.0.5") +
                    ["_smtp._tls.%s. TXT %s" % (d, rua) for d in ("sts.test", "dane.test",
                                                                 "bad.test", "testing.test")]))
    world.sts.policies["mta-sts.sts.test"] = (200,) + policy("enforce", "mx.sts.test")
    world.sts.policies["mta-sts.testing.test"] = (200,) + policy("testing", "mx.testing.test")
    srv = server(world)
    qid = world.submit(srv, ["bob@sts.test", "bob@dane.test", "bob@bad.test",
                             "bob@testing.test"], msg("bob@sts.test"))
    wait_until(lambda: len([a for a in attempts(srv.log(), qid) if a["result"] == "sent"]) == 3,
               15, "sts.test, bad.test and testing.test delivered")
    wait_attempt(srv, qid, "deferred")
    srv.cli("tlsrpt", "send", "--today")
    wait_until(lambda: len(world.sts.posts) == 4, 20, "four reports posted")
    reports = {}
    for path, headers, body in world.sts.posts:
        assert path == "/tlsrpt"
        assert headers["Content-Type"] == "application/tlsrpt+gzip"
        r = json.loads(gzip.decompress(body))
        reports[r["policies"][0]["policy"]["policy-domain"]] = r

    [p] = reports["sts.test"]["policies"]
    assert p["policy"]["policy-type"] == "sts"
    assert "mode: enforce" in p["policy"]["policy-string"]
    assert p["policy"]["mx-host"] == ["mx.sts.test"]
    assert p["summary"] == {"total-successful-session-count": 1,
                            "total-failure-session-count": 0}

    [p] = reports["dane.test"]["policies"]
    assert p["policy"]["policy-type"] == "tlsa"
    assert p["policy"]["policy-string"] == ["3 1 1 " + "AB" * 32]
    assert p["summary"]["total-successful-session-count"] == 0
    assert p["summary"]["total-failure-session-count"] >= 1
    assert {d["result-type"] for d in p["failure-details"]} == {"tlsa-invalid"}
    assert p["failure-details"][0]["receiving-mx-hostname"] == "mx.dane.test"
    assert p["failure-details"][0]["receiving-ip"] == "127.0.0.3"

    # testing mode: delivered, and the failure reported
    [p] = reports["testing.test"]["policies"]
    assert p["policy"]["policy-type"] == "sts"
    assert "mode: testing" in p["policy"]["policy-string"]
    assert p["summary"] == {"total-successful-session-count": 0,
                            "total-failure-session-count": 1}
    assert [d["result-type"] for d in p["failure-details"]] == ["certificate-host-mismatch"]

    by_type = {p["policy"]["policy-type"]: p for p in reports["bad.test"]["policies"]}
    assert {d["result-type"] for d in by_type["sts"]["failure-details"]} == \
        {"sts-policy-fetch-error"}
    assert {d["result-type"] for d in by_type["no-policy-found"]["failure-details"]} == \
        {"starttls-not-supported"}
