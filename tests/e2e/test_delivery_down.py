"""
A destination that refuses connections is marked down: the mail queued
for it meanwhile is deferred without being read or signed, and when a
probe finds it back, everything waiting goes at once (no flush).
"""
from fixtures_delivery import attempts, spool_files, wait_until
from fixtures_smtp import make_message

ZONE = ("remote.test. MX 10 mx1.remote.test.", "mx1.remote.test. A 127.0.0.2")


def test_mail_for_a_destination_that_is_down_waits_unread_and_goes_when_it_is_back(delivery):
    # messages retry in an hour; only the destination's probe (after
    # retry_first for its first failure) can bring them back sooner
    srv = delivery.server(delivery__retry_first="2s", delivery__retry_max_interval="1h")
    delivery.dns.set(*ZONE)
    first = delivery.submit(srv, "bob@remote.test", make_message(subject="first"))
    srv.wait_log(r"queue\.dest_down dest=remote\.test", timeout=20)
    srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % first, timeout=20)
    later = [delivery.submit(srv, "carol@remote.test", make_message(subject="later %d" % i))
             for i in range(3)]
    # the later ones: read once (their destinations unknown until then)
    # and answered by the down destination's last error, no connection
    for qid in later:
        srv.wait_log(r"delivery\.attempt queue=%s .*Connection refused.*result=deferred" % qid,
                     timeout=20)

    mx = delivery.mx("127.0.0.2")
    # the probe (a bare connection) finds it back: all four go
    srv.wait_log(r"queue\.dest_up dest=remote\.test", timeout=30)
    mx.wait(4, timeout=30)
    wait_until(lambda: spool_files(srv) == [], 20, "an empty spool")
    for qid in [first] + later:
        assert attempts(srv.log(), qid)[-1]["result"] == "sent"
