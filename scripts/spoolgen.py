#!/usr/bin/python3
"""spoolgen: fill a spool fast for the queue bench (scripts/bench.sh,
BENCH_PARTS=queue). Copies one real spooled message (TEMPLATE, a file of
data/spool/queue/) N times into DIR under new queue ids of postern's own
scheme (8 hex digits of the arrival time, 12 random), rewriting only the
envelope's id line: the same file format, byte for byte otherwise.

    spoolgen.py TEMPLATE DIR N
"""
import os
import sys
import time


def main():
    template, folder, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(template, "rb") as f:
        data = f.read()
    if not data.startswith(b"POSTERN-SPOOL 1\nid "):
        sys.exit("spoolgen: %s is not a spool file" % template)
    head, rest = data[len(b"POSTERN-SPOOL 1\nid "):], None
    rest = head[head.index(b"\n"):]
    prefix = b"POSTERN-SPOOL 1\nid "
    stamp = b"%08x" % (int(time.time()) & 0xffffffff)
    seen = set()
    made = 0
    while made < n:
        qid = stamp + os.urandom(6).hex().encode()
        if qid in seen:
            continue
        seen.add(qid)
        fd = os.open(os.path.join(folder, qid.decode()),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, prefix + qid + rest)
        os.close(fd)
        made += 1
    print(made)


if __name__ == "__main__":
    main()
