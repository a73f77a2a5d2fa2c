"""The MX asks rspamd (issue 14, "Filtering with rspamd"): with `[filter]
rspamd` set, mail received on the smtp listener for a mailbox here is
checked by a real rspamd (Debian's, started by the tests on loopback with
a minimal config) before the end of DATA is answered. rspamd's action
decides: reject is 550 5.7.1 at SMTP time (nothing bounces later, nothing
reaches the mailbox), add header and rewrite subject put the message in
the user's Junk folder, no action delivers to the INBOX. rspamd not
answering is 451 by default, or delivery with a header saying the check
was skipped (`rspamd_fail = open`). A hung rspamd holds only the session
that waits for it, never its loop, and only for `rspamd_timeout`.
"""
import imaplib
import re
import threading
import time

import pytest

from fixtures_delivery import DnsServer
from fixtures_dovecot import Dovecot
from fixtures_rspamd import (GTUBE, GTUBE_ADD, GTUBE_REWRITE, FakeRspamd, SlowRspamd,  # noqa: F401
                             http_reply, rspamd)
from fixtures_smtp import (Server, SmtpClient, _check_binary, dot_stuff, free_port,
                           provision_documentation_example, queue_id)

USER = "alice@example.org"


@pytest.fixture(scope="module")
def world(tmp_path_factory, rspamd):  # noqa: F811
    """An MX (example.org, alice) delivering to a Dovecot of its own,
    asking the module's rspamd; DNS on loopback (nothing published)."""
    _check_binary()
    root = tmp_path_factory.mktemp("rspamd")
    dns = DnsServer(root / "dns").start()
    dv = Dovecot()
    dv.add_user(USER)
    dv.start()
    srv = Server(root / "postern", mailbox__lmtp=dv.lmtp,
                 delivery__dns_servers=dns.address, filter__rspamd=rspamd.address)
    provision_documentation_example(srv)
    srv.start()
    srv.dns, srv.dv = dns, dv
    yield srv
    srv.stop()
    dv.close()
    dns.stop()


def message(subject, body="Hello, world.", frm="friend@sender.test"):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@sender.test>\r\n"
            "\r\n%s\r\n" % (frm, USER, subject, subject.replace(" ", "-"), body)).encode()


def send(srv, msg, mail_from="friend@sender.test"):
    c = srv.client("smtp")
    c.ehlo("mail.sender.test")
    return c.mail(mail_from, USER, msg)


def folder(dv, name, subject, timeout=15):
    """The header of the message with subject in the folder (bytes), once
    it is there; None if it does not come within timeout."""
    deadline = time.monotonic() + timeout
    while True:
        with imaplib.IMAP4("127.0.0.1", dv.imap_port, timeout=10) as im:
            im.login(USER, dv.users[USER][0])
            typ, data = im.select(name, readonly=True)
            if typ == "OK":
                typ, data = im.search(None, "ALL")
                for num in data[0].split():
                    typ, msg = im.fetch(num, "(BODY.PEEK[HEADER])")
                    head = msg[0][1]
                    if subject.encode() in head:
                        return head
        if time.monotonic() > deadline:
            return None
        time.sleep(0.2)


def fields(head, name):
    """Every value of a header field, unfolded."""
    out = []
    for f in head.replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ").split(b"\r\n"):
        k, _, v = f.partition(b":")
        if k.strip().lower() == name.lower().encode():
            out.append(v.strip().decode())
    return out


def test_the_gtube_message_is_refused_at_the_end_of_data(world):
    before = world.queue_ids()
    r = send(world, message("gtube", GTUBE))
    assert r.code == 550 and r.enh == "5.7.1", r
    assert r.text == "5.7.1 Rejected as spam (Gtube pattern)", r
    assert world.queue_ids() == before
    world.wait_log(r"inbound\.rspamd queue=\S+ session=\S+ ip=127\.0\.0\.1 "
                   r'action="reject" score=15\.00 required=15\.00 result=reject')
    # the session goes on: the next message is taken
    r = send(world, message("after gtube"))
    assert r.code == 250, r
    assert folder(world.dv, "INBOX", "after gtube") is not None
    assert folder(world.dv, "INBOX", "Subject: gtube", timeout=0) is None
    assert folder(world.dv, "Junk", "Subject: gtube", timeout=0) is None


def test_a_clean_message_reaches_the_inbox(world):
    r = send(world, message("clean and simple"))
    assert r.code == 250, r
    head = folder(world.dv, "INBOX", "clean and simple")
    assert head is not None, world.dv.log()[-2000:]
    assert fields(head, "X-Spam-Status") == ["No, score=0.00 required=15.00"], head
    assert fields(head, "X-Spam") == []
    # the MX's own checks are still there, below rspamd's field
    assert b"Authentication-Results: mail.example.test;" in head
    assert head.index(b"X-Spam-Status:") < head.index(b"Authentication-Results:")


def test_add_header_puts_the_message_in_the_junk_folder(world):
    r = send(world, message("add a header", GTUBE_ADD))
    assert r.code == 250, r
    head = folder(world.dv, "Junk", "add a header")
    assert head is not None, world.dv.log()[-2000:]
    assert fields(head, "X-Spam") == ["Yes"], head
    assert fields(head, "X-Spam-Status") == [
        'Yes, score=6.00 required=15.00 action="add header"'], head
    assert fields(head, "Subject") == ["add a header"]
    assert folder(world.dv, "INBOX", "add a header", timeout=0) is None
    world.wait_log(r"inbound\.rspamd queue=%s .*action=\"add header\" score=6\.00 "
                   r"required=15\.00 result=junk" % queue_id(r))


def test_rewrite_subject_marks_the_subject_and_goes_to_junk(world):
    r = send(world, message("special offer", GTUBE_REWRITE))
    assert r.code == 250, r
    head = folder(world.dv, "Junk", "special offer")
    assert head is not None, world.dv.log()[-2000:]
    assert fields(head, "Subject") == ["*** SPAM *** special offer"], head
    assert fields(head, "X-Spam") == ["Yes"], head
    assert folder(world.dv, "INBOX", "special offer", timeout=0) is None


def unreachable_server(tmp_path, dv, **conf):
    """An MX whose rspamd is not running (nothing listens on its port)."""
    _check_binary()
    srv = Server(tmp_path / "postern", mailbox__lmtp=dv.lmtp,
                 delivery__dns_servers="127.0.0.1:%d" % free_port(),
                 filter__rspamd="127.0.0.1:%d" % free_port(), **conf)
    provision_documentation_example(srv)
    return srv.start()


def test_rspamd_down_defers_the_message_by_default(world, tmp_path):
    srv = unreachable_server(tmp_path, world.dv)
    try:
        r = send(srv, message("while rspamd is down"))
        assert r.code == 451 and r.enh == "4.7.1", r
        assert "spam filter" in r.text.lower()
        assert srv.queue_ids() == set()
        srv.wait_log(r"inbound\.rspamd queue=\S+ .*action=- error=\"Connection refused\" "
                     r"result=tempfail")
    finally:
        srv.stop()


def test_rspamd_down_with_fail_open_delivers_with_a_header_saying_so(world, tmp_path):
    srv = unreachable_server(tmp_path, world.dv, filter__rspamd_fail="open")
    try:
        r = send(srv, message("unfiltered but delivered"))
        assert r.code == 250, r
        head = folder(world.dv, "INBOX", "unfiltered but delivered")
        assert head is not None, world.dv.log()[-2000:]
        assert fields(head, "X-Spam-Status") == ["skipped (rspamd unreachable)"], head
        srv.wait_log(r"inbound\.rspamd queue=%s .*result=skipped" % queue_id(r))
    finally:
        srv.stop()


def test_a_hung_rspamd_holds_no_loop_and_only_for_its_timeout(tmp_path):
    """Sessions wait for an rspamd that never answers; meanwhile a new
    session is greeted and served at once (with more waiting sessions than
    loops, some wait on its loop), and each waiting one hears 451 after
    rspamd_timeout."""
    _check_binary()
    slow = SlowRspamd()
    srv = Server(tmp_path / "postern", mailbox__lmtp="unix:/nonexistent/postern-test-lmtp",
                 delivery__dns_servers="127.0.0.1:%d" % free_port(),
                 filter__rspamd=slow.address, filter__rspamd_timeout="8s")
    provision_documentation_example(srv)
    srv.start()
    try:
        loops = int(re.search(r"smtp\.start loops=(\d+)", srv.log()).group(1))
        n = 8 * loops
        waiting, replies = [], {}

        def wait_one(i, c):
            t0 = time.monotonic()
            r = c.reply()
            replies[i] = (r, time.monotonic() - t0)

        threads = []
        for i in range(n):
            c = SmtpClient(srv.ports["smtp"], timeout=30)
            c.ehlo("mail.sender.test")
            assert c.cmd("MAIL FROM:<friend@sender.test>").code == 250
            assert c.cmd("RCPT TO:<%s>" % USER).code == 250
            assert c.cmd("DATA").code == 354
            c.send(dot_stuff(message("waits %d" % i)))
            waiting.append(c)
            t = threading.Thread(target=wait_one, args=(i, c))
            t.start()
            threads.append(t)
        deadline = time.monotonic() + 3
        while slow.requests < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert slow.requests == n, "rspamd was asked %d times of %d" % (slow.requests, n)
        assert not replies, replies
        # every loop holds a waiting session: a new one is served at once
        for _ in range(3):
            t0 = time.monotonic()
            c = SmtpClient(srv.ports["smtp"], timeout=5)
            assert c.ehlo("other.sender.test").code == 250
            assert c.cmd("MAIL FROM:<other@sender.test>").code == 250
            assert c.cmd("RCPT TO:<%s>" % USER).code == 250
            assert c.cmd("RSET").code == 250
            assert time.monotonic() - t0 < 1.5, time.monotonic() - t0
            c.cmd("QUIT")
        assert not replies, replies
        for t in threads:
            t.join(15)
        assert len(replies) == n
        for r, took in replies.values():
            assert r.code == 451 and r.enh == "4.7.1", r
            assert took < 8 + 3, took
        srv.wait_log(r"inbound\.rspamd .*error=\"timeout\" result=tempfail",
                     count=n)
        assert srv.queue_ids() == set()
    finally:
        srv.stop()
        slow.stop()


def fake_server(tmp_path, fake, **conf):
    """An MX (no Dovecot: accepted mail waits in the queue) asking fake."""
    _check_binary()
    srv = Server(tmp_path / "postern", mailbox__lmtp="unix:/nonexistent/postern-test-lmtp",
                 delivery__dns_servers="127.0.0.1:%d" % free_port(),
                 filter__rspamd=fake.address, **conf)
    provision_documentation_example(srv)
    return srv.start()


@pytest.mark.parametrize("action,text", [
    ("soft reject", "Deferred by the spam filter, try again later"),
    ("greylist", "Greylisted, try again later"),
])
def test_soft_reject_and_greylist_defer_the_message(tmp_path, action, text):
    """With rspamd's text in the reply, its control bytes blanked; and
    what rspamd was asked, header by header."""
    fake = FakeRspamd(http_reply(
        b'{"is_skipped":false,"score":9.5,"required_score":15.0,"action":"%s",'
        b'"symbols":{},"messages":{"smtp_message":"Try again \\r\\nlater"}}'
        % action.encode()))
    srv = fake_server(tmp_path, fake)
    try:
        r = send(srv, message("soft"))
        assert r.code == 451 and r.enh == "4.7.1", r
        assert r.text == "4.7.1 %s (Try again   later)" % text, r
        assert srv.queue_ids() == set()
        (head, body), = fake.requests
        lines = head.split(b"\r\n")
        assert lines[0] == b"POST /checkv2 HTTP/1.1"
        assert b"IP: 127.0.0.1" in lines
        assert b"Helo: mail.sender.test" in lines
        assert b"From: <friend@sender.test>" in lines
        assert b"Rcpt: <alice@example.org>" in lines
        assert b"MTA-Name: mail.example.test" in lines
        qids = [h for h in lines if h.startswith(b"Queue-Id: ")]
        assert len(qids) == 1
        srv.wait_log(r"inbound\.rspamd queue=%s .*action=\"%s\" score=9\.50 "
                     r"required=15\.00 result=tempfail" % (qids[0][10:].decode(), action))
        # rspamd sees the message as it would be kept: our fields on top
        assert body.startswith(b"Authentication-Results: mail.example.test;")
        assert body.endswith(message("soft"))
    finally:
        srv.stop()
        fake.stop()


@pytest.mark.parametrize("fail", ["tempfail", "open"])
def test_an_answer_that_is_no_verdict_is_treated_as_rspamd_down(tmp_path, fail):
    fake = FakeRspamd(http_reply(b'{"error":"bad request"}', b"400 Bad Request"))
    srv = fake_server(tmp_path, fake, filter__rspamd_fail=fail)
    try:
        r = send(srv, message("no verdict"))
        if fail == "tempfail":
            assert r.code == 451 and r.enh == "4.7.1", r
            assert srv.queue_ids() == set()
        else:
            assert r.code == 250, r
            sp = srv.spool(queue_id(r))
            assert sp.message.startswith(
                b"X-Spam-Status: skipped (rspamd's answer unusable)\r\n"
                b"Authentication-Results: mail.example.test;"), sp.message[:200]
            assert sp.env.get("junk") is None
        srv.wait_log(r'inbound\.rspamd queue=\S+ .*action=- error="HTTP status 400" '
                     r"result=%s" % ("tempfail" if fail == "tempfail" else "skipped"))
    finally:
        srv.stop()
        fake.stop()


def test_an_unknown_action_is_kept_as_spam_never_lost(tmp_path):
    fake = FakeRspamd(http_reply(b'{"score":12,"required_score":15,"action":"quarantine"}'))
    srv = fake_server(tmp_path, fake)
    try:
        r = send(srv, message("odd action"))
        assert r.code == 250, r
        sp = srv.spool(queue_id(r))
        assert sp.env.get("junk") == "1"
        assert sp.message.startswith(
            b'X-Spam: Yes\r\nX-Spam-Status: Yes, score=12.00 required=15.00 '
            b'action="quarantine"\r\n'), sp.message[:200]
    finally:
        srv.stop()
        fake.stop()
