"""Attacks and abuse: STARTTLS command injection (CVE-2011-0411), SMTP
smuggling (CVE-2023-51764 and kin), open relay tricks on the port-25
listener, and input that breaks limits. After each abuse the server must
still serve another client.
"""
import socket
import threading
import time

import pytest

from fixtures_smtp import (Server, SmtpClient, make_message, provision_documentation_example,
                           queue_id, tls_client_context)


def still_serving(srv):
    """Another client can log in and queue a message."""
    c = srv.session("alice@example.org", srv.alice_pw)
    r = c.mail("alice@example.org", "bob@remote.test", make_message(subject="still serving"))
    assert r.code == 250, r
    c.cmd("QUIT")
    c.close()


# --- STARTTLS injection --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["submission", "smtp"])
@pytest.mark.parametrize("injected", [
    b"RSET\r\n",
    b"NOOP\r\nNOOP\r\n",
    b"EHLO injected.test\r\nMAIL FROM:<alice@example.org>\r\n",
], ids=["rset", "two-noops", "ehlo-and-mail"])
def test_commands_sent_with_starttls_are_not_answered_after_the_handshake(smtp_server, kind,
                                                                          injected):
    sock = socket.create_connection(("127.0.0.1", smtp_server.ports[kind]), timeout=10)
    try:
        f = b""
        while not f.endswith(b"\r\n"):
            f += sock.recv(1)
        assert f.startswith(b"220 "), f

        def read_reply():
            data = b""
            while True:
                ch = sock.recv(1)  # one byte at a time: nothing read ahead
                assert ch, "closed: %r" % data
                data += ch
                lines = data.split(b"\r\n")
                if data.endswith(b"\r\n") and lines[-2][3:4] == b" ":
                    return data

        sock.sendall(b"EHLO client.example.test\r\n")
        assert read_reply().startswith(b"250-")
        sock.sendall(b"STARTTLS\r\n" + injected)  # one packet
        r = read_reply()
        assert r.startswith(b"220 "), r
        tls = tls_client_context().wrap_socket(sock, server_hostname="mail.example.test")
        tls.settimeout(0.4)
        try:
            early = tls.recv(4096)
        except (socket.timeout, TimeoutError):
            early = b""
        assert early == b"", "the server answered injected commands: %r" % early
        tls.settimeout(10)
        tls.sendall(b"EHLO after.example.test\r\n")
        data = b""
        while not (data.endswith(b"\r\n") and data.split(b"\r\n")[-2][3:4] == b" "):
            chunk = tls.recv(4096)
            assert chunk, data
            data += chunk
        first = data.split(b"\r\n")[0]
        assert first == b"250-mail.example.test", "first reply after the handshake: %r" % data
        # the injected MAIL did not open a transaction
        tls.sendall(b"RCPT TO:<bob@remote.test>\r\n")
        r = tls.recv(4096)
        assert r.startswith(b"503") or r.startswith(b"530"), r
        tls.close()
    finally:
        sock.close()


# --- SMTP smuggling ------------------------------------------------------------------------


SMUGGLED = (b"MAIL FROM:<alice@example.org>\r\n"
            b"RCPT TO:<victim@remote.test>\r\n"
            b"DATA\r\n"
            b"From: <alice@example.org>\r\n"
            b"To: <victim@remote.test>\r\n"
            b"Subject: smuggled\r\n"
            b"\r\n"
            b"smuggled body\r\n")


@pytest.mark.parametrize("seq", [
    b"\n.\n", b"\r.\n", b"\n.\r\n", b"\r\n.\r", b"\r\n.\n", b"\n.\r", b"\r.\r\n", b"\r\n.\r\r\n",
    b"\r\n\x00.\r\n",
], ids=lambda s: s.decode("latin-1").encode("unicode_escape").decode())
def test_smuggled_end_of_data_sequences_are_refused_as_one_message(smtp_server, seq):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    before = smtp_server.queue_ids()
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 250
    assert c.cmd("DATA").code == 354
    c.send(b"From: <alice@example.org>\r\nTo: <bob@remote.test>\r\nSubject: carrier\r\n\r\n"
           b"carrier body" + seq + SMUGGLED + b"\r\n.\r\n")
    r = c.reply()
    assert r.code == 554 and r.enh == "5.6.0", r
    # exactly one reply for the transaction: the next one answers our NOOP
    r = c.cmd("NOOP")
    assert r.code == 250 and r.enh == "2.0.0", "an extra reply: %s" % r
    assert c.pending(0.3) == b""
    # the smuggled MAIL opened nothing
    assert c.cmd("RCPT TO:<victim@remote.test>").code == 503
    assert smtp_server.queue_ids() == before


def test_smuggling_on_the_relay_listener_is_refused_too(smtp_server):
    smtp_server.cli("domain", "add", "smuggle.example")
    smtp_server.cli("user", "add", "sam@smuggle.example")
    smtp_server.cli("relay-net", "add", "smuggle.example", "127.0.0.1/32")
    c = smtp_server.client("smtp")
    c.ehlo()
    before = smtp_server.queue_ids()
    assert c.cmd("MAIL FROM:<sam@smuggle.example>").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 250
    assert c.cmd("DATA").code == 354
    c.send(b"Subject: carrier\r\n\r\nbody\n.\r\n" + SMUGGLED + b"\r\n.\r\n")
    r = c.reply()
    assert r.code == 554 and r.enh == "5.6.0", r
    assert c.cmd("NOOP").code == 250
    assert smtp_server.queue_ids() == before


def test_a_lone_dot_line_inside_a_message_is_not_an_end_unless_crlf_framed(smtp_server):
    """"\r\n.\r\n" split across two sends is still the one end."""
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 250
    assert c.cmd("DATA").code == 354
    msg = make_message(subject="split end")
    c.send(msg + b".")
    time.sleep(0.1)
    c.send(b"\r")
    time.sleep(0.1)
    c.send(b"\n")
    r = c.reply()
    assert r.code == 250, r
    assert smtp_server.spool(queue_id(r)).message.endswith(msg)


# --- open relay ---------------------------------------------------------------------


@pytest.mark.parametrize("rcpt", [
    "bob@remote.test", "user%host@example.org", '"a@b"@example.org', "@route:a@b.test",
    "a!b@example.org", "bob@remote.test.", "alice@example.org",
])
@pytest.mark.parametrize("sender", ["alice@example.org", "", "unknown@remote.test"],
                         ids=["user-sender", "null-sender", "foreign-sender"])
def test_relaying_is_refused_to_a_client_outside_relay_networks(smtp_server, rcpt, sender):
    c = smtp_server.client("smtp")
    c.ehlo()
    r = c.cmd("MAIL FROM:<%s>" % sender)
    assert r.code == 250, r
    r = c.cmd("RCPT TO:<%s>" % rcpt)
    assert r.code == 554 and r.enh == "5.7.1", "RCPT TO:<%s>: %s" % (rcpt, r)
    r = c.cmd("DATA")
    assert r.code == 554, r


@pytest.fixture(scope="module")
def relay_domain(smtp_server):
    """relay.example, with user dave, may relay from 127.0.0.0/8; and
    example.org's client is not in any relay network of its own."""
    smtp_server.cli("domain", "add", "relay.example")
    smtp_server.cli("user", "add", "dave@relay.example")
    smtp_server.cli("user", "alias", "add", "dave@relay.example", "postmaster")
    smtp_server.cli("domain", "alias", "add", "relay-alias.example", "relay.example")
    out = smtp_server.cli("relay-net", "add", "relay.example", "127.0.0.0/8")
    assert out["cidr"] == "127.0.0.0/8"
    return "relay.example"


@pytest.mark.parametrize("sender", [
    "dave@relay.example",
    "dave@relay-alias.example",
    "postmaster@relay.example",
])
def test_relaying_works_for_a_user_of_a_domain_whose_relay_network_holds_the_client(
        smtp_server, relay_domain, sender):
    c = smtp_server.client("smtp")
    c.ehlo()
    r = c.mail(sender, ["bob@remote.test", "carol@elsewhere.test"],
               make_message(frm=sender, subject="relayed"))
    assert r.code == 250 and r.enh == "2.0.0", r
    sp = smtp_server.spool(queue_id(r))
    assert sp.env["from"] == "<%s>" % sender
    assert sp.env["auth"] == "-"
    assert sp.env["ip"] == "127.0.0.1"
    received = sp.message.split(b"\r\n\r\n")[0].split(b";")[0]
    assert b"with ESMTP id" in received, received


@pytest.mark.parametrize("sender", ["stranger@relay.example", "alice@example.org",
                                    "dave@relay.example.evil.test"])
def test_relaying_is_refused_for_an_unknown_sender_of_the_relay_domain(smtp_server, relay_domain,
                                                                        sender):
    c = smtp_server.client("smtp")
    c.ehlo()
    assert c.cmd("MAIL FROM:<%s>" % sender).code == 250
    r = c.cmd("RCPT TO:<bob@remote.test>")
    assert r.code == 554 and r.enh == "5.7.1", r


def test_relaying_after_a_relayed_transaction_is_judged_again(smtp_server, relay_domain):
    c = smtp_server.client("smtp")
    c.ehlo()
    assert c.cmd("MAIL FROM:<dave@relay.example>").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 250
    assert c.cmd("RSET").code == 250
    assert c.cmd("MAIL FROM:<stranger@relay.example>").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 554


# --- limits and hostile input -------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A server with recipients_per_message = 3 and message_size = 1024."""
    srv = Server(tmp_path_factory.mktemp("smtp-limits") / "postern",
                 limits__recipients_per_message=3,
                 limits__message_size=1024)
    provision_documentation_example(srv)
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("length", [1100, 5000, 40000])
def test_an_over_long_command_line_gets_500_and_the_session_goes_on(smtp_server, length):
    c = smtp_server.client("smtp")
    c.ehlo()
    c.send("NOOP " + "x" * (length - 7) + "\r\n")
    r = c.reply()
    assert r.code == 500 and r.enh == "5.5.2", r
    assert c.pending(0.3) == b"", "more than one reply to one line"
    assert c.cmd("NOOP").code == 250
    assert c.cmd("MAIL FROM:<>").code == 250
    still_serving(smtp_server)


def test_an_over_long_mail_from_line_gets_500(smtp_server):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    r = c.cmd("MAIL FROM:<alice@example.org> ENVID=" + "x" * 1100)
    assert r.code == 500 and r.enh == "5.5.2", r
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250


def test_a_command_line_of_512_octets_is_accepted(smtp_server):
    c = smtp_server.client("smtp")
    line = "NOOP " + "x" * (512 - 2 - 5)
    assert len(line) + 2 == 512
    assert c.cmd(line).code == 250


def test_the_fourth_recipient_gets_452_when_three_are_allowed(limited):
    c = limited.session("alice@example.org", limited.alice_pw)
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    for i in range(3):
        assert c.cmd("RCPT TO:<r%d@remote.test>" % i).code == 250
    r = c.cmd("RCPT TO:<r3@remote.test>")
    assert r.code == 452 and r.enh == "4.5.3", r
    r = c.data(make_message(subject="three"))
    assert r.code == 250, r
    assert len(limited.spool(queue_id(r)).env["rcpt"]) == 3
    still_serving(limited)


def test_a_message_over_message_size_gets_552(limited):
    c = limited.session("alice@example.org", limited.alice_pw)
    before = limited.queue_ids()
    msg = make_message(subject="big", body="y" * 76 + "\r\n")
    msg += (b"z" * 78 + b"\r\n") * ((2000 - len(msg)) // 80 + 1)
    assert len(msg) >= 2000
    r = c.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 552 and r.enh == "5.3.4", r
    assert limited.queue_ids() == before
    # the session is in step: a small one goes through
    r = c.mail("alice@example.org", "bob@remote.test", make_message(subject="small"))
    assert r.code == 250, r
    still_serving(limited)


def test_a_message_of_exactly_message_size_is_accepted(limited):
    c = limited.session("alice@example.org", limited.alice_pw)
    msg = make_message(subject="exact", body="")
    msg += b"b" * (1024 - len(msg) - 2) + b"\r\n"
    assert len(msg) == 1024
    r = c.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 250, r
    assert limited.spool(queue_id(r)).message.endswith(msg)


def test_a_bdat_message_over_message_size_gets_552(limited):
    c = limited.session("alice@example.org", limited.alice_pw)
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 250
    body = make_message(subject="big bdat") + (b"q" * 98 + b"\r\n") * 15
    c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    r = c.reply()
    assert r.code == 552 and r.enh == "5.3.4", r
    assert c.cmd("NOOP").code == 250


def test_mail_from_with_a_size_over_the_limit_gets_552(limited):
    c = limited.session("alice@example.org", limited.alice_pw)
    ehlo = c.ehlo()
    assert "SIZE 1024" in ehlo.lines
    r = c.cmd("MAIL FROM:<alice@example.org> SIZE=999999")
    assert r.code == 552 and r.enh == "5.3.4", r
    r = c.cmd("MAIL FROM:<alice@example.org> SIZE=1025")
    assert r.code == 552 and r.enh == "5.3.4", r
    assert c.cmd("MAIL FROM:<alice@example.org> SIZE=1024").code == 250
    still_serving(limited)


def data_with_line(srv, octets):
    """Send a message holding one line of `octets` octets, CRLF included."""
    c = srv.session("alice@example.org", srv.alice_pw)
    msg = make_message(subject="line of %d" % octets, body="L" * (octets - 2) + "\r\n")
    return c.mail("alice@example.org", "bob@remote.test", msg)


def test_a_line_of_1000_octets_with_crlf_is_accepted(smtp_server):
    r = data_with_line(smtp_server, 1000)
    assert r.code == 250, r


def test_a_line_of_1001_octets_with_crlf_is_refused(smtp_server):
    r = data_with_line(smtp_server, 1001)
    assert r.code == 554 and r.enh == "5.6.0", r


def test_a_line_of_1002_octets_with_crlf_is_refused(smtp_server):
    r = data_with_line(smtp_server, 1002)
    assert r.code == 554 and r.enh == "5.6.0", r


def test_nul_bytes_in_a_command_get_500(smtp_server):
    c = smtp_server.client("smtp")
    c.ehlo()
    for line in (b"NO\x00OP\r\n", b"MAIL FROM:<a\x00@example.org>\r\n", b"\x00\r\n"):
        c.send(line)
        r = c.reply()
        assert r.code == 500 and r.enh == "5.5.2", (line, r)
    assert c.cmd("NOOP").code == 250
    still_serving(smtp_server)


def test_invalid_base64_in_auth_plain_is_refused_and_others_are_served(smtp_server):
    c = smtp_server.client("submission")
    c.ehlo()
    c.starttls()
    c.ehlo()
    for bad in ("AUTH PLAIN ====", "AUTH PLAIN " + "A" * 12000, "AUTH PLAIN \x7f\xff"):
        c.send(bad.encode("latin-1") + b"\r\n")
        r = c.reply()
        assert r.code in (535, 501, 500), (bad[:40], r)
        still_serving(smtp_server)


def test_too_many_bad_commands_close_the_session(smtp_server):
    c = smtp_server.client("smtp")
    codes = [c.cmd("BOGUS %d" % i).code for i in range(9)]
    assert codes == [500] * 9
    r = c.cmd("BOGUS 9")
    assert r.code == 500, r
    r = c.reply()
    assert r.code == 421, r
    assert c.closed_by_server(5)
    still_serving(smtp_server)


def test_a_client_that_leaves_in_the_middle_of_data_does_not_leave_a_message(smtp_server):
    before = smtp_server.queue_ids()
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 250
    assert c.cmd("DATA").code == 354
    c.send(make_message(subject="half")[:60])
    c.close()
    still_serving(smtp_server)
    after = smtp_server.queue_ids() - before
    assert all(b"Subject: half" not in smtp_server.spool(q).message for q in after)


def test_many_clients_at_once_are_all_served(smtp_server):
    results = []

    def one(i):
        try:
            c = SmtpClient(smtp_server.ports["submissions"], implicit_tls=True,
                           cafile=smtp_server.cert)
            c.ehlo()
            assert c.auth_plain("alice@example.org", smtp_server.alice_pw).code == 235
            r = c.mail("alice@example.org", "bob@remote.test",
                       make_message(subject="crowd %d" % i))
            results.append(r.code)
            c.cmd("QUIT")
            c.close()
        except Exception as e:  # reported below
            results.append(repr(e))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [250] * 12, results
