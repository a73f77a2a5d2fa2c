"""
Stopping and starting the server: the queue survives a restart, and a
delivery in progress at SIGTERM is abandoned cleanly and done after the
next start.
"""
import re
import signal

from fixtures_delivery import attempts, spool_files, wait_until
from fixtures_smtp import make_message

ZONE = ("remote.test. MX 10 mx1.remote.test.", "mx1.remote.test. A 127.0.0.2")


def test_a_deferred_message_is_delivered_after_a_restart(delivery):
    srv = delivery.server()
    delivery.dns.set(*ZONE)
    # nothing listens on the MX yet: connection refused, deferred
    qid = delivery.submit(srv, "bob@remote.test", make_message(subject="across a restart"))
    srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, timeout=20)
    srv.stop()
    assert qid in srv.queue_ids()
    listed = srv.cli("queue", "list")["queue"]
    assert [(m["id"], m["rcpts"], m["held"]) for m in listed] == [(qid, ["bob@remote.test"], False)]

    mx = delivery.mx("127.0.0.2")
    srv.start()
    assert re.search(r"queue\.start messages=1 ", srv.log())
    got = mx.wait(1, timeout=20)[0]
    assert got.rcpt_tos == ["bob@remote.test"]
    srv.wait_log(r"queue\.done queue=%s" % qid)
    assert [x["result"] for x in attempts(srv.log(), qid)] == ["sent"]
    assert all(x["result"] == "deferred" for x in attempts(srv.logs[0].read_text(), qid))
    assert len(mx.received) == 1
    assert spool_files(srv) == []


def test_a_sigterm_during_a_delivery_exits_cleanly_and_the_message_goes_after_restart(
        delivery):
    """(Found here: qmgr_free() freed a connection's current delivery
    without its arrays, so LeakSanitizer failed every stop during an
    outbound transaction.)"""
    mx = delivery.mx("127.0.0.2", data_delay=30)  # sits on the end of DATA
    srv = delivery.server()
    delivery.dns.set(*ZONE)
    qid = delivery.submit(srv, "bob@remote.test", make_message(subject="interrupted"))
    wait_until(lambda: ("DATA", "waiting") in mx.events, 20, "the message's DATA at the MX")

    proc, srv.proc = srv.proc, None  # stopped here, with the checks spelled out
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(10)
    log = srv.log()
    assert "server.stopped" in log
    assert "LeakSanitizer" not in log and "AddressSanitizer" not in log, \
        log[log.find("=" * 20):][:3000]
    assert rc == 0, log[-3000:]
    # not finished: still in the spool, no attempt recorded
    assert qid in srv.queue_ids()
    assert attempts(log, qid) == []

    mx.data_delay = 0
    srv.start()
    wait_until(lambda: mx.for_rcpt("bob@remote.test"), 20, "the message at the MX")
    srv.wait_log(r"queue\.done queue=%s" % qid)
    assert [x["result"] for x in attempts(srv.log(), qid)] == ["sent"]
    assert spool_files(srv) == []
