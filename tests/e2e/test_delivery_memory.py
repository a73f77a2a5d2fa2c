"""
What one delivery costs in memory: a small message must not make the
server map gigabytes. (Found here: spool_load() read each spool file with
str_read_file(path, 1 << 31), which allocated the maximum, 2 GiB + 1, per
load; where that allocation failed, under RLIMIT_AS or strict overcommit,
the message was logged "queue.drop ... not in the spool" and never tried
again while it stayed in the spool. Fixed since: reads are sized by the
file.)
"""
import re

from fixtures_smtp import make_message

ZONE = ("remote.test. MX 10 mx1.remote.test.", "mx1.remote.test. A 127.0.0.2")


def vm_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"(?m)^%s:\s+(\d+) kB" % field, f.read()).group(1))


def test_delivering_a_small_message_does_not_map_gigabytes(delivery):
    mx = delivery.mx("127.0.0.2")
    srv = delivery.server()
    delivery.dns.set(*ZONE)
    pid = srv.proc.pid
    before = vm_kib(pid, "VmPeak")
    qid = delivery.submit(srv, "bob@remote.test", make_message(subject="small"))
    mx.wait(1, timeout=20)
    srv.wait_log(r"queue\.done queue=%s" % qid)
    grown = vm_kib(pid, "VmPeak") - before
    assert grown < 1024 * 1024, "VmPeak grew by %d MiB for a %d-byte message" % (
        grown // 1024, len(make_message(subject="small")))
