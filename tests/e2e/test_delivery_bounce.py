"""
Permanent failures: the sender gets a delivery status notification
(RFC 3464 multipart/report) delivered through postern itself to the MX of
the sender's domain; a DSN never causes another DSN.
"""
from fixtures_delivery import attempts, bounces, parse_message, spool_files, wait_until
from fixtures_smtp import make_message

ZONE = (
    "remote.test. MX 10 mx1.remote.test.",
    "mx1.remote.test. A 127.0.0.2",
    # the sender's own domain: where the DSN goes
    "example.org. MX 10 mx.example.org.",
    "mx.example.org. A 127.0.0.2",
)
REFUSED = "550 5.1.1 <carol@remote.test>: Recipient address rejected: User unknown"


def dsn_parts(raw):
    """(the DSN, its text part, the delivery-status blocks, the returned
    part) of a multipart/report; each block is an email.message.Message."""
    m = parse_message(raw)
    assert m.get_content_type() == "multipart/report", m.get_content_type()
    assert m.get_param("report-type") == "delivery-status"
    parts = m.get_payload()
    assert [p.get_content_type() for p in parts] == [
        "text/plain", "message/delivery-status", "text/rfc822-headers"], parts
    blocks = parts[1].get_payload()
    return m, parts[0].get_payload(), blocks, parts[2].get_payload()


def test_a_refused_recipient_among_two_bounces_to_the_sender_and_the_other_is_delivered(
        delivery):
    mx = delivery.mx("127.0.0.2", refuse={"carol@remote.test": REFUSED})
    srv = delivery.server()
    delivery.dns.set(*ZONE)
    msg = make_message(to="bob@remote.test", subject="two recipients")
    qid = delivery.submit(srv, ["bob@remote.test", "carol@remote.test"], msg)

    mx.wait(2, timeout=30)
    srv.wait_log(r"queue\.done queue=%s" % qid)
    original, dsn = mx.received[0], mx.received[1]
    # the original went to bob only
    assert original.mail_from == "alice@example.org"
    assert original.rcpt_tos == ["bob@remote.test"]
    # the DSN: from the null sender, to the sender, through the sender's MX
    assert dsn.mail_from == ""
    assert dsn.rcpt_tos == ["alice@example.org"]

    m, text, blocks, returned = dsn_parts(dsn.content)
    assert m["To"] == "<alice@example.org>"
    assert m["From"].endswith("<MAILER-DAEMON@mail.example.test>")
    assert m["Auto-Submitted"] == "auto-replied"
    assert "carol@remote.test" in text and REFUSED in text, text
    assert "bob@remote.test" not in text, text
    per_message, per_rcpt = blocks[0], blocks[1:]
    assert per_message["Reporting-MTA"] == "dns; mail.example.test"
    assert len(per_rcpt) == 1, [dict(b) for b in blocks]
    r = per_rcpt[0]
    assert r["Final-Recipient"] == "rfc822; carol@remote.test"
    assert r["Action"] == "failed"
    assert r["Status"] == "5.1.1"
    assert r["Remote-MTA"] == "dns; mx1.remote.test"
    assert r["Diagnostic-Code"] == "smtp; " + REFUSED
    assert "bob@remote.test" not in str(parse_message(dsn.content).get_payload()[1])
    # the original's header section comes back
    assert "Subject: two recipients" in returned

    log = srv.log()
    a = {x["to"]: x for x in attempts(log, qid)}
    assert a["bob@remote.test"]["result"] == "sent"
    assert a["carol@remote.test"]["result"] == "bounced"
    assert REFUSED in a["carol@remote.test"]["reply"]
    b = bounces(log, qid)
    assert len(b) == 1 and b[0]["to"] == "alice@example.org", b
    srv.wait_log(r"queue\.done queue=%s" % b[0]["dsn"])
    assert [x["result"] for x in attempts(srv.log(), b[0]["dsn"])] == ["sent"]
    # one DSN in all, and nothing left in the spool
    assert len(mx.received) == 2
    assert bounces(srv.log()) == b
    assert spool_files(srv) == []


def test_a_dsn_that_cannot_be_delivered_does_not_cause_another_dsn(delivery):
    mx = delivery.mx("127.0.0.2", refuse={
        "carol@remote.test": REFUSED,
        "alice@example.org": "550 5.2.1 <alice@example.org>: mailbox disabled",
    })
    srv = delivery.server()
    delivery.dns.set(*ZONE)
    qid = delivery.submit(srv, "carol@remote.test", make_message(to="carol@remote.test"))

    srv.wait_log(r"queue\.bounce queue=%s" % qid, timeout=20)
    dsn_id = bounces(srv.log(), qid)[0]["dsn"]
    srv.wait_log(r"queue\.done queue=%s" % dsn_id, timeout=20)
    a = attempts(srv.log(), dsn_id)
    assert [(x["to"], x["result"]) for x in a] == [("alice@example.org", "bounced")], a
    assert "mailbox disabled" in a[0]["reply"]
    # the DSN was tried from the null sender ...
    assert ("MAIL", "") in mx.events
    # ... and its failure is the end: no DSN about the DSN, nothing queued
    wait_until(lambda: spool_files(srv) == [], 10, "an empty spool")
    srv.wait_log(r"queue\.done queue=%s" % qid)
    assert len(bounces(srv.log())) == 1, bounces(srv.log())
    assert [e for e in mx.events if e[0] == "RCPT" and e[1] == "alice@example.org"] == [
        ("RCPT", "alice@example.org", "550 5.2.1 <alice@example.org>: mailbox disabled")]
    assert mx.received == []
