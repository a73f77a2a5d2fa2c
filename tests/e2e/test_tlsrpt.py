"""
TLS reports (RFC 8460): postern delivers to three remote domains, one
whose MX offers STARTTLS, two whose MX does not; `postern tlsrpt send
--today` reports the day so far. The domain whose _smtp._tls record
names a mailto: rua gets a message (through postern's own queue, DKIM-
signed) at the sink MX of reports.test; the one naming an https: rua
gets a POST at a loopback HTTPS server whose certificate comes from a
test CA trusted through [delivery] tls_ca; the one without a record gets
nothing. Each report's JSON is checked field by field.
"""
import base64
import datetime
import gzip
import http.server
import json
import re
import ssl
import subprocess
import threading
import time

import dkim

from fixtures_delivery import parse_message, wait_until
from fixtures_smtp import HOSTNAME, make_message

ORG = "Example Sender Inc."
FROM = "tls-reports@example.org"


def make_ca(dirpath):
    """A test CA and a certificate for IP 127.0.0.1 signed by it: (CA
    PEM path, server SSLContext)."""
    d = dirpath
    d.mkdir(parents=True, exist_ok=True)

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True,
                       timeout=30)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"),
        "-days", "2", "-subj", "/CN=Test TLSRPT CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-new", *ec, "-keyout", str(d / "srv.key"), "-out", str(d / "srv.csr"),
        "-subj", "/CN=127.0.0.1")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(d / "srv.csr"), "-CA", str(d / "ca.pem"),
        "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-out", str(d / "srv.pem"),
        "-days", "2", "-extfile", str(d / "ext"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(d / "srv.pem"), str(d / "srv.key"))
    return d / "ca.pem", ctx


class ReportServer:
    """An HTTPS server on 127.0.0.1 that records each POST."""

    def __init__(self, ctx):
        self.posts = []
        self.status = []  # statuses to answer first, then 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                outer.posts.append((self.path, dict(self.headers.items()), body))
                self.send_response(outer.status.pop(0) if outer.status else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def rfc3339(s):
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s), s
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def check_report(r, domain, ok, failed, t_send):
    """The fields of RFC 8460 4.4 in one report for domain; its policy."""
    assert set(r) == {"organization-name", "date-range", "contact-info", "report-id",
                      "policies"}, r
    assert r["organization-name"] == ORG
    assert r["contact-info"] == "postmaster@" + HOSTNAME
    assert isinstance(r["report-id"], str) and r["report-id"]
    start = rfc3339(r["date-range"]["start-datetime"])
    end = rfc3339(r["date-range"]["end-datetime"])
    # --today: from today's 00:00:00Z to the moment it was asked
    assert start == (int(t_send) // 86400) * 86400
    assert t_send - 5 <= end <= time.time() + 1
    assert len(r["policies"]) == 1, r["policies"]
    p = r["policies"][0]
    assert p["policy"] == {"policy-type": "no-policy-found", "policy-domain": domain}
    assert p["summary"] == {"total-successful-session-count": ok,
                            "total-failure-session-count": failed}
    return p


def sessions(mx, domain):
    """The SMTP sessions that brought mail for domain: one source port each."""
    return len({d.peer for d in mx.received if any(t.endswith("@" + domain)
                                                   for t in d.rcpt_tos)})


def test_daily_reports_go_to_the_mailto_and_https_rua_of_domains_that_ask(
        delivery, tmp_path):
    from fixtures_delivery import mx_tls_context
    ca, https_ctx = make_ca(tmp_path / "ca")
    web = ReportServer(https_ctx)
    try:
        srv = delivery.server(start=False, tlsrpt__organization=ORG, tlsrpt__from=FROM,
                              delivery__tls_ca=str(ca))
        srv.start()
        tls_mx = delivery.mx("127.0.0.2", tls_context=mx_tls_context(srv))
        plain_mx = delivery.mx("127.0.0.3")
        sink = delivery.mx("127.0.0.4")
        delivery.dns.set(
            "alpha.test. MX 10 mx1.alpha.test.", "mx1.alpha.test. A 127.0.0.2",
            "beta.test. MX 10 mx1.beta.test.", "mx1.beta.test. A 127.0.0.3",
            "gamma.test. MX 10 mx1.gamma.test.", "mx1.gamma.test. A 127.0.0.3",
            "reports.test. MX 10 mx1.reports.test.", "mx1.reports.test. A 127.0.0.4",
            '_smtp._tls.alpha.test. TXT "v=TLSRPTv1; rua=mailto:reports@reports.test"',
            '_smtp._tls.beta.test. TXT "v=TLSRPTv1;rua=https://127.0.0.1:%d/tlsrpt"'
            % web.port,
            '_smtp._tls.gamma.test. TXT "v=spf1 -all"',
            *delivery.dkim_records(srv))

        for i, to in enumerate(["a1@alpha.test", "b1@beta.test", "g1@gamma.test",
                                "a2@alpha.test", "b2@beta.test"]):
            qid = delivery.submit(srv, to, make_message(to=to, subject="m%d" % i))
            srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
        assert all(d.tls for d in tls_mx.received) and len(tls_mx.received) == 2
        assert not any(d.tls for d in plain_mx.received) and len(plain_mx.received) == 3
        n_alpha, n_beta = sessions(tls_mx, "alpha.test"), sessions(plain_mx, "beta.test")
        assert n_alpha >= 1 and n_beta >= 1

        # what the operator sees before sending: the counts on disk
        def shown():
            rows = srv.cli("tlsrpt", "show")["domains"]
            return {r["domain"]: r for r in rows} if len(rows) >= 3 else None
        rows = wait_until(shown, 10, "three domains in `postern tlsrpt show`")
        assert rows["alpha.test"]["policies"][0]["ok"] == n_alpha
        assert rows["beta.test"]["policies"][0]["failed"] == n_beta
        text = srv.cli("tlsrpt", "show", json=False)
        assert re.search(r"beta\.test\s+no-policy-found\s+ok=0 failed=%d" % n_beta, text)

        t_send = time.time()
        out = srv.cli("tlsrpt", "send", "--today")
        assert out["running"] is True and out["day"] == "today"

        # mailto: a message in the sink's mailbox for reports.test
        got = wait_until(lambda: sink.for_rcpt("reports@reports.test"), 30,
                         "the report at reports@reports.test")[0]
        assert got.mail_from == FROM
        m = parse_message(got.content)
        rid = re.fullmatch(r"Report Domain: alpha\.test Submitter: %s Report-ID: <(.+)>"
                           % re.escape(HOSTNAME), m["Subject"])
        assert rid, m["Subject"]
        assert m["TLS-Report-Domain"] == "alpha.test"
        assert m["TLS-Report-Submitter"] == HOSTNAME
        assert m["From"] == "<%s>" % FROM and m["To"] == "<reports@reports.test>"
        assert m.get_content_type() == "multipart/report"
        assert m.get_param("report-type") == "tlsrpt"
        parts = m.get_payload()
        assert [p.get_content_type() for p in parts] == ["text/plain",
                                                         "application/tlsrpt+gzip"]
        att = parts[1]
        fn = re.fullmatch(r"%s!alpha\.test!(\d+)!(\d+)!([0-9a-f]+)\.json\.gz"
                          % re.escape(HOSTNAME), att.get_filename())
        assert fn, att.get_filename()
        assert att["Content-Disposition"].startswith("attachment")
        report = json.loads(gzip.decompress(base64.b64decode(att.get_payload())))
        p = check_report(report, "alpha.test", n_alpha, 0, t_send)
        assert "failure-details" not in p
        assert report["report-id"] == rid.group(1)
        # the file name's timestamps are the date-range's
        assert int(fn.group(1)) == rfc3339(report["date-range"]["start-datetime"])
        assert int(fn.group(2)) == rfc3339(report["date-range"]["end-datetime"])
        # signed as postern signs mail of its hosted domains
        assert dkim.DKIM(got.content, minkey=1024).verify(dnsfunc=delivery.dns.dkim_dnsfunc())

        # https: a POST of the gzip
        wait_until(lambda: web.posts, 30, "the POST to the https rua")
        path, headers, body = web.posts[0]
        assert path == "/tlsrpt"
        assert headers["Content-Type"] == "application/tlsrpt+gzip"
        assert body[:2] == b"\x1f\x8b"
        report = json.loads(gzip.decompress(body))
        p = check_report(report, "beta.test", 0, n_beta, t_send)
        assert p["failure-details"] == [{
            "result-type": "starttls-not-supported",
            "sending-mta-ip": "127.0.0.1",
            "receiving-mx-hostname": "mx1.beta.test",
            "receiving-ip": "127.0.0.3",
            "failed-session-count": n_beta,
        }]

        # gamma.test publishes no TLS-RPT record: nothing for it
        srv.wait_log(r"tlsrpt\.none domain=gamma\.test")
        srv.wait_log(r"tlsrpt\.sent domain=beta\.test")
        time.sleep(1)
        assert len(web.posts) == 1
        assert len(sink.for_rcpt("reports@reports.test")) == 1
        # reported: the counts of that period are gone from the disk,
        # and today's fresh counts (the report's own delivery) remain
        def reported_gone():
            left = srv.cli("tlsrpt", "show")["domains"]
            return all(r["domain"] not in ("alpha.test", "beta.test", "gamma.test")
                       for r in left)
        wait_until(reported_gone, 10, "the reported counts to be removed")
    finally:
        web.stop()


def test_a_restart_keeps_the_counts_of_the_day(delivery):
    srv = delivery.server()
    delivery.mx("127.0.0.3")
    delivery.dns.set("beta.test. MX 10 mx1.beta.test.", "mx1.beta.test. A 127.0.0.3")
    qid = delivery.submit(srv, "b@beta.test", make_message(to="b@beta.test"))
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    srv.stop()
    rows = srv.cli("tlsrpt", "show")["domains"]
    assert [r["domain"] for r in rows] == ["beta.test"]
    assert rows[0]["policies"][0]["failed"] == 1
    srv.start()
    qid = delivery.submit(srv, "c@beta.test", make_message(to="c@beta.test"))
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    srv.stop()
    rows = srv.cli("tlsrpt", "show")["domains"]
    assert rows[0]["policies"][0]["failed"] == 2


def test_tlsrpt_send_refuses_a_day_that_is_not_one(delivery):
    srv = delivery.server(start=False)
    rc, out, err = srv.cli_run("tlsrpt", "send", "--day", "2026-02-30x")
    assert rc != 0 and "not a day" in err
    rc, out, err = srv.cli_run("tlsrpt", "send", "--day", "2026-02-03", "--today")
    assert rc != 0 and "one or the other" in err


def test_a_failed_https_report_is_tried_again_and_an_untrusted_one_never_sent(
        delivery, tmp_path):
    ca, ctx = make_ca(tmp_path / "ca")
    _, other_ctx = make_ca(tmp_path / "other-ca")
    web = ReportServer(ctx)
    web.status = [503]  # the first POST fails
    rogue = ReportServer(other_ctx)
    try:
        srv = delivery.server(delivery__tls_ca=str(ca))
        delivery.mx("127.0.0.3")
        delivery.dns.set(
            "beta.test. MX 10 mx1.beta.test.", "mx1.beta.test. A 127.0.0.3",
            "delta.test. MX 10 mx1.beta.test.",
            '_smtp._tls.beta.test. TXT "v=TLSRPTv1;rua=https://127.0.0.1:%d/r"' % web.port,
            '_smtp._tls.delta.test. TXT "v=TLSRPTv1;rua=https://127.0.0.1:%d/r"'
            % rogue.port)
        for to in ("b@beta.test", "d@delta.test"):
            qid = delivery.submit(srv, to, make_message(to=to))
            srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
        srv.cli("tlsrpt", "send", "--today")
        srv.wait_log(r"tlsrpt\.retry domain=beta\.test .*tries=1 "
                     r'error="a rua failed"')
        srv.wait_log(r'tlsrpt\.send domain=beta\.test .*error="HTTP status 503"')
        # a certificate the CA setting does not vouch for: nothing posted
        srv.wait_log(r'tlsrpt\.send domain=delta\.test .*error="TLS handshake '
                     r'failed: certificate not verified \(unable to get local issuer')
        assert rogue.posts == []
        assert len(web.posts) == 1
        # the operator makes the day's reports due now: the retry goes
        today = time.strftime("%Y-%m-%d", time.gmtime())
        srv.cli("tlsrpt", "send", "--day", today)
        srv.wait_log(r"tlsrpt\.sent domain=beta\.test .*status=200", timeout=20)
        assert len(web.posts) == 2
        assert json.loads(gzip.decompress(web.posts[1][2]))["policies"][0][
            "summary"]["total-failure-session-count"] == 1
        assert rogue.posts == []
    finally:
        web.stop()
        rogue.stop()


def test_with_reports_off_a_finished_day_is_dropped_and_nothing_sent(delivery):
    srv = delivery.server(tlsrpt__enabled="off")
    sink = delivery.mx("127.0.0.4")
    delivery.mx("127.0.0.3")
    delivery.dns.set(
        "beta.test. MX 10 mx1.beta.test.", "mx1.beta.test. A 127.0.0.3",
        "reports.test. MX 10 mx1.reports.test.", "mx1.reports.test. A 127.0.0.4",
        '_smtp._tls.beta.test. TXT "v=TLSRPTv1; rua=mailto:reports@reports.test"')
    qid = delivery.submit(srv, "b@beta.test", make_message(to="b@beta.test"))
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    wait_until(lambda: srv.cli("tlsrpt", "show")["domains"], 10, "the counts on disk")
    srv.cli("tlsrpt", "send", "--today")
    srv.wait_log(r"tlsrpt\.discard period=\d{4}-\d\d-\d\d domains=1 ")
    wait_until(lambda: srv.cli("tlsrpt", "show")["domains"] == [], 10,
               "the dropped counts to leave the disk")
    time.sleep(2.5)
    assert sink.received == []
    assert "tlsrpt.sent" not in srv.log() and "_smtp._tls" not in \
        delivery.dns.logfile.read_text()
