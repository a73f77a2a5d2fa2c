"""Submitting mail with real clients: smtplib, swaks, and SMTP by hand.

What is checked is what lands in the queue: the envelope (`postern queue
list|show`, and the spool file itself), the trace header, the fields
added to a message that lacks them, BDAT chunks byte for byte, and the
DSN parameters.
"""
import json
import re
import resource
import socket
import ssl
import subprocess

import pytest

from fixtures_smtp import (HOSTNAME, POSTERN_BIN, b64, env_for_postern, is_asan_build,
                           make_message, queue_id, split_header)

# every test on the embedded store and again on PostgreSQL (conftest)
STORE_BACKENDS = ("sqlite", "postgresql")


def sendmail_via_smtplib(srv, kind, mech, frm="alice@example.org", to=("bob@remote.test",),
                         msg=None):
    """smtplib: TLS, login with mech, MAIL/RCPT/DATA; (queue id, TLS version)."""
    s = srv.smtplib(kind)
    assert s.has_extn("auth"), "AUTH not offered after TLS on %s" % kind
    if mech == "PLAIN":
        s.user, s.password = "alice@example.org", srv.alice_pw
        code, resp = s.auth("PLAIN", s.auth_plain)
    else:
        s.user, s.password = "alice@example.org", srv.alice_pw
        code, resp = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    assert code == 235, resp
    msg = msg or make_message(frm=frm, to=to[0], subject="via %s %s" % (kind, mech))
    code, resp = s.mail(frm)
    assert code == 250, resp
    for t in to:
        code, resp = s.rcpt(t)
        assert code == 250, resp
    code, resp = s.data(msg)
    assert code == 250, resp
    version = s.sock.version()
    s.quit()
    return queue_id(resp.decode()), version


@pytest.mark.parametrize("kind", ["submission", "submissions"])
@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_smtplib_submits_a_message_over_tls_with_each_mechanism(smtp_server, kind, mech):
    qid, version = sendmail_via_smtplib(smtp_server, kind, mech)
    assert version in ("TLSv1.2", "TLSv1.3")
    env = smtp_server.spool(qid).env
    assert env["id"] == qid
    assert env["from"] == "<alice@example.org>"
    assert env["rcpt"] == ["<bob@remote.test> notify=- orcpt=-"]
    assert env["auth"] == "alice@example.org"
    assert env["ip"] == "127.0.0.1"

    sp = smtp_server.spool(qid)
    fields, _ = split_header(sp.message)
    assert fields[0][0] == "received", "the first field is not Received: %r" % fields[0][1]
    received = fields[0][1].decode()
    assert re.search(r"\bwith ESMTPSA id %s\b" % qid, received), received
    assert "by %s" % HOSTNAME in received
    assert "version=%s " % version in received, received
    assert "from client.example.test ([127.0.0.1])" in received
    assert "for <bob@remote.test>" in received


def test_smtplib_login_method_with_the_user_name_as_initial_response_works(smtp_server):
    s = smtp_server.smtplib("submission")
    s.user, s.password = "alice@example.org", smtp_server.alice_pw
    code, resp = s.auth("LOGIN", s.auth_login, initial_response_ok=True)
    assert code == 235, resp
    s.quit()


def test_smtplib_login_and_sendmail_put_the_message_in_the_queue(smtp_server_factory):
    # a server of its own: `queue list` reads every queued file
    srv = smtp_server_factory()
    s = srv.smtplib("submissions")
    s.login("alice@example.org", srv.alice_pw)
    refused = s.sendmail("alice@example.org", ["bob@remote.test", "carol@remote.test"],
                         make_message(subject="sendmail"))
    assert refused == {}
    s.quit()
    listed = srv.cli("queue", "list")["queue"]
    assert len(listed) == 1, listed
    m = listed[0]
    qid = m["id"]
    assert m["from"] == "alice@example.org"
    assert m["rcpts"] == ["bob@remote.test", "carol@remote.test"]
    assert m["auth"] == "alice@example.org"
    assert m["ip"] == "127.0.0.1"
    assert m["size"] == len(srv.spool(qid).message)
    shown = srv.cli("queue", "show", qid)
    assert shown["from"] == "alice@example.org"
    assert shown["rcpts"] == ["bob@remote.test", "carol@remote.test"]
    assert shown["message"].startswith("Received: from client.example.test ([127.0.0.1])")
    assert "Subject: sendmail\r\n" in shown["message"]
    env = srv.spool(qid).env
    assert env["rcpt"] == ["<bob@remote.test> notify=- orcpt=-",
                           "<carol@remote.test> notify=- orcpt=-"]


def test_message_id_and_date_are_added_when_missing(smtp_server):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    r = c.mail("alice@example.org", "bob@remote.test",
               make_message(subject="bare", message_id=False, date=False))
    assert r.code == 250, r
    qid = queue_id(r)
    fields, _ = split_header(smtp_server.spool(qid).message)
    names = [n for n, _ in fields]
    assert names.count("message-id") == 1 and names.count("date") == 1, names
    msgid = dict(fields)["message-id"].decode()
    assert re.fullmatch(r"Message-ID: <%s@%s>" % (qid, re.escape(HOSTNAME)), msgid), msgid
    date = dict(fields)["date"].decode()
    assert re.fullmatch(r"Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", date), date


def test_message_id_and_date_are_kept_when_present(smtp_server):
    msg = make_message(subject="dressed", extra=())
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    r = c.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 250, r
    stored = smtp_server.spool(queue_id(r)).message
    fields, _ = split_header(stored)
    names = [n for n, _ in fields]
    assert names.count("message-id") == 1 and names.count("date") == 1, names
    # the message follows the trace field unchanged
    assert stored.endswith(msg)
    assert stored[:-len(msg)].startswith(b"Received: ")
    assert b"\r\nMessage-ID:" not in stored[:-len(msg)]


# --- swaks ---------------------------------------------------------------


def swaks(srv, *args, kind="submission"):
    base = ["swaks", "--server", "127.0.0.1:%d" % srv.ports[kind], "--helo", "swaks.example.test",
            "--from", "alice@example.org", "--to", "bob@remote.test",
            "--header", "From: alice@example.org", "--timeout", "20"]
    if kind == "submission":
        base.append("-tls")
    elif kind == "submissions":
        base.append("--tls-on-connect")
    p = subprocess.run(base + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("kind", ["submission", "submissions"])
def test_swaks_authenticates_and_submits(smtp_server, mech, kind):
    rc, out = swaks(smtp_server, "--auth", mech, "--auth-user", "alice@example.org",
                    "--auth-password", smtp_server.alice_pw, kind=kind)
    assert rc == 0, out
    assert "235 2.7.0" in out
    qid = queue_id(out)
    assert qid in smtp_server.queue_ids()
    assert smtp_server.spool(qid).env["auth"] == "alice@example.org"


def test_swaks_with_a_wrong_password_fails_authentication(smtp_server):
    rc, out = swaks(smtp_server, "--auth", "PLAIN", "--auth-user", "alice@example.org",
                    "--auth-password", "not-the-password")
    assert rc != 0, out
    assert "535 5.7.8" in out
    assert "queued as" not in out


def test_swaks_pipelines_the_transaction(smtp_server):
    rc, out = swaks(smtp_server, "--pipeline", "--auth", "PLAIN", "--auth-user",
                    "alice@example.org", "--auth-password", smtp_server.alice_pw)
    assert rc == 0, out
    assert "250-PIPELINING" in out
    qid = queue_id(out)
    assert qid in smtp_server.queue_ids()


def test_a_whole_transaction_in_one_packet_gets_every_reply_in_order(smtp_server):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    msg = make_message(subject="one packet")
    c.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@remote.test>\r\n"
           "RCPT TO:<nobody@[127.0.0.1]>\r\nRCPT TO:<carol@remote.test>\r\nDATA\r\n")
    codes = [c.reply().code for _ in range(5)]
    assert codes == [250, 250, 553, 250, 354]
    c.send(b"".join([msg.replace(b"\r\n.", b"\r\n.."), b"\r\n.\r\nNOOP\r\nQUIT\r\n"]))
    r = c.reply()
    assert r.code == 250 and r.enh == "2.0.0", r
    assert c.reply().code == 250
    assert c.reply().code == 221
    env = smtp_server.spool(queue_id(r)).env
    assert [l.split(" ")[0] for l in env["rcpt"]] == ["<bob@remote.test>", "<carol@remote.test>"]


# --- DATA details, BDAT ------------------------------------------------------


def test_dot_stuffed_lines_are_stored_unstuffed(smtp_server):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 250
    assert c.cmd("DATA").code == 354
    head = make_message(subject="dots", body="")
    c.send(head + b"..leading dot\r\n...\r\n..\r\nlast line\r\n.\r\n")
    r = c.reply()
    assert r.code == 250, r
    stored = smtp_server.spool(queue_id(r)).message
    assert stored.endswith(head + b".leading dot\r\n..\r\n.\r\nlast line\r\n"), stored


def test_smtplib_dot_stuffs_and_the_server_undoes_it(smtp_server):
    s = smtp_server.smtplib("submission")
    s.login("alice@example.org", smtp_server.alice_pw)
    msg = make_message(subject="smtplib dots", body=".hidden\r\n.\r\nend\r\n")
    code, resp = s.mail("alice@example.org")
    s.rcpt("bob@remote.test")
    code, resp = s.data(msg)
    assert code == 250, resp
    s.quit()
    assert smtp_server.spool(queue_id(resp.decode())).message.endswith(msg)


def test_bdat_in_two_chunks_is_stored_byte_exact(smtp_server):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    ehlo = c.ehlo()
    assert "CHUNKING" in c.extensions(ehlo)
    msg = make_message(subject="chunks", body="first line\r\n.a line with a dot\r\n"
                       "..two dots\r\n8bit: caf\u00e9\r\nend\r\n")
    assert c.cmd("MAIL FROM:<alice@example.org> BODY=8BITMIME").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 250
    cut = 70  # inside a header line: chunks need not end at a line end
    c.send(b"BDAT %d\r\n" % cut + msg[:cut])
    r = c.reply()
    assert r.code == 250 and "%d octets" % cut in r.text, r
    c.send(b"BDAT %d LAST\r\n" % (len(msg) - cut) + msg[cut:])
    r = c.reply()
    assert r.code == 250 and r.enh == "2.0.0", r
    sp = smtp_server.spool(queue_id(r))
    assert sp.env["body"] == "8BITMIME"
    fields, _ = split_header(sp.message)
    received = fields[0][1]
    assert received.startswith(b"Received: ")
    assert sp.message == received + b"\r\n" + msg
    assert int(sp.env["size"]) == len(sp.message)


def test_bdat_holding_a_bare_line_feed_is_refused(smtp_server):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    before = smtp_server.queue_ids()
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 250
    msg = make_message(subject="bare lf in bdat", body="one\nMAIL FROM:<x@y.test>\r\n")
    c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
    r = c.reply()
    assert r.code == 554 and r.enh == "5.6.0", r
    assert c.cmd("NOOP").code == 250
    assert smtp_server.queue_ids() == before


def test_dsn_parameters_are_accepted_and_kept_in_the_envelope(smtp_server):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    assert "DSN" in c.extensions(c.ehlo())
    r = c.cmd("MAIL FROM:<alice@example.org> RET=HDRS ENVID=x")
    assert r.code == 250, r
    r = c.cmd("RCPT TO:<bob@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y")
    assert r.code == 250, r
    r = c.cmd("RCPT TO:<carol@remote.test> NOTIFY=never")
    assert r.code == 250, r
    r = c.data(make_message(subject="dsn"))
    assert r.code == 250, r
    env = smtp_server.spool(queue_id(r)).env
    assert env["ret"] == "HDRS"
    assert env["envid"] == "x"
    assert env["rcpt"] == ["<bob@remote.test> notify=SUCCESS,FAILURE orcpt=rfc822;x@y",
                           "<carol@remote.test> notify=NEVER orcpt=-"]


@pytest.mark.parametrize("param", ["NOTIFY=NEVER,SUCCESS", "NOTIFY=SOMETIMES", "ORCPT=x@y",
                                   "FOO=bar"])
def test_bad_rcpt_parameters_are_refused_with_555(smtp_server, param):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    r = c.cmd("RCPT TO:<bob@remote.test> " + param)
    assert r.code == 555 and r.enh == "5.5.4", r


# --- the small commands ---------------------------------------------------------


def test_vrfy_answers_252_whether_or_not_the_user_exists(smtp_server):
    for kind in ("smtp", "submission"):
        c = smtp_server.client(kind)
        c.ehlo()
        if kind == "submission":
            c.starttls()
            c.ehlo()
        known = c.cmd("VRFY alice@example.org")
        alias = c.cmd("VRFY alice_lastname")
        unknown = c.cmd("VRFY nobody-at-all@example.org")
        assert known.code == 252, known
        assert known == alias == unknown


def test_help_noop_rset_and_quit_work(smtp_server):
    c = smtp_server.client("smtp")
    r = c.cmd("HELP")
    assert r.code == 214 and "EHLO" in r.text, r
    assert c.cmd("NOOP").code == 250
    c.ehlo()
    assert c.cmd("MAIL FROM:<>").code == 250
    # RSET ends the transaction: RCPT needs a new MAIL
    r = c.cmd("RSET")
    assert r.code == 250 and r.enh == "2.0.0", r
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 503
    assert c.cmd("MAIL FROM:<>").code == 250
    r = c.cmd("QUIT")
    assert r.code == 221, r
    assert c.closed_by_server(5)


def test_ehlo_on_submission_before_and_after_tls(smtp_server):
    c = smtp_server.client("submission")
    before = c.extensions(c.ehlo())
    assert "STARTTLS" in before
    assert "AUTH" not in before
    c.starttls()
    # RFC 3207: the session starts over, EHLO first
    r = c.cmd("AUTH PLAIN " + b64("\0alice@example.org\0x"))
    assert r.code == 503, r
    after = c.extensions(c.ehlo())
    assert "STARTTLS" not in after
    assert "AUTH" in after
    for ext in ("PIPELINING", "SIZE", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "CHUNKING"):
        assert ext in after


def test_auth_is_not_offered_on_the_smtp_listener(smtp_server):
    c = smtp_server.client("smtp")
    assert "AUTH" not in c.extensions(c.ehlo())
    c.starttls()
    assert "AUTH" not in c.extensions(c.ehlo())
    r = c.auth_plain("alice@example.org", smtp_server.alice_pw)
    assert r.code == 503, r


def test_the_certificate_verifies_for_the_host_name(smtp_server):
    ctx = ssl.create_default_context(cafile=str(smtp_server.cert))
    raw = socket.create_connection(("127.0.0.1", smtp_server.ports["submissions"]), timeout=15)
    with ctx.wrap_socket(raw, server_hostname=HOSTNAME) as tls:
        got = b""
        while b"\r\n" not in got:
            chunk = tls.recv(100)
            assert chunk, "closed before the greeting"
            got += chunk
        assert got.startswith(b"220 %s " % HOSTNAME.encode()), got


# --- what the queue commands read back -------------------------------------------------


def test_a_recipient_with_an_angle_bracket_even_quoted_is_refused(smtp_server):
    """The spool writes addresses between < and >: a quoted local part
    holding one is refused at RCPT, never read back as another address."""
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    r = c.cmd("MAIL FROM:<alice@example.org>")
    assert r.code == 250, r
    for rcpt in ['"odd> name"@remote.test',
                 '"x\\"@evil.test> notify=- orcpt=- y"@remote.test']:
        r = c.cmd("RCPT TO:<%s>" % rcpt)
        assert r.code == 501, (rcpt, r)
    r = c.cmd("RCPT TO:<\"odd name\"@remote.test>")
    assert r.code == 250, r
    r = c.data(make_message(subject="quoted rcpt"))
    qid = queue_id(r)
    assert smtp_server.cli("queue", "show", qid)["rcpts"] == ['"odd name"@remote.test']



def test_queue_list_and_show_work_with_limited_memory(smtp_server_factory):
    """Reading a queued file must not need gigabytes: with allocations
    limited to 1 GiB, `queue list` and `queue show` still find the message."""
    srv = smtp_server_factory()
    c = srv.session("alice@example.org", srv.alice_pw)
    r = c.mail("alice@example.org", "bob@remote.test", make_message(subject="small"))
    qid = queue_id(r)
    if is_asan_build():
        env = {"ASAN_OPTIONS": "detect_leaks=0:allocator_may_return_null=1:"
                               "max_allocation_size_mb=1024"}
        limit = None
    else:
        env, limit = {}, 1 << 30

    def run(*args):
        def preexec():
            if limit:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        p = subprocess.run([POSTERN_BIN, "-c", str(srv.conf)] + list(args) + ["--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=srv.cwd,
                           env=dict(env_for_postern(), **env), preexec_fn=preexec, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    rc, out, err = run("queue", "list")
    listed = [m["id"] for m in json.loads(out)["queue"]] if rc == 0 else []
    rc2, out2, err2 = run("queue", "show", qid)
    problems = []
    if listed != [qid]:
        problems.append("queue list: rc %d, ids %s, stderr %r" % (rc, listed, err[-300:]))
    if rc2 != 0:
        problems.append("queue show %s: rc %d, stderr %r" % (qid, rc2, err2[-300:]))
    assert not problems, "; ".join(problems)
