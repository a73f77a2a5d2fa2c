"""
Temporary failures and the queue: retries after a 451 (of the whole
message or of one recipient), and `postern queue hold|release|flush|delete`
while the server runs.
"""
import re
import subprocess
import time

import pytest

from fixtures_delivery import attempts, bounces, spool_files
from fixtures_smtp import POSTERN_BIN, make_message, queue_id

ZONE = ("remote.test. MX 10 mx1.remote.test.", "mx1.remote.test. A 127.0.0.2")


@pytest.mark.parametrize("where", ["rcpt", "data"])
def test_a_451_from_the_mx_is_retried_and_the_message_delivered_once(delivery, where):
    kw = {"tempfail_rcpt": 1} if where == "rcpt" else {"tempfail_data": 1}
    mx = delivery.mx("127.0.0.2", **kw)
    srv = delivery.server()
    delivery.dns.set(*ZONE)
    qid = delivery.submit(srv, "bob@remote.test", make_message(subject="retry " + where))

    got = mx.wait(1, timeout=30)[0]
    srv.wait_log(r"queue\.done queue=%s" % qid)
    assert got.rcpt_tos == ["bob@remote.test"]
    a = attempts(srv.log(), qid)
    assert [x["result"] for x in a] == ["deferred", "sent"], a
    assert a[0]["reply"].startswith("451 4.3.0"), a[0]
    assert a[1]["reply"].startswith("250"), a[1]
    assert len(mx.received) == 1
    assert bounces(srv.log()) == []
    assert spool_files(srv) == []


def test_a_recipient_deferred_beside_a_delivered_one_is_retried_alone(delivery):
    mx = delivery.mx("127.0.0.2", tempfail_addr={"carol@remote.test": 1})
    srv = delivery.server()
    delivery.dns.set(*ZONE)
    qid = delivery.submit(srv, ["bob@remote.test", "carol@remote.test"],
                          make_message(subject="half now, half later"))
    mx.wait(2, timeout=30)
    srv.wait_log(r"queue\.done queue=%s" % qid)
    # bob got it once, in the first attempt; carol alone in the retry
    assert [d.rcpt_tos for d in mx.received] == [["bob@remote.test"], ["carol@remote.test"]]
    a = attempts(srv.log(), qid)
    assert [(x["to"], x["result"]) for x in a] == [
        ("bob@remote.test", "sent"), ("carol@remote.test", "deferred"),
        ("carol@remote.test", "sent")], a
    assert bounces(srv.log()) == []
    assert spool_files(srv) == []


def test_queue_hold_keeps_a_message_back_release_delivers_it_and_delete_removes_one(
        delivery):
    # no automatic retry within the test: an attempt starts only when a
    # `postern queue` command signals the server (each one flushes)
    srv = delivery.server(delivery__retry_first="1h", delivery__retry_max_interval="1h")
    delivery.dns.set(*ZONE)
    kept = delivery.submit(srv, "bob@remote.test", make_message(subject="held"))
    doomed = delivery.submit(srv, "carol@remote.test", make_message(subject="deleted"))
    # nothing listens on the MX yet: both deferred
    for qid in (kept, doomed):
        srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, timeout=20)
    time.sleep(0.3)  # both attempts are over (the log line comes just before)

    # hold: the flush it causes tries doomed again, not kept
    assert "hold %s: done" % kept in srv.cli("queue", "hold", kept, json=False)
    srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % doomed, count=2, timeout=20)
    time.sleep(0.3)

    # delete: gone from the spool, and the server forgets it
    assert "delete %s: done" % doomed in srv.cli("queue", "delete", doomed, json=False)
    srv.wait_log(r"queue\.drop queue=%s" % doomed, timeout=20)
    # (its .state holds the notes of its deferred attempt, for queue show)
    assert sorted(spool_files(srv)) == sorted([kept, kept + ".hold", kept + ".state"])
    listing = srv.cli("queue", "list", json=False)
    assert re.search(r"(?m)^%s \(held\) .*<alice@example.org> bob@remote.test$" % kept,
                     listing), listing
    assert doomed not in listing and "1 message(s)" in listing

    # the MX is up now; a flush asks for an attempt of everything, but
    # the held message stays
    mx = delivery.mx("127.0.0.2")
    srv.cli("queue", "flush", json=False)
    time.sleep(2)  # time for a (wrong) delivery to show
    assert mx.received == [] and mx.events == [], "a held message was delivered"
    assert len(attempts(srv.log(), kept)) == 1  # only the first, deferred
    assert [m["held"] for m in srv.cli("queue", "list")["queue"]] == [True]

    # release, flush: delivered
    srv.cli("queue", "release", kept, json=False)
    srv.cli("queue", "flush", json=False)
    got = mx.wait(1, timeout=20)[0]
    assert got.rcpt_tos == ["bob@remote.test"]
    srv.wait_log(r"queue\.done queue=%s" % kept)
    assert [x["result"] for x in attempts(srv.log(), kept)] == ["deferred", "sent"]
    assert [x["result"] for x in attempts(srv.log(), doomed)] == ["deferred", "deferred"]
    assert len(mx.received) == 1 and mx.for_rcpt("carol@remote.test") == []
    assert srv.cli("queue", "list")["queue"] == []
    assert spool_files(srv) == []
    assert bounces(srv.log()) == []


def test_queue_flush_signals_the_running_server_never_a_process_a_pid_file_names(
        smtp_server_factory):
    # no automatic retry within the test: an attempt after the first one
    # means the server heard the flush
    srv = smtp_server_factory(start=False,
                              delivery__retry_first="1h", delivery__retry_max_interval="1h")
    pidfile = srv.data / "postern.pid"
    victim = subprocess.Popen(["sleep", "60"])
    try:
        # a stale pid file (a crash) naming another process: not signalled
        pidfile.write_text("%d\n" % victim.pid)
        out = srv.cli("queue", "flush", json=False)
        assert "not running" in out, out
        assert srv.cli("queue", "flush")["running"] is False
        time.sleep(0.2)
        assert victim.poll() is None, "queue flush signalled the pid a stale file names"

        srv.start()
        qid = queue_id(srv.session("alice@example.org", srv.passwords["alice@example.org"])
                       .mail("alice@example.org", "bob@remote.test", make_message()))
        srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, timeout=20)
        assert srv.cli("queue", "flush")["running"] is True
        srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, count=2, timeout=20)
        # the server's user rewrites the file for root's next flush: the
        # flush still reaches the server, and only the server
        pidfile.write_text("%d\n" % victim.pid)
        assert srv.cli("queue", "flush")["running"] is True
        srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, count=3, timeout=20)
        time.sleep(0.2)
        assert victim.poll() is None, "queue flush signalled the pid the file names"
        assert srv.proc.poll() is None
        # and a second server on the same data directory does not start
        other = subprocess.run([POSTERN_BIN, "-c", str(srv.conf), "serve"],
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                               env=srv._serve_env())
        assert other.returncode != 0 and b"already runs" in other.stderr, other.stderr[-2000:]
    finally:
        victim.kill()
        victim.wait()
