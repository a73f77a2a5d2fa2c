"""
Where mail goes: MX preference, what DNS says about a domain (null MX,
NXDOMAIN, SERVFAIL), one destination's trouble not delaying another, and
the smarthost and capture modes.
"""
import os
import re
import time

import dkim

from fixtures_delivery import (attempts, bounces, parse_message, tls_cert_for,
                               spool_files, wait_until)
from fixtures_smtp import make_message

SENDER_MX = ("example.org. MX 10 mx.example.org.", "mx.example.org. A 127.0.0.2")


def dkim_ok(raw, dns):
    try:
        return dkim.verify(raw, dnsfunc=dns.dkim_dnsfunc())
    except dkim.DKIMException:
        return False


def test_the_mx_hosts_are_tried_by_preference_and_a_refusing_first_one_costs_no_retry(
        delivery):
    mx2 = delivery.mx("127.0.0.2")
    mx3 = delivery.mx("127.0.0.4")
    srv = delivery.server()
    # listed against their order of preference; nothing listens on mx1
    delivery.dns.set(
        "remote.test. MX 30 mx3.remote.test.",
        "remote.test. MX 20 mx2.remote.test.",
        "remote.test. MX 10 mx1.remote.test.",
        "mx1.remote.test. A 127.0.0.3",
        "mx2.remote.test. A 127.0.0.2",
        "mx3.remote.test. A 127.0.0.4",
    )
    qid = delivery.submit(srv, "bob@remote.test", make_message(subject="by preference"))
    got = mx2.wait(1, timeout=20)[0]
    srv.wait_log(r"queue\.done queue=%s" % qid)
    assert got.rcpt_tos == ["bob@remote.test"]
    assert mx3.received == [] and mx3.events == []
    a = attempts(srv.log(), qid)
    assert [(x["host"], x["result"]) for x in a] == [("mx2.remote.test", "sent")], a
    assert spool_files(srv) == []


def test_a_null_mx_and_a_nonexistent_domain_bounce_at_the_first_attempt(delivery):
    mx = delivery.mx("127.0.0.2")
    srv = delivery.server()
    delivery.dns.set("nullmx.test. MX 0 .", *SENDER_MX)  # nosuch.test: NXDOMAIN
    qid = delivery.submit(srv, ["bob@nullmx.test", "carol@nosuch.test"],
                          make_message(to="bob@nullmx.test", subject="nowhere"))
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    a = {x["to"]: x for x in attempts(srv.log(), qid)}
    assert sorted(a) == ["bob@nullmx.test", "carol@nosuch.test"]
    # one attempt each, bounced: never deferred
    assert len(attempts(srv.log(), qid)) == 2
    assert a["bob@nullmx.test"]["result"] == "bounced"
    assert "null MX" in a["bob@nullmx.test"]["reply"]
    assert a["carol@nosuch.test"]["result"] == "bounced"
    assert "no such domain" in a["carol@nosuch.test"]["reply"]

    dsn = mx.wait(1, timeout=20)[0]
    assert dsn.mail_from == "" and dsn.rcpt_tos == ["alice@example.org"]
    m = parse_message(dsn.content)
    report = m.get_payload()[1].get_payload()
    finals = sorted(b["Final-Recipient"] for b in report[1:])
    assert finals == ["rfc822; bob@nullmx.test", "rfc822; carol@nosuch.test"]
    assert all(b["Action"] == "failed" for b in report[1:])
    assert len(bounces(srv.log(), qid)) == 1
    srv.wait_log(r"queue\.done queue=%s" % bounces(srv.log(), qid)[0]["dsn"])
    assert spool_files(srv) == []


def test_a_dns_server_failure_defers_and_the_message_goes_once_dns_answers(delivery):
    mx = delivery.mx("127.0.0.2")
    srv = delivery.server()
    delivery.dns.set("remote.test. SERVFAIL", *SENDER_MX)
    qid = delivery.submit(srv, "bob@remote.test", make_message(subject="servfail"))
    srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, timeout=20)
    a = attempts(srv.log(), qid)
    assert a[0]["result"] == "deferred" and "remote.test" in a[0]["reply"], a
    # deferred, not bounced: still queued, no DSN
    assert qid in srv.queue_ids()
    assert bounces(srv.log()) == []
    assert mx.received == []

    delivery.dns.set("remote.test. MX 10 mx1.remote.test.", "mx1.remote.test. A 127.0.0.2",
                     *SENDER_MX)
    got = mx.wait(1, timeout=20)[0]
    assert got.rcpt_tos == ["bob@remote.test"]
    srv.wait_log(r"queue\.done queue=%s" % qid)
    results = [x["result"] for x in attempts(srv.log(), qid)]
    assert results[-1] == "sent" and set(results[:-1]) == {"deferred"}, results
    assert bounces(srv.log()) == []
    assert spool_files(srv) == []


def test_a_destination_that_never_answers_does_not_delay_another(delivery):
    silent = delivery.silent("127.0.0.4", hold=60)
    mx = delivery.mx("127.0.0.2")
    srv = delivery.server()
    delivery.dns.set(
        "slow.test. MX 10 mx.slow.test.", "mx.slow.test. A 127.0.0.4",
        "remote.test. MX 10 mx1.remote.test.", "mx1.remote.test. A 127.0.0.2",
    )
    stuck = delivery.submit(srv, "dave@slow.test", make_message(to="dave@slow.test"))
    # postern is connected to the silent MX, waiting for a greeting
    wait_until(lambda: silent.accepted >= 1, 20, "a connection to the silent MX")

    t0 = time.monotonic()
    fine = delivery.submit(srv, "bob@remote.test", make_message(subject="healthy"))
    both = delivery.submit(srv, ["erin@slow.test", "bob@remote.test"],
                           make_message(subject="half healthy"))
    mx.wait(2, timeout=15)
    took = max(d.at for d in mx.received) - t0
    assert took < 5, "the healthy destination took %.1f s" % took
    assert sorted(parse_message(d.content)["Subject"] for d in mx.received) == [
        "half healthy", "healthy"]
    assert [d.rcpt_tos for d in mx.received] == [["bob@remote.test"]] * 2
    srv.wait_log(r"queue\.done queue=%s" % fine)
    # the stuck message is still being tried, not given up on
    assert attempts(srv.log(), stuck) == []
    assert {stuck, both} <= srv.queue_ids()


def test_smarthost_mode_sends_every_recipient_to_the_smarthost_without_dns(delivery):
    smart = delivery.mx("127.0.0.2")
    # a plain test smarthost: its TLS unchecked by choice (the checks
    # are in test_delivery_smarthost_tls.py)
    srv = delivery.server(delivery__mode="smarthost",
                          delivery__smarthost="127.0.0.2:%d" % delivery.port,
                          delivery__smarthost_tls="none")
    delivery.dns.set(*delivery.dkim_records(srv))  # no MX, no A: all NXDOMAIN
    rcpts = ["bob@remote.test", "carol@other.test", "dave@nosuch.test"]
    qid = delivery.submit(srv, rcpts, make_message(subject="via smarthost"))
    got = smart.wait(1, timeout=20)[0]
    srv.wait_log(r"queue\.done queue=%s" % qid)
    assert got.mail_from == "alice@example.org"
    assert sorted(got.rcpt_tos) == rcpts  # one transaction
    assert dkim_ok(got.content, delivery.dns)
    a = attempts(srv.log(), qid)
    assert sorted((x["to"], x["result"]) for x in a) == [(r, "sent") for r in rcpts], a
    assert all(x["host"] == "127.0.0.2" for x in a), a
    # nobody asked DNS where these domains' mail goes
    assert not re.search(r" (MX|A|AAAA) ->", delivery.dns.logfile.read_text())
    assert spool_files(srv) == []


def test_smarthost_mode_logs_in_over_tls_with_the_password_file(delivery):
    srv = delivery.server(start=False)
    pwfile = srv.dir / "smarthost.pw"
    pwfile.write_text("up-secret-42\n")
    os.chmod(pwfile, 0o600)
    ctx, crt = tls_cert_for(srv.dir / "smarthost-cert", "127.0.0.2")
    smart = delivery.mx("127.0.0.2", tls_context=ctx,
                        auth=("relay@isp.test", "up-secret-42"))
    srv.conf_set("delivery", "smarthost_ca", str(crt))
    srv.conf_set("delivery", "mode", "smarthost")
    srv.conf_set("delivery", "smarthost", "127.0.0.2:%d" % delivery.port)
    srv.conf_set("delivery", "smarthost_user", "relay@isp.test")
    srv.conf_set("delivery", "smarthost_password_file", str(pwfile))
    srv.start()
    delivery.dns.set(*delivery.dkim_records(srv))
    qid = delivery.submit(srv, ["bob@remote.test"], make_message(subject="via auth"))
    smart.wait(1, timeout=20)
    srv.wait_log(r"queue\.done queue=%s" % qid)
    assert smart.logins and all(ok for _, _, ok in smart.logins), smart.logins
    assert smart.logins[0][1] == "relay@isp.test"
    # the secret is in no log line
    assert "up-secret-42" not in srv.log()


def test_capture_mode_writes_the_signed_message_with_its_envelope_to_a_folder(delivery):
    srv = delivery.server(delivery__mode="capture")
    delivery.dns.set(*delivery.dkim_records(srv))
    qid = delivery.submit(srv, ["bob@remote.test", "carol@other.test"],
                          make_message(subject="captured"))
    path = srv.data / "capture" / ("%s.eml" % qid)
    wait_until(path.exists, 20, "%s" % path)
    srv.wait_log(r"queue\.done queue=%s" % qid)
    raw = path.read_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert re.findall(r"(?m)^X-Postern-Envelope-From: (.*?)\r?$", head) == ["<alice@example.org>"]
    assert sorted(re.findall(r"(?m)^X-Postern-Envelope-To: (.*?)\r?$", head)) == [
        "<bob@remote.test>", "<carol@other.test>"]
    m = parse_message(raw)
    assert m["Subject"] == "captured"
    assert "d=example.org" in re.sub(r"\s+", "", m["DKIM-Signature"])
    assert dkim_ok(raw, delivery.dns)
    a = attempts(srv.log(), qid)
    assert sorted((x["to"], x["host"], x["result"]) for x in a) == [
        ("bob@remote.test", "capture", "sent"), ("carol@other.test", "capture", "sent")], a
    assert spool_files(srv) == []
    assert sorted(p.name for p in (srv.data / "capture").iterdir()) == ["%s.eml" % qid]
