"""The server as a process: an acknowledged message survives kill -9,
connection limits hold per client address, SIGHUP applies a new
configuration to new sessions, SIGTERM lets a transaction finish.
"""
import os
import resource
import signal
import socket
import threading
import time

import pytest

from fixtures_smtp import (ConnectionClosed, SmtpClient, is_asan_build, make_message, queue_id)


def read_spool_file(srv, qid):
    raw = (srv.queue_dir / qid).read_bytes()
    head, sep, message = raw.partition(b"\n\n")
    assert sep, "%s has no blank line after its envelope" % qid
    sizes = [l for l in head.split(b"\n") if l.startswith(b"size ")]
    assert len(sizes) == 1, head
    return int(sizes[0][5:]), message


def test_every_acknowledged_message_survives_kill_9(smtp_server_factory):
    srv = smtp_server_factory()
    acked, errors = [], []
    lock = threading.Lock()
    stop = threading.Event()     # no new message after this
    killing = threading.Event()  # from here on a broken connection is expected
    deadline = time.monotonic() + 30
    budget = [200]  # messages in all

    def sender(n):
        try:
            c = srv.session("alice@example.org", srv.alice_pw,
                            kind="submissions" if n % 2 else "submission")
            i = 0
            while not stop.is_set() and time.monotonic() < deadline:
                with lock:
                    if budget[0] == 0:
                        return
                    budget[0] -= 1
                i += 1
                body = ("thread %d message %d\r\n" % (n, i)) + ("x" * 70 + "\r\n") * (i % 40)
                r = c.mail("alice@example.org", "bob@remote.test",
                           make_message(subject="load %d-%d" % (n, i), body=body))
                assert r.code == 250, r
                with lock:
                    acked.append(queue_id(r))
        except Exception as e:
            if not (killing.is_set() and isinstance(e, (ConnectionClosed, OSError))):
                errors.append(repr(e))

    threads = [threading.Thread(target=sender, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    # kill in the middle of the load: after some acknowledgements
    while time.monotonic() < deadline and len(acked) < 40 and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    assert not errors, errors
    assert any(t.is_alive() for t in threads), "the load ended before the kill"
    killing.set()
    srv.kill9()
    stop.set()
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert len(acked) >= 40
    ids = set(acked)
    assert len(ids) == len(acked), "a queue id was given twice"

    srv.start()
    assert list(srv.tmp_dir.iterdir()) == [], "spool/tmp not emptied at start"
    queued = srv.queue_ids()
    missing = ids - queued
    assert not missing, "acknowledged but lost: %s" % sorted(missing)
    for qid in sorted(ids):
        size, message = read_spool_file(srv, qid)
        assert size == len(message), "%s is torn: size %d, %d bytes" % (qid, size, len(message))
        assert message.endswith(b"\r\n"), qid
    # and the restarted server works
    c = srv.session("alice@example.org", srv.alice_pw)
    r = c.mail("alice@example.org", "bob@remote.test", make_message(subject="after restart"))
    assert r.code == 250, r


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_out_of_file_descriptors_the_server_pauses_accepting_and_recovers(smtp_server_factory):
    srv = smtp_server_factory()
    pid = srv.proc.pid
    open_now = len(os.listdir("/proc/%d/fd" % pid))
    # a few descriptors to spare, then EMFILE
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (open_now + 4, open_now + 4))
    socks = [socket.create_connection(("127.0.0.1", srv.ports["smtp"]), timeout=5)
             for _ in range(12)]
    try:
        srv.wait_log(r"smtp\.accept error=.*paused", timeout=10)
        # the listener is paused, not spinning on accept()
        cpu0 = proc_cpu_seconds(pid)
        time.sleep(2)
        assert proc_cpu_seconds(pid) - cpu0 < 0.5
    finally:
        for s in socks:
            s.close()
    # the clients' descriptors are back: new sessions are greeted again
    deadline = time.monotonic() + 10
    while True:
        c = SmtpClient(srv.ports["submission"], read_greeting=False)
        r = c.reply()
        if r.code == 220 or time.monotonic() > deadline:
            break
        c.close()
        time.sleep(0.2)
    assert r.code == 220, r
    assert c.ehlo().code == 250


def test_a_third_connection_from_one_address_gets_421_when_two_are_allowed(smtp_server_factory):
    srv = smtp_server_factory(limits__connections_per_ip=2)
    a = srv.client("submission")
    b = srv.client("smtp")
    third = SmtpClient(srv.ports["submission"], read_greeting=False)
    r = third.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    assert third.closed_by_server(5)
    # the two still work
    assert a.cmd("NOOP").code == 250
    assert b.cmd("NOOP").code == 250
    # one leaves: a new one is accepted
    assert a.cmd("QUIT").code == 221
    assert a.closed_by_server(5)
    a.close()
    deadline = time.monotonic() + 5
    while True:
        c = SmtpClient(srv.ports["submission"], read_greeting=False)
        r = c.reply()
        if r.code == 220 or time.monotonic() > deadline:
            break
        c.close()
        time.sleep(0.05)
    assert r.code == 220, r
    c.ehlo()
    # on the implicit-TLS port the refusal is a close, no plain text
    d = SmtpClient(srv.ports["submissions"], read_greeting=False)
    assert d.closed_by_server(5)
    assert d.buf == b""


def test_sighup_applies_a_new_recipient_limit_to_new_sessions(smtp_server_factory):
    # no leak check in this one: the reload's leak has its own test below
    srv = smtp_server_factory(limits__recipients_per_message=5,
                              serve_env={"ASAN_OPTIONS": "detect_leaks=0"})
    c = srv.session("alice@example.org", srv.alice_pw)
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    for i in range(5):
        assert c.cmd("RCPT TO:<r%d@remote.test>" % i).code == 250
    assert c.cmd("RCPT TO:<r5@remote.test>").code == 452
    c.cmd("QUIT")

    srv.conf_set("limits", "recipients_per_message", "2")
    srv.signal(signal.SIGHUP)
    srv.wait_log(r"server\.reload result=ok")
    c = srv.session("alice@example.org", srv.alice_pw)
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert c.cmd("RCPT TO:<r0@remote.test>").code == 250
    assert c.cmd("RCPT TO:<r1@remote.test>").code == 250
    r = c.cmd("RCPT TO:<r2@remote.test>")
    assert r.code == 452 and r.enh == "4.5.3", r
    r = c.data(make_message(subject="after reload"))
    assert r.code == 250, r


@pytest.mark.skipif(not is_asan_build(), reason="needs the AddressSanitizer build")
def test_a_server_that_reloaded_its_config_exits_without_a_leak(smtp_server_factory):
    srv = smtp_server_factory(serve_env={"ASAN_OPTIONS": "detect_leaks=1"})
    srv.signal(signal.SIGHUP)
    srv.wait_log(r"server\.reload result=ok")
    srv.stop()  # fails on a sanitizer report or a non-zero exit


def test_sighup_with_a_broken_config_keeps_the_old_one(smtp_server_factory):
    srv = smtp_server_factory(limits__recipients_per_message=2)
    srv.conf_set("limits", "recipients_per_message", "lots")
    srv.signal(signal.SIGHUP)
    srv.wait_log(r"server\.reload error=")
    c = srv.session("alice@example.org", srv.alice_pw)
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert c.cmd("RCPT TO:<r0@remote.test>").code == 250
    assert c.cmd("RCPT TO:<r1@remote.test>").code == 250
    assert c.cmd("RCPT TO:<r2@remote.test>").code == 452
    srv.conf_set("limits", "recipients_per_message", "100")  # for a clean stop


def test_sigterm_lets_a_message_in_progress_finish_and_tells_idle_clients(smtp_server_factory):
    srv = smtp_server_factory()
    idle = srv.client("smtp")
    between = srv.session("alice@example.org", srv.alice_pw)
    assert between.cmd("MAIL FROM:<alice@example.org>").code == 250
    busy = srv.session("alice@example.org", srv.alice_pw)
    assert busy.cmd("MAIL FROM:<alice@example.org>").code == 250
    assert busy.cmd("RCPT TO:<bob@remote.test>").code == 250
    assert busy.cmd("DATA").code == 354
    msg = make_message(subject="during shutdown")
    busy.send(msg[:40])
    srv.signal(signal.SIGTERM)
    r = idle.reply()
    assert r.code == 421 and r.enh == "4.3.2", r
    assert idle.closed_by_server(5)
    # every loop has stopped once no listener accepts any more
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", srv.ports["smtp"]), timeout=1).close()
        except OSError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the listeners still accept connections 10 s after SIGTERM")
    # a transaction between commands: its next command gets 421
    r = between.cmd("RCPT TO:<bob@remote.test>")
    assert r.code == 421, r
    # the message being sent is taken
    busy.send(msg[40:] + b".\r\n")
    r = busy.reply()
    assert r.code == 250, r
    qid = queue_id(r)
    r = busy.cmd("NOOP")
    assert r.code == 421, r
    assert srv.proc.wait(10) == 0
    assert qid in srv.queue_ids()
    srv.stop()  # checks the log for sanitizer reports


def test_an_idle_client_is_closed_after_command_timeout_and_its_slot_is_freed(
        smtp_server_factory):
    srv = smtp_server_factory(limits__command_timeout="1", limits__connections_per_ip=2)
    a = srv.client("smtp")
    b = srv.client("submission")
    b.ehlo()
    t0 = time.monotonic()
    r = a.reply()
    assert r.code == 421 and r.enh == "4.4.2", r
    assert 0.8 <= time.monotonic() - t0 <= 3
    assert a.closed_by_server(5)
    r = b.reply()
    assert r.code == 421, r
    # failed TLS handshakes free their slots too
    for _ in range(3):
        c = srv.client("smtp")
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        c.send(b"this is not a TLS ClientHello\r\n" * 4)
        assert c.closed_by_server(5)
        c.close()
        raw = SmtpClient(srv.ports["submissions"], read_greeting=False)
        raw.send(b"EHLO plain.example.test\r\n")
        assert raw.closed_by_server(5)
        raw.close()
    time.sleep(0.2)
    two = [srv.client("smtp"), srv.client("submissions")]
    assert [c.cmd("NOOP").code for c in two] == [250, 250]
