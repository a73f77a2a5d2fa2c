"""
Mailbox delivery: with [mailbox] lmtp set, mail for the users of hosted
domains goes through the queue to Dovecot over LMTP (a UNIX socket),
addressed to the user's own address whatever name it was sent to; mail
for other domains still goes to their MX. Dovecot down: the mail waits
in the queue and arrives once, when it is back. Per-recipient LMTP
replies count: 5xx (over quota) is a DSN to the sender, 4xx is retried.
"""
import os
import re

from fixtures_delivery import attempts, bounces, parse_message, spool_files, wait_until
from fixtures_smtp import make_message

ZONE = (
    "remote.test. MX 10 mx1.remote.test.",
    "mx1.remote.test. A 127.0.0.2",
)


def mailbox_server(delivery, dovecot, lmtp=None, **conf):
    """A postern (example.org, alias example.net, alice) delivering its
    hosted mailboxes to dovecot; bob@example.org with the alias robert."""
    srv = delivery.server(dkim="ed25519", mailbox__lmtp=lmtp or dovecot.lmtp, **conf)
    srv.cli("user", "add", "bob@example.org")
    srv.cli("user", "alias", "add", "bob@example.org", "robert")
    delivery.dns.set(*ZONE)
    return srv


def results(srv, qid):
    return [(a["to"], a["result"]) for a in attempts(srv.log(), qid)]


def test_a_user_writes_to_a_hosted_user_by_name_and_alias_and_to_the_world(delivery, dovecot):
    for u in ("alice@example.org", "bob@example.org"):
        dovecot.add_user(u)
    dovecot.start()
    mx = delivery.mx("127.0.0.2")
    srv = mailbox_server(delivery, dovecot)
    srv.wait_log(r"queue\.start .*mailboxes=lmtp:unix:%s" % re.escape(str(dovecot.socket)))

    qid = delivery.submit(srv, ["bob@example.org", "robert@example.net", "carol@remote.test"],
                          make_message(to="bob@example.org", subject="to the mailbox"))
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)

    # both names of bob reach his INBOX: one copy each, addressed to him
    got = dovecot.wait_inbox("bob@example.org", 2)
    assert len(got) == 2
    for m in got:
        assert m["Subject"] == "to the mailbox"
        # written once each (Dovecot adds them from MAIL FROM and RCPT TO)
        assert m.get_all("Return-Path") == ["<alice@example.org>"], m.get_all("Return-Path")
        assert m.get_all("Delivered-To") == ["bob@example.org"], m.get_all("Delivered-To")
        # a mailbox copy does not leave the service: not signed
        assert m["DKIM-Signature"] is None
        assert "Received" in m
    # the alias it was sent to is kept; the own address needs no note
    assert sorted(m.get("X-Original-To") or "-" for m in got) == ["-", "robert@example.net"]
    # nothing for bob went to an MX; carol's copy did, signed
    (out,) = mx.wait(1)
    assert out.rcpt_tos == ["carol@remote.test"]
    assert parse_message(out.content)["DKIM-Signature"] is not None
    assert sorted(results(srv, qid)) == [("bob@example.org", "sent"),
                                         ("carol@remote.test", "sent"),
                                         ("robert@example.net", "sent")]
    hosts = {a["to"]: a["host"] for a in attempts(srv.log(), qid)}
    assert hosts["bob@example.org"] == "unix:%s" % dovecot.socket
    assert dovecot.inbox("alice@example.org") == []


def test_dovecot_down_the_mail_waits_in_the_queue_and_arrives_once(delivery, dovecot):
    dovecot.add_user("bob@example.org")
    srv = mailbox_server(delivery, dovecot, delivery__retry_first="30",
                         delivery__retry_max_interval="60")
    qid = delivery.submit(srv, "robert@example.net",
                          make_message(to="robert@example.net", subject="while down"))
    srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, timeout=20)
    assert qid in spool_files(srv)
    listed = srv.cli("queue", "list")["queue"]
    assert [(m["id"], m["rcpts"]) for m in listed] == [(qid, ["robert@example.net"])]
    assert listed[0]["dests"] == [dovecot.lmtp.replace("unix:", "lmtp:unix:")]
    text = srv.cli("queue", "list", json=False)
    assert re.search(r"(?m)^%s .* robert@example.net \(mailbox bob@example.org via lmtp:unix:"
                     % qid, text), text
    shown = srv.cli("queue", "show", qid)
    assert shown["dests"] == listed[0]["dests"]

    dovecot.start()
    srv.cli("queue", "flush", json=False)
    (m,) = dovecot.wait_inbox("bob@example.org", 1)
    assert m["Subject"] == "while down"
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    assert [r for _, r in results(srv, qid)] == ["deferred", "sent"]
    wait_until(lambda: qid not in spool_files(srv), 10, "the message to leave the spool")
    # exactly once, even after another flush
    srv.cli("queue", "flush", json=False)
    assert len(dovecot.inbox("bob@example.org")) == 1


def test_over_quota_the_sender_gets_a_dsn_and_nothing_is_retried(delivery, dovecot):
    dovecot.add_user("alice@example.org")
    dovecot.add_user("bob@example.org", quota="1K")
    dovecot.start()
    srv = mailbox_server(delivery, dovecot)
    qid = delivery.submit(srv, "robert@example.net",
                          make_message(to="robert@example.net", subject="too big",
                                       body=("x" * 70 + "\r\n") * 60))
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    (a,) = attempts(srv.log(), qid)
    assert a["result"] == "bounced" and "552 5.2.2" in a["reply"], a
    # the DSN reaches the sender's own mailbox, over LMTP too
    (dsn,) = dovecot.wait_inbox("alice@example.org", 1)
    assert dsn.get_content_type() == "multipart/report"
    text = dsn.get_payload()[0].get_payload()
    assert "robert@example.net" in text and "5.2.2" in text, text
    # the reply named the alias it was sent to, not bob's own address
    assert "bob@example.org" not in dsn.as_string()
    assert bounces(srv.log(), qid)
    assert dovecot.inbox("bob@example.org") == []
    assert qid not in spool_files(srv)


def test_a_user_removed_after_queueing_gets_a_dsn_5_1_1(delivery, dovecot):
    dovecot.add_user("alice@example.org")
    srv = mailbox_server(delivery, dovecot, delivery__retry_first="30")
    # Dovecot not started yet: the mail waits, then bob is removed
    qid = delivery.submit(srv, "bob@example.org", make_message(to="bob@example.org"))
    srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, timeout=20)
    srv.cli("user", "remove", "bob@example.org")
    dovecot.start()
    srv.cli("queue", "flush", json=False)
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    assert [r for _, r in results(srv, qid)] == ["deferred", "bounced"]
    (dsn,) = dovecot.wait_inbox("alice@example.org", 1)
    assert "5.1.1" in dsn.get_payload()[0].get_payload()


def test_a_temporary_lmtp_reply_is_retried(delivery, dovecot):
    dovecot.add_user("bob@example.org")
    # a mailbox Dovecot cannot write: 451 4.2.0 after the data
    box = dovecot.maildir("bob@example.org")
    box.mkdir(parents=True, mode=0o555)
    dovecot.start()
    srv = mailbox_server(delivery, dovecot)
    qid = delivery.submit(srv, "bob@example.org", make_message(to="bob@example.org",
                                                               subject="retried"))
    srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, timeout=20)
    (a,) = attempts(srv.log(), qid)
    assert a["reply"].startswith("451 4."), a
    assert qid in spool_files(srv)
    os.chown(box, dovecot.uid, dovecot.gid)
    os.chmod(box, 0o755)
    (m,) = dovecot.wait_inbox("bob@example.org", 1, timeout=20)
    assert m["Subject"] == "retried"
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    assert [r for _, r in results(srv, qid)][-1] == "sent"


def test_lmtp_over_tcp_and_in_smarthost_mode(delivery, dovecot):
    """HOST:PORT works like a socket; with a smarthost, hosted mail still
    goes to the mailboxes (and the rest to the smarthost)."""
    dovecot.add_user("bob@example.org")
    dovecot.start()
    mx = delivery.mx("127.0.0.2")
    srv = mailbox_server(delivery, dovecot, lmtp=dovecot.lmtp_tcp, delivery__mode="smarthost",
                         delivery__smarthost="127.0.0.2:%d" % delivery.port,
                         delivery__smarthost_tls="none")
    qid = delivery.submit(srv, ["robert@example.net", "carol@remote.test"],
                          make_message(to="robert@example.net", subject="over tcp"))
    (m,) = dovecot.wait_inbox("bob@example.org", 1)
    assert m["Subject"] == "over tcp" and m["X-Original-To"] == "robert@example.net"
    (out,) = mx.wait(1)
    assert out.rcpt_tos == ["carol@remote.test"]
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    hosts = {a["to"]: a["host"] for a in attempts(srv.log(), qid)}
    assert hosts["robert@example.net"] == "127.0.0.1", hosts


def test_init_writes_the_mailbox_section_off(postern):
    text = postern.conf.read_text()
    assert re.search(r"(?m)^\[mailbox\]\n# .*LMTP.*\nlmtp = $", text), text


def test_capture_mode_captures_what_would_leave_and_fills_the_mailboxes(delivery, dovecot):
    # the demo's setting: nothing leaves the machine, its users' INBOX works
    dovecot.add_user("bob@example.org")
    dovecot.start()
    srv = mailbox_server(delivery, dovecot, delivery__mode="capture")
    qid = delivery.submit(srv, ["robert@example.net", "carol@remote.test"],
                          make_message(to="robert@example.net", subject="captured and kept"))
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    (m,) = dovecot.wait_inbox("bob@example.org", 1)
    assert m["Subject"] == "captured and kept"
    assert m["DKIM-Signature"] is None
    assert m["X-Original-To"] == "robert@example.net"
    # the capture folder holds the copy for the world only, signed
    cap = srv.data / "capture" / ("%s.eml" % qid)
    got = parse_message(cap.read_bytes())
    assert got.get_all("X-Postern-Envelope-To") == ["<carol@remote.test>"]
    assert got["DKIM-Signature"] is not None
    hosts = {a["to"]: (a["host"], a["result"]) for a in attempts(srv.log(), qid)}
    assert hosts == {"robert@example.net": ("unix:%s" % dovecot.socket, "sent"),
                     "carol@remote.test": ("capture", "sent")}, hosts


def test_capture_mode_only_mailboxes_writes_no_capture_file(delivery, dovecot):
    dovecot.add_user("bob@example.org")
    dovecot.start()
    srv = mailbox_server(delivery, dovecot, delivery__mode="capture")
    qid = delivery.submit(srv, "bob@example.org",
                          make_message(to="bob@example.org", subject="to self"))
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=20)
    assert dovecot.wait_inbox("bob@example.org", 1)[0]["Subject"] == "to self"
    assert not (srv.data / "capture" / ("%s.eml" % qid)).exists()
