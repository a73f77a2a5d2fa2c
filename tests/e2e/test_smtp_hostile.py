"""Postern as attackers and careless clients meet it (issue 11): weak TLS
suites, bad SASL base64, unbounded BDAT from nobody, clients that talk
before the greeting or never finish a handshake, 8-bit EHLO names in the
Received: header, and IPv6 clients that own a whole /64.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest

from fixtures_smtp import (HOSTNAME, ConnectionClosed, Server, SmtpClient, b64, dot_stuff,
                           make_message, plain_ir, provision_documentation_example, queue_id,
                           split_header, tls_client_context)

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


# --- what nobody may make the server hold (item 2) --------------------------


def rss_mib(srv):
    """The server process's resident memory, MiB."""
    with open("/proc/%d/status" % srv.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def settle_rss(srv, wait=1.0):
    """RSS once the server has read what was sent (it stops changing)."""
    last = rss_mib(srv)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(wait)
        now = rss_mib(srv)
        if abs(now - last) < 1:
            return now
        last = now
    return last


ASAN_SMALL_QUARANTINE = {"ASAN_OPTIONS": "quarantine_size_mb=1"}
BDAT_SIZE = 31458280  # 30 MiB + a bit, under message_size (35M)


def test_bdat_without_a_recipient_is_counted_not_kept(smtp_server_factory):
    """MAIL FROM:<> from no relay network, the recipient refused, then 30
    MiB of BDAT on several sessions: the server holds none of it, answers
    554 5.5.1 after each chunk and stays in step."""
    # ASan keeps freed memory in quarantine (256 MiB): a small one, so
    # RSS shows what the server holds, not what it read and let go
    srv = smtp_server_factory(serve_env=ASAN_SMALL_QUARANTINE)
    sessions = []
    for _ in range(4):
        c = srv.client("smtp")
        c.ehlo()
        assert c.cmd("MAIL FROM:<>").code == 250
        r = c.cmd("RCPT TO:<bob@remote.test>")
        assert r.code == 554, r
        sessions.append(c)
    before = settle_rss(srv, 0.3)
    # a well-formed message (lines of 512 bytes), so nothing condemns it
    # early: only the missing recipient
    block = (b"x" * 510 + b"\r\n") * 128
    for c in sessions:
        c.send("BDAT %d\r\n" % BDAT_SIZE)
        left = BDAT_SIZE - 1  # all but the last byte: the chunk is open
        while left:
            n = min(left, len(block))
            c.send(block[:n])
            left -= n
    during = settle_rss(srv)
    grew = during - before
    assert grew < 24, "4 open 30 MiB chunks from nobody grew the server by %.0f MiB" % grew
    for c in sessions:
        c.send(b"\n")
        r = c.reply()
        assert r.code == 554 and r.enh == "5.5.1", r
        # in step: the next command is read as a command
        assert c.cmd("NOOP").code == 250
        assert c.cmd("QUIT").code == 221


def test_chunks_pipelined_after_a_refused_bdat_are_read_as_chunks(smtp_server):
    """RFC 3030 2: after a failed BDAT, the chunks already pipelined are
    read and discarded; bytes inside them are never taken as commands."""
    c = smtp_server.client("smtp")
    c.ehlo()
    chunk = b"RSET\r\nNOOP\r\n"  # would be answered if read as commands
    c.send(b"MAIL FROM:<>\r\nRCPT TO:<bob@remote.test>\r\n"
           b"BDAT %d\r\n%s" % (len(chunk), chunk)
           + b"BDAT %d\r\n%s" % (len(chunk), chunk)
           + b"BDAT %d LAST\r\n%s" % (len(chunk), chunk)
           + b"HELP\r\n")
    assert c.reply().code == 250  # MAIL
    assert c.reply().code == 554  # RCPT: no relay
    r = c.reply()
    assert r.code == 554 and r.enh == "5.5.1", r  # no valid recipients
    for _ in range(2):
        r = c.reply()
        assert r.code == 503 and r.enh == "5.5.1", r  # no transaction
    assert c.reply().code == 214  # HELP: in step
    assert c.pending(0.3) == b""


def test_a_client_that_never_reads_its_replies_cannot_fill_the_server(smtp_server_factory):
    """Pipelined commands with replies twenty times their size, never
    read: the server stops reading commands while 64 KiB of replies wait,
    instead of holding them all."""
    srv = smtp_server_factory(serve_env=ASAN_SMALL_QUARANTINE)
    c = srv.client("smtp")
    c.ehlo()
    before = settle_rss(srv, 0.3)
    c.sock.setblocking(False)
    burst = b"HELP\r\n" * 10000
    sent, stalled = 0, None
    deadline = time.monotonic() + 60
    while sent < 64 << 20 and time.monotonic() < deadline:
        try:
            sent += c.sock.send(burst)
            stalled = None
        except BlockingIOError:
            if stalled is None:
                stalled = time.monotonic()
            elif time.monotonic() - stalled > 2:
                break  # the server has stopped reading
            time.sleep(0.05)
    c.sock.setblocking(True)
    during = settle_rss(srv)
    # before the fix: 64 MiB of HELP became ~1.3 GiB of replies held
    assert sent < 32 << 20, "the server kept reading: %d MiB of commands" % (sent >> 20)
    assert during - before < 24, (before, during)
    c.close()
    # nobody else is hurt
    d = srv.client("smtp")
    d.ehlo()
    assert d.cmd("QUIT").code == 221


# --- the EHLO name in the Received: field (item 16) -------------------------


def received_field(srv, reply):
    fields, _ = split_header(srv.spool(queue_id(reply)).message)
    got = [raw for name, raw in fields if name == "received"]
    assert len(got) == 1, got
    return got[0]


def comment_depth_ok(text):
    """Parentheses balance, counting RFC 5322 quoted pairs as text."""
    depth, i = 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
        i += 1
    return depth == 0


def send_with_helo(srv, helo):
    c = srv.client("submissions")
    c.send(b"EHLO " + (helo if isinstance(helo, bytes) else helo.encode()) + b"\r\n")
    r = c.reply()
    if r.code != 250:
        return r, None
    assert c.auth_plain("alice@example.org", srv.alice_pw).code == 235
    r = c.mail("alice@example.org", "bob@remote.test", make_message(subject="helo"))
    assert r.code == 250, r
    return r, received_field(srv, r)


@pytest.mark.parametrize("helo", [b"b\xc3\xa4d.example", b"caf\xe9", b"x\x01y", b"a\x7f"],
                         ids=["utf8", "latin1", "control", "del"])
def test_an_ehlo_name_with_8bit_or_control_bytes_is_refused(smtp_server, helo):
    r, _ = send_with_helo(smtp_server, helo)
    assert r.code == 501 and r.enh == "5.5.2", r


@pytest.mark.parametrize("helo,want", [
    ("client.example.test", b"Received: from client.example.test ([127.0.0.1])"),
    ("MyLaptop", b"Received: from MyLaptop ([127.0.0.1])"),
    ("[127.0.0.1]", b"Received: from [127.0.0.1] ([127.0.0.1])"),
    ("DESKTOP_4F2", b"Received: from [127.0.0.1] (helo=DESKTOP_4F2)"),
    ("x)(by:evil.example;", b"Received: from [127.0.0.1] (helo=x\\)\\(by:evil.example;)"),
    ("((((", b"Received: from [127.0.0.1] (helo=\\(\\(\\(\\()"),
    ("a\\", b"Received: from [127.0.0.1] (helo=a\\\\)"),
], ids=["domain", "bare-word", "literal", "underscore", "parens", "open-parens", "backslash"])
def test_the_received_field_names_a_good_helo_and_quotes_any_other(smtp_server, helo, want):
    r, field = send_with_helo(smtp_server, helo)
    first = field.split(b"\r\n")[0]
    assert first == want, field
    assert all(0x20 <= b < 0x7f or b in b"\r\n\t" for b in field), field
    assert comment_depth_ok(field.decode()), field


# --- clients that talk before the greeting (item 10) ------------------------


def relay_transaction(subject):
    """A whole relayed transaction, as a bot pipelines it."""
    return (b"EHLO bot.example.test\r\nMAIL FROM:<alice@example.org>\r\n"
            b"RCPT TO:<bob@remote.test>\r\nDATA\r\n"
            + dot_stuff(make_message(subject=subject)) + b"QUIT\r\n")


def submission_transaction(srv, subject):
    return (b"EHLO bot.example.test\r\n"
            + ("AUTH PLAIN %s\r\n" % plain_ir("alice@example.org", srv.alice_pw)).encode()
            + b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@remote.test>\r\nDATA\r\n"
            + dot_stuff(make_message(subject=subject)) + b"QUIT\r\n")


def everything_until_closed(sock, wait=10):
    """All the server sends until it closes (or wait seconds)."""
    sock.settimeout(wait)
    got = b""
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionResetError, ssl.SSLError):
        pass
    return got


@pytest.fixture
def relay_server(smtp_server_factory):
    """A server whose smtp listener relays for example.org from loopback."""
    def make(**conf):
        srv = smtp_server_factory(**conf)
        srv.cli("relay-net", "add", "example.org", "127.0.0.0/8")
        return srv
    return make


def test_a_transaction_sent_before_the_greeting_is_refused_not_obeyed(relay_server):
    """The bytes are there when the greeting would go out (the server is
    stopped while the client connects and talks): 554, nothing queued."""
    srv = relay_server()
    before = srv.queue_ids()
    srv.proc.send_signal(signal.SIGSTOP)
    try:
        sock = socket.create_connection(("127.0.0.1", srv.ports["smtp"]), timeout=10)
        sock.sendall(relay_transaction("talked first"))
    finally:
        srv.proc.send_signal(signal.SIGCONT)
    got = everything_until_closed(sock)
    sock.close()
    assert got.startswith(b"554 5.5.1 "), got
    assert b"220" not in got and b"250" not in got, got
    assert srv.queue_ids() == before
    srv.wait_log(r"reason=talked_first")
    # a client that waits for the greeting relays as before
    c = srv.client("smtp")
    c.ehlo()
    r = c.mail("alice@example.org", "bob@remote.test", make_message(subject="waited"))
    assert r.code == 250, r


def test_commands_sent_before_the_greeting_on_submission_are_refused(smtp_server_factory):
    srv = smtp_server_factory()
    srv.proc.send_signal(signal.SIGSTOP)
    try:
        sock = socket.create_connection(("127.0.0.1", srv.ports["submission"]), timeout=10)
        sock.sendall(b"EHLO bot.example.test\r\nNOOP\r\nSTARTTLS\r\n")
    finally:
        srv.proc.send_signal(signal.SIGCONT)
    got = everything_until_closed(sock)
    sock.close()
    assert got.startswith(b"554 5.5.1 ") and b"250" not in got, got


def test_commands_pipelined_with_the_tls_handshake_on_465_are_refused(smtp_server_factory):
    """The client's Finished and its whole transaction in one packet: the
    handshake completes, the greeting never goes out, nothing is queued."""
    srv = smtp_server_factory()
    before = srv.queue_ids()
    ctx = tls_client_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=HOSTNAME)
    sock = socket.create_connection(("127.0.0.1", srv.ports["submissions"]), timeout=10)
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            if out.pending:
                sock.sendall(out.read())
            data = sock.recv(65536)
            assert data, "closed during the handshake"
            inc.write(data)
    tls.write(submission_transaction(srv, "pipelined with the handshake"))
    sock.sendall(out.read())  # Finished + the transaction
    raw = everything_until_closed(sock)
    sock.close()
    inc.write(raw)
    got = b""
    try:
        while True:
            got += tls.read(65536)
    except (ssl.SSLWantReadError, ssl.SSLZeroReturnError, ssl.SSLEOFError):
        pass
    assert got.startswith(b"554 5.5.1 "), got
    assert b"235" not in got and b"250" not in got, got
    assert srv.queue_ids() == before


def test_greet_wait_refuses_a_client_that_talks_during_it(relay_server):
    srv = relay_server(limits__greet_wait=800)
    before = srv.queue_ids()
    sock = socket.create_connection(("127.0.0.1", srv.ports["smtp"]), timeout=10)
    time.sleep(0.2)  # connected, no greeting yet: a bot goes on
    sock.sendall(relay_transaction("during the wait"))
    got = everything_until_closed(sock)
    sock.close()
    assert got.startswith(b"554 5.5.1 ") and b"250" not in got, got
    assert srv.queue_ids() == before
    # a patient client gets the greeting after the wait and relays
    t0 = time.monotonic()
    c = srv.client("smtp")
    assert time.monotonic() - t0 >= 0.7
    c.ehlo()
    r = c.mail("alice@example.org", "bob@remote.test", make_message(subject="patient"))
    assert r.code == 250, r
    # the wait is the smtp listener's only
    t0 = time.monotonic()
    srv.client("submission")
    assert time.monotonic() - t0 < 0.5


# --- deadlines: the TLS handshake and the session (item 13) -----------------


CLIENT_HELLO_HEAD = bytes.fromhex("16030100c8010000c40303") + bytes(20)


@pytest.mark.parametrize("behaviour", ["silent", "half-hello", "trickle"])
def test_a_tls_handshake_that_does_not_finish_is_cut_at_its_deadline(smtp_server_factory,
                                                                      behaviour):
    srv = smtp_server_factory(limits__tls_handshake_timeout="2s")
    sock = socket.create_connection(("127.0.0.1", srv.ports["submissions"]), timeout=10)
    t0 = time.monotonic()
    if behaviour == "half-hello":
        sock.sendall(CLIENT_HELLO_HEAD)
    closed_at = None
    sock.settimeout(0.3)
    for i in range(40):  # up to 12 s
        if behaviour == "trickle" and i < len(CLIENT_HELLO_HEAD):
            try:
                sock.sendall(CLIENT_HELLO_HEAD[i:i + 1])  # one byte every 0.3 s
            except OSError:
                closed_at = time.monotonic()
                break
        try:
            if sock.recv(4096) == b"":
                closed_at = time.monotonic()
                break
        except socket.timeout:
            continue
        except OSError:
            closed_at = time.monotonic()
            break
    sock.close()
    assert closed_at is not None, "still open after 12 s"
    assert 1.5 <= closed_at - t0 <= 5, closed_at - t0
    srv.wait_log(r"reason=tls_handshake_timeout")


def test_a_starttls_handshake_that_does_not_finish_is_cut_at_its_deadline(smtp_server_factory):
    srv = smtp_server_factory(limits__tls_handshake_timeout="2s")
    c = srv.client("submission")
    c.ehlo()
    assert c.cmd("STARTTLS").code == 220
    c.send(CLIENT_HELLO_HEAD)
    t0 = time.monotonic()
    assert c.closed_by_server(8)
    assert time.monotonic() - t0 <= 4


def test_a_session_that_keeps_busy_ends_at_the_session_deadline(smtp_server_factory):
    srv = smtp_server_factory(limits__session_timeout="3s")
    c = srv.session("alice@example.org", srv.alice_pw, kind="submissions")
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < 10:
        try:
            last = c.cmd("NOOP")
        except ConnectionClosed:
            break
        if last.code != 250:
            break
        time.sleep(0.3)
    took = time.monotonic() - t0
    assert last is not None and last.code == 421 and last.enh == "4.4.2", last
    assert 1.5 <= took <= 5, took
    assert c.closed_by_server(5)
    srv.wait_log(r"reason=session_timeout")


def test_a_client_that_keeps_the_server_busy_still_ends_at_the_session_deadline(
        smtp_server_factory):
    """The deadline waits while the server's own work is pending (S_WAIT):
    a client that pipelines MAIL FROM (a relay-network look-up on a
    worker each) and RSET without a pause always has one pending when
    the timer looks, and its session went on for ever."""
    import threading
    srv = smtp_server_factory(limits__session_timeout="2s")
    sock = socket.create_connection(("127.0.0.1", srv.ports["smtp"]), timeout=15)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"220 ")
    sock.sendall(b"EHLO busy.example.test\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    stop = threading.Event()

    def flood():
        batch = b"MAIL FROM:<alice@example.org>\r\nRSET\r\n" * 200
        try:
            while not stop.is_set():
                sock.sendall(batch)
        except OSError:
            pass

    t = threading.Thread(target=flood, daemon=True)
    t0 = time.monotonic()
    t.start()
    ended = None
    try:
        while time.monotonic() - t0 < 12:
            line = f.readline()
            if not line:
                break
            if line.startswith(b"421 "):
                ended = (line, time.monotonic() - t0)
                break
    finally:
        stop.set()
        sock.close()
        t.join(5)
    assert ended is not None, "the session outlived its 2 s deadline by 10 s"
    assert b"4.4.2" in ended[0] and ended[1] <= 5, ended
    srv.wait_log(r"reason=session_timeout")


# --- IPv6 clients count per /64 (item 18) -----------------------------------
#
# Loopback has one IPv6 address, so the scenario runs in a network
# namespace of its own (`unshare -rn`: no privilege needed where user
# namespaces are allowed) whose loopback carries addresses of two /64s.

V6_SERVER = "2001:db8:1:2::1"
V6_SAME_64 = ["2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:2:ffff::c"]
V6_OTHER_64 = "2001:db8:1:3::a"


def _greeting_from(src, port):
    """The first line the server sends to a client bound to src."""
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((src, 0))
    s.connect((V6_SERVER, port))
    line = b""
    while not line.endswith(b"\n"):
        ch = s.recv(1)
        if not ch:
            break
        line += ch
    return s, line.decode().strip()


def _auth_from(srv, src, port, password):
    """AUTH PLAIN as alice on 465 from src: the reply's code. A connection
    closed at once is the per-address limit while the server has not yet
    seen the previous client leave: tried again."""
    for _ in range(25):
        try:
            return _auth_once(src, port, password)
        except (ssl.SSLError, ConnectionError, ConnectionClosed):
            time.sleep(0.2)
    raise AssertionError("no TLS session from %s" % src)


def _auth_once(src, port, password):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((src, 0))
    s.connect((V6_SERVER, port))
    c = SmtpClient.__new__(SmtpClient)  # the line reader over our socket
    c.sock = tls_client_context().wrap_socket(s, server_hostname=HOSTNAME)
    c.buf, c.tls, c.timeout = b"", True, 10
    try:
        assert c.reply().code == 220
        c.ehlo()
        return c.auth_plain("alice@example.org", password).code
    finally:
        c.close()


def _ipv6_scenario(root, prefix):
    """Inside the namespace: two clients of one /64 fill connections_per_ip
    = 2; a third of the same /64 is refused; one of another /64 is not.
    Two failed logins from one address of the /64 (ip_refuse_after = 2)
    refuse AUTH to another address of it, not to another /64."""
    import json
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for a in [V6_SERVER] + V6_SAME_64 + [V6_OTHER_64]:
        subprocess.run(["ip", "-6", "addr", "add", a + "/64", "dev", "lo", "nodad"], check=True)
    conf = {"limits__ipv6_prefix": prefix} if prefix else {}  # None: the default
    srv = Server(root, limits__connections_per_ip=2,
                 auth__ip_refuse_after=2, http__connections_per_ip=2, **conf)
    provision_documentation_example(srv)
    port, tls_port = srv.ports["smtp"], srv.ports["submissions"]
    srv.conf_set("listen", "smtp", "[%s]:%d" % (V6_SERVER, port))
    srv.conf_set("listen", "submissions", "[%s]:%d" % (V6_SERVER, tls_port))
    http_port = srv.ports["http"]
    srv.conf_set("listen", "http", "[%s]:%d" % (V6_SERVER, http_port))
    srv.start()
    out, socks = {}, []
    try:
        for src in V6_SAME_64 + [V6_OTHER_64]:
            s, line = _greeting_from(src, port)
            socks.append(s)
            out[src] = line
        # and a session from the /64 still works once one has left
        socks[0].close()
        for _ in range(25):
            time.sleep(0.2)
            s, line = _greeting_from(V6_SAME_64[2], port)
            socks.append(s)
            if line.startswith("220 "):
                break
        out["again"] = line
        for s in socks:
            s.close()
        socks = []
        # the HTTP server counts connections by the same key
        out["http"] = {}
        for src in V6_SAME_64 + [V6_OTHER_64]:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.bind((src, 0))
            s.connect((V6_SERVER, http_port))
            socks.append(s)
            s.settimeout(1.0)
            try:
                out["http"][src] = "closed" if s.recv(1) == b"" else "data"
            except socket.timeout:
                out["http"][src] = "open"
            except ConnectionError:
                out["http"][src] = "closed"
        for s in socks:
            s.close()
        socks = []
        out["auth"] = [_auth_from(srv, V6_SAME_64[0], tls_port, "wrong-1"),
                       _auth_from(srv, V6_SAME_64[0], tls_port, "wrong-2"),
                       _auth_from(srv, V6_SAME_64[1], tls_port, srv.alice_pw),
                       _auth_from(srv, V6_OTHER_64, tls_port, srv.alice_pw)]
    finally:
        for s in socks:
            s.close()
        srv.stop()
    print(json.dumps(out))


def _run_in_netns(root, prefix):
    import json
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("no network namespaces here (unshare -rn)")
    p = subprocess.run(["unshare", "-rn", sys.executable, "-c",
                        "import test_smtp_hostile as t; t._ipv6_scenario(%r, %r)"
                        % (str(root), prefix)],
                       cwd=HERE, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stdout.decode()[-3000:] + p.stderr.decode()[-3000:]
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def test_ipv6_clients_of_one_64_share_the_per_address_limits(tmp_path):
    got = _run_in_netns(tmp_path / "postern", None)  # the default: 64
    a, b, c = V6_SAME_64
    assert got[a].startswith("220 ") and got[b].startswith("220 "), got
    assert got[c].startswith("421 4.7.0"), got  # a third address, same /64
    assert got[V6_OTHER_64].startswith("220 "), got
    assert got["again"].startswith("220 "), got
    # the HTTP server's per-address cap counts the /64 too
    assert [got["http"][x] for x in V6_SAME_64 + [V6_OTHER_64]] == [
        "open", "open", "closed", "open"], got
    # the brute-force counter of the /64 refuses its other addresses
    assert got["auth"] == [535, 535, 454, 235], got


def test_ipv6_prefix_128_counts_every_address_alone(tmp_path):
    got = _run_in_netns(tmp_path / "postern", 128)
    assert all(v.startswith("220 ") for k, v in got.items() if k not in ("auth", "http")), got
    assert set(got["http"].values()) == {"open"}, got
    assert got["auth"] == [535, 535, 235, 235], got


# A 6to4 address (RFC 3056) is 2002:V4ADDR:SUBNET:...: whoever holds one
# IPv4 address holds the whole 2002:V4ADDR::/48, 65536 /64s. Counted per
# /64, one IPv4 host had 65536 times the per-address limits.

SIXTOFOUR_SAME_48 = ["2002:c000:201:1::a", "2002:c000:201:2::a", "2002:c000:201:3::a"]
SIXTOFOUR_OTHER_48 = "2002:c000:202:1::a"


def _sixtofour_scenario(root):
    import json
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for a in [V6_SERVER] + SIXTOFOUR_SAME_48 + [SIXTOFOUR_OTHER_48]:
        subprocess.run(["ip", "-6", "addr", "add", a + "/64", "dev", "lo", "nodad"], check=True)
    srv = Server(root, limits__connections_per_ip=2)
    provision_documentation_example(srv)
    port = srv.ports["smtp"]
    srv.conf_set("listen", "smtp", "[%s]:%d" % (V6_SERVER, port))
    srv.start()
    out, socks = {}, []
    try:
        for src in SIXTOFOUR_SAME_48 + [SIXTOFOUR_OTHER_48]:
            s, line = _greeting_from(src, port)
            socks.append(s)
            out[src] = line
    finally:
        for s in socks:
            s.close()
        srv.stop()
    print(json.dumps(out))


def test_the_64s_of_one_6to4_48_are_one_client(tmp_path):
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode != 0:
        pytest.skip("no network namespaces here (unshare -rn)")
    import json
    p = subprocess.run(["unshare", "-rn", sys.executable, "-c",
                        "import test_smtp_hostile as t; t._sixtofour_scenario(%r)"
                        % str(tmp_path / "postern")],
                       cwd=HERE, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stdout.decode()[-3000:] + p.stderr.decode()[-3000:]
    got = json.loads(p.stdout.decode().strip().splitlines()[-1])
    a, b, c = SIXTOFOUR_SAME_48
    assert got[a].startswith("220 ") and got[b].startswith("220 "), got
    assert got[c].startswith("421 4.7.0"), got  # a third /64 of the same IPv4
    assert got[SIXTOFOUR_OTHER_48].startswith("220 "), got
