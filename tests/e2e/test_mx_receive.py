"""postern as the MX of its hosted domains (issue 13, "Receiving"): on the
port-25 listener anyone may write to a mailbox here (a user or alias, at
any name of the domain), an unknown mailbox is refused at RCPT with 550
5.1.1, and nothing is relayed anywhere else. Without a mailbox store
(`[mailbox] lmtp` unset) hosted addresses are refused like any other, so a
postern that is not the MX never loops mail back to itself.
"""
import time

import pytest

from fixtures_smtp import make_message, queue_id

# Dovecot is not needed to receive: the mail waits in the queue.
MAILBOX = {"mailbox__lmtp": "unix:/nonexistent/postern-test-lmtp"}


@pytest.fixture(scope="module")
def mx(tmp_path_factory):
    """The MX, its checks asking an (empty) DNS server on loopback."""
    from fixtures_delivery import DnsServer
    from fixtures_smtp import Server, provision_documentation_example
    root = tmp_path_factory.mktemp("mx")
    dns = DnsServer(root / "dns").start()
    srv = Server(root / "postern", delivery__dns_servers=dns.address, **MAILBOX)
    provision_documentation_example(srv)
    srv.start()
    srv.dns = dns
    yield srv
    srv.stop()
    dns.stop()


def outsider(srv):
    c = srv.client("smtp")
    c.ehlo("mail.sender.test")
    return c


@pytest.mark.parametrize("rcpt", [
    "alice@example.org",
    "ALICE@Example.ORG",
    "alice@example.org.",             # a trailing dot: the same mailbox
    "alice_lastname@example.org",     # the user's alias
    "alice_lastname@example.net",     # ... at the domain alias
    "alice@EXAMPLE.NET.",
])
def test_anyone_may_write_to_a_mailbox_here(mx, rcpt):
    c = outsider(mx)
    assert c.cmd("MAIL FROM:<someone@sender.test>").code == 250
    r = c.cmd("RCPT TO:<%s>" % rcpt)
    assert r.code == 250, "RCPT TO:<%s>: %s" % (rcpt, r)


@pytest.mark.parametrize("rcpt", [
    "bob@example.org", "bob@example.net", "user%host@example.org",
    "a!b@example.org",
])
def test_an_unknown_mailbox_is_refused_at_rcpt(mx, rcpt):
    c = outsider(mx)
    assert c.cmd("MAIL FROM:<someone@sender.test>").code == 250
    r = c.cmd("RCPT TO:<%s>" % rcpt)
    assert r.code == 550 and r.enh == "5.1.1", "RCPT TO:<%s>: %s" % (rcpt, r)
    assert "User unknown" in r.text
    assert c.cmd("DATA").code == 554


@pytest.mark.parametrize("rcpt", ["bob@remote.test", "alice@example.org.remote.test",
                                  "@route.test:bob@remote.test",
                                  '"alice@remote.test"@example.org'])
def test_nothing_is_relayed_elsewhere(mx, rcpt):
    c = outsider(mx)
    assert c.cmd("MAIL FROM:<someone@sender.test>").code == 250
    r = c.cmd("RCPT TO:<%s>" % rcpt)
    assert r.code in (501, 553, 554), "RCPT TO:<%s>: %s" % (rcpt, r)
    assert r.code != 554 or r.enh == "5.7.1", r


def test_a_refused_recipient_leaves_the_others_of_the_message(mx):
    c = outsider(mx)
    assert c.cmd("MAIL FROM:<someone@sender.test>").code == 250
    assert c.cmd("RCPT TO:<nobody@example.org>").code == 550
    assert c.cmd("RCPT TO:<elsewhere@remote.test>").code == 554
    assert c.cmd("RCPT TO:<alice@example.net>").code == 250
    msg = make_message(frm="someone@sender.test", to="alice@example.org",
                       subject="for the inbox")
    r = c.data(msg)
    assert r.code == 250, r
    sp = mx.spool(queue_id(r))
    assert sp.env["rcpt"] == ["<alice@example.net> notify=- orcpt=-"]
    assert sp.env.get("inbound") == "1"
    assert sp.env.get("auth") == "-"
    assert sp.env.get("from") == "<someone@sender.test>"


def test_inbound_mail_is_passed_on_as_it_came(mx):
    """A message from elsewhere is not completed like a submission (no
    Message-ID or Date added), and is never signed as ours, even when its
    From: claims a hosted domain."""
    c = outsider(mx)
    msg = (b"From: Alice <alice@example.org>\r\nTo: alice@example.org\r\n"
           b"Subject: spoofed\r\n\r\nhello\r\n")
    r = c.mail("forger@sender.test", "alice@example.org", msg)
    assert r.code == 250, r
    sp = mx.spool(queue_id(r))
    assert sp.env.get("inbound") == "1"
    assert "domain" not in sp.env
    head = sp.message.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"Authentication-Results: "), head[:200]
    assert b"\r\nReceived: from mail.sender.test" in head, head[:400]
    assert b"\r\nMessage-ID:" not in head and b"\r\nDate:" not in head
    assert sp.message.endswith(msg)


def test_the_null_sender_may_write_to_a_mailbox(mx):
    c = outsider(mx)
    r = c.mail("", "alice@example.org", make_message(frm="MAILER-DAEMON@sender.test",
                                                    to="alice@example.org"))
    assert r.code == 250, r


def test_without_a_mailbox_store_hosted_addresses_are_not_received(smtp_server):
    """The shared server has no [mailbox] lmtp: postern is not the MX."""
    c = outsider(smtp_server)
    assert c.cmd("MAIL FROM:<someone@sender.test>").code == 250
    r = c.cmd("RCPT TO:<alice@example.org>")
    assert r.code == 554 and r.enh == "5.7.1", r


def test_domain_dns_names_this_server_as_the_mx_and_check_finds_it(mx):
    from fixtures_smtp import HOSTNAME
    recs = mx.cli("domain", "dns", "example.org")["records"]
    mxs = [r for r in recs if r["type"] == "MX"]
    assert {(r["name"], r["value"]) for r in mxs} == {
        ("example.org", "10 %s." % HOSTNAME), ("example.net", "10 %s." % HOSTNAME)}, mxs
    text = mx.cli("domain", "dns", "example.org", json=False)
    assert "example.org.\tIN\tMX\t10 %s.\n" % HOSTNAME in text, text
    mx.dns.set("example.org. MX 20 elsewhere.test.", "elsewhere.test. A 192.0.2.9")
    checks = {(c["name"], c["want"]): c for c in mx.cli("domain", "check", "example.org")["checks"]}
    assert checks[("example.org", "10 %s." % HOSTNAME)]["status"] == "different"
    mx.dns.set("example.org. MX 10 %s." % HOSTNAME, "%s. A 127.0.0.1" % HOSTNAME)
    checks = {(c["name"], c["want"]): c for c in mx.cli("domain", "check", "example.org")["checks"]}
    assert checks[("example.org", "10 %s." % HOSTNAME)]["status"] == "ok"
    assert checks[("example.net", "10 %s." % HOSTNAME)]["status"] == "missing"


SMUGGLED = (b"MAIL FROM:<ceo@example.org>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"
            b"From: <ceo@example.org>\r\nSubject: smuggled\r\n\r\npay now\r\n")


@pytest.mark.parametrize("seq", [b"\n.\n", b"\r\n.\n", b"\n.\r\n"],
                         ids=lambda s: s.decode("latin-1").encode("unicode_escape").decode())
def test_smuggling_to_a_mailbox_is_refused_as_one_message(mx, seq):
    """The MX's mail is read by the same rules as submission: a second
    message hidden behind a bare-LF end of data never reaches a mailbox."""
    c = outsider(mx)
    before = mx.queue_ids()
    assert c.cmd("MAIL FROM:<someone@sender.test>").code == 250
    assert c.cmd("RCPT TO:<alice@example.org>").code == 250
    assert c.cmd("DATA").code == 354
    c.send(b"Subject: carrier\r\n\r\nbody" + seq + SMUGGLED + b"\r\n.\r\n")
    r = c.reply()
    assert r.code == 554 and r.enh == "5.6.0", r
    assert c.cmd("NOOP").code == 250
    assert mx.queue_ids() == before


def test_a_client_that_talks_before_the_greeting_is_not_obeyed(mx):
    """A bot's whole transaction to a mailbox, sent before the greeting
    (the server stopped while it connects and talks): 554, nothing queued."""
    import signal
    import socket
    from test_smtp_hostile import everything_until_closed
    before = mx.queue_ids()
    mx.proc.send_signal(signal.SIGSTOP)
    for _ in range(200):  # stopped for sure before we connect
        with open("/proc/%d/stat" % mx.proc.pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":
                break
        time.sleep(0.01)
    try:
        sock = socket.create_connection(("127.0.0.1", mx.ports["smtp"]), timeout=10)
        sock.sendall(b"EHLO bot.test\r\nMAIL FROM:<x@sender.test>\r\n"
                     b"RCPT TO:<alice@example.org>\r\nDATA\r\nSubject: early\r\n\r\nhi\r\n.\r\n")
    finally:
        mx.proc.send_signal(signal.SIGCONT)
    got = everything_until_closed(sock)
    sock.close()
    assert got.startswith(b"554 5.5.1 "), got
    assert b"250" not in got, got
    assert mx.queue_ids() == before


def test_one_address_may_send_only_so_many_messages_and_connections_a_minute(tmp_path):
    from fixtures_delivery import DnsServer
    from fixtures_smtp import Server, SmtpClient, provision_documentation_example
    dns = DnsServer(tmp_path / "dns").start()
    srv = Server(tmp_path / "postern", delivery__dns_servers=dns.address,
                 limits__mx_messages_per_minute="3", limits__mx_connections_per_minute="6",
                 **MAILBOX)
    provision_documentation_example(srv)
    srv.start()
    try:
        c = outsider(srv)
        for i in range(3):
            r = c.mail("someone@sender.test", "alice@example.org",
                       make_message(frm="someone@sender.test", to="alice@example.org",
                                    subject="rate %d" % i))
            assert r.code == 250, r
        r = c.cmd("MAIL FROM:<someone@sender.test>")
        assert r.code == 450 and r.enh == "4.7.1", r
        assert c.cmd("RCPT TO:<alice@example.org>").code == 503  # no transaction
        # a bounce (null sender) counts too
        assert c.cmd("MAIL FROM:<>").code == 450
        c.close()
        # one connection was used above; five more are let in, then 421
        for _ in range(5):
            SmtpClient(srv.ports["smtp"]).close()
        late = SmtpClient(srv.ports["smtp"], read_greeting=False)
        r = late.reply()
        assert r.code == 421 and r.enh == "4.7.0", r
        # submission is not the MX: not counted
        s = srv.session("alice@example.org", srv.alice_pw)
        assert s.cmd("NOOP").code == 250
    finally:
        srv.stop()
        dns.stop()
