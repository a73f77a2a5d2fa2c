#!/usr/bin/python3
"""dnsserver.py: a small authoritative DNS server for postern's tests.

    /usr/bin/python3 tests/dns/dnsserver.py [--address 127.0.0.1] [--port N]
        [--zone FILE]... [--record LINE]... [--ttl 300] [--verbose]

Serves UDP and TCP on ADDRESS:PORT (default 127.0.0.1, port 0: a free
port chosen by the kernel, the same for UDP and TCP), then prints one line
"ready PORT" on stdout and flushes it. SIGTERM or SIGINT: exit 0. SIGHUP:
read the zone files again (the --record lines stay). Point postern at it
with `dns_servers = "127.0.0.1:PORT"`.

The zone is lines of `NAME TYPE DATA...`, from files and from --record;
`#` starts a comment, names are absolute (the trailing dot is optional)
and case-insensitive:

    example.test.      MX    10 mx1.example.test.
    mx1.example.test.  A     127.0.0.2
    mx1.example.test.  AAAA  ::1
    www.example.test.  CNAME mx1.example.test.
    nullmx.test.       MX    0 .
    txt.test.          TXT   "v=spf1 -all"           one string
    txt.test.          TXT   "part one " "part two"  one record, two strings
    ns.test.           NS    ns1.example.test.
    servfail.test.     SERVFAIL                      every type: SERVFAIL
    half.test.         SERVFAIL AAAA                 only AAAA: SERVFAIL
    refused.test.      REFUSED                       (or REFUSED TYPE)
    silent.test.       DROP                          never answered (or DROP TYPE)
    corrupt.test.      CORRUPT                       answer cut inside its last
    corrupt.test.      MX    10 mx1.example.test.      record (or CORRUPT TYPE)
    _25._tcp.mx1.example.test. TLSA 3 1 1 HEX        usage selector mtype data
    example.test.      SECURE                        answers for this name carry
                                                     the AD bit (DNSSEC-validated)

A name marked SECURE answers as a validating resolver would for a signed
zone: with the AD bit, when the query set AD or DO (RFC 6840 5.7); a
CNAME chain is secure only if each name on it is.

Answers: the records of the asked type; otherwise a CNAME is followed
(within the zone, up to 8 links, each CNAME in the answer); a name with no
record of the type but that exists (owns a record, or has one below it)
is NOERROR with no answer; any other name is NXDOMAIN. TXT strings over
255 bytes are split into 255-byte strings. Answers over UDP larger than
512 bytes (or the EDNS size of the query) are sent truncated (TC) so the
client asks again over TCP.
"""

import argparse
import selectors
import shlex
import signal
import socket
import struct
import sys

from dnslib import (AAAA, CNAME, MX, NS, PTR, QTYPE, RCODE, RD, RR, TXT, A,
                    DNSLabel, DNSRecord)

BEHAVIOURS = ("SERVFAIL", "REFUSED", "DROP", "CORRUPT")
MARKERS = ("SECURE",)
MAX_CNAME = 8


def norm(name):
    name = name.strip().lower()
    if name.endswith("."):
        name = name[:-1]
    return name


class Zone:
    def __init__(self):
        self.records = {}       # name -> [(qtype, rdata)]
        self.behaviour = {}     # name -> {qtype or "*": behaviour}
        self.names = set()      # every existing name, ancestors included
        self.secure = set()     # names answered with the AD bit

    def add_line(self, line, where):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise SystemExit("%s: %s" % (where, e))
        if not words:
            return
        if len(words) < 2:
            raise SystemExit("%s: expected NAME TYPE DATA" % where)
        name, rtype, data = norm(words[0]), words[1].upper(), words[2:]
        if rtype == "SECURE":
            self.secure.add(name)
            return
        try:
            if rtype in BEHAVIOURS:
                qt = data[0].upper() if data else "*"
                if qt != "*":
                    getattr(QTYPE, qt)
                self.behaviour.setdefault(name, {})[qt] = rtype
                return
            rdata = self.rdata(rtype, data)
        except (IndexError, ValueError, AttributeError) as e:
            raise SystemExit("%s: bad %s record: %s" % (where, rtype, e))
        self.records.setdefault(name, []).append(
            (getattr(QTYPE, rtype), rdata))
        labels = name.split(".") if name else []
        for i in range(len(labels) + 1):
            self.names.add(".".join(labels[i:]))

    @staticmethod
    def rdata(rtype, data):
        if rtype == "A":
            return A(data[0])
        if rtype == "AAAA":
            return AAAA(data[0])
        if rtype == "MX":
            return MX(DNSLabel(data[1]), int(data[0]))
        if rtype == "CNAME":
            return CNAME(DNSLabel(data[0]))
        if rtype == "NS":
            return NS(DNSLabel(data[0]))
        if rtype == "PTR":
            return PTR(DNSLabel(data[0]))
        if rtype == "TLSA":
            hexdata = "".join(data[3:])
            return RD(bytes([int(data[0]), int(data[1]), int(data[2])]) +
                      bytes.fromhex(hexdata))
        if rtype == "TXT":
            parts = []
            for s in data:
                b = s.encode("utf-8")
                parts += [b[i:i + 255] for i in range(0, len(b), 255)] or [b""]
            return TXT(parts)
        raise ValueError("unknown type")

    def behaviour_for(self, name, qtype):
        b = self.behaviour.get(name)
        if not b:
            return None
        return b.get(QTYPE.get(qtype), b.get("*"))

    def answer(self, request):
        """The reply to request, or None to stay silent."""
        reply = request.reply(ra=1, aa=1)
        if request.header.opcode != 0 or len(request.questions) != 1:
            reply.header.rcode = RCODE.NOTIMP
            return reply
        q = request.questions[0]
        name, qtype = norm(str(q.qname)), q.qtype
        wants_ad = request.header.ad or any(
            ar.rtype == QTYPE.OPT and (ar.ttl & 0x8000) for ar in request.ar)
        secure = True
        for _ in range(MAX_CNAME + 1):
            secure = secure and name in self.secure
            b = self.behaviour_for(name, qtype)
            if b == "DROP":
                return None
            if b == "CORRUPT":
                reply.corrupt = True
            elif b is not None:
                reply.header.rcode = getattr(RCODE, b)
                return reply
            recs = self.records.get(name, [])
            owner = DNSLabel(name + ".")
            found = [(t, rd) for t, rd in recs if qtype in (t, QTYPE.ANY)]
            if found:
                for t, rd in found:
                    reply.add_answer(RR(owner, t, ttl=self.ttl, rdata=rd))
                reply.header.ad = int(wants_ad and secure)
                return reply
            cname = [rd for t, rd in recs if t == QTYPE.CNAME]
            if not cname:
                if name not in self.names:
                    reply.header.rcode = RCODE.NXDOMAIN
                reply.header.ad = int(wants_ad and secure)
                return reply
            reply.add_answer(RR(owner, QTYPE.CNAME, ttl=self.ttl,
                                rdata=cname[0]))
            name = norm(str(cname[0].label))
        reply.header.rcode = RCODE.SERVFAIL     # a CNAME loop
        return reply


def load(args):
    zone = Zone()
    zone.ttl = args.ttl
    for path in args.zone:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                zone.add_line(line, "%s:%d" % (path, n))
    for n, line in enumerate(args.record, 1):
        zone.add_line(line, "--record %d" % n)
    return zone


def respond(state, data, udp):
    try:
        request = DNSRecord.parse(data)
        reply = state["zone"].answer(request)
    except Exception as e:          # not DNS: no answer, as a server would
        if state["verbose"]:
            print("dns: bad query: %s" % e, file=sys.stderr, flush=True)
        return None
    if state["verbose"]:
        q = request.questions[0] if request.questions else None
        print("dns: %s %s %s -> %s" % (
            "udp" if udp else "tcp", q.qname if q else "-",
            QTYPE.get(q.qtype) if q else "-",
            "drop" if reply is None else RCODE.get(reply.header.rcode)),
            file=sys.stderr, flush=True)
    if reply is None:
        return None
    out = reply.pack()
    if getattr(reply, "corrupt", False) and reply.rr:
        out = out[:-3]
    if udp:
        limit = 512
        for ar in request.ar:
            if ar.rtype == QTYPE.OPT:
                limit = max(512, ar.rclass)
        if len(out) > limit:
            t = request.reply(ra=1, aa=1)
            t.header.tc = 1
            out = t.pack()
    return out


def bind_pair(address, port):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for _ in range(64):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        # bursts of queries must not be dropped here (capped by rmem_max)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        udp.bind((address, port))
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((address, udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            if port:
                raise
            continue
        tcp.listen(64)
        return udp, tcp
    raise SystemExit("dnsserver: no free port for UDP and TCP")


def serve(args):
    state = {"zone": load(args), "verbose": args.verbose, "reload": False}
    udp, tcp = bind_pair(args.address, args.port)
    udp.setblocking(False)
    tcp.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(tcp, selectors.EVENT_READ, "listen")
    conns = {}

    def stop(signum, frame):
        raise SystemExit(0)

    def reload(signum, frame):
        state["reload"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    print("ready %d" % udp.getsockname()[1], flush=True)

    while True:
        if state["reload"]:
            state["reload"] = False
            try:
                state["zone"] = load(args)
            except (OSError, SystemExit) as e:    # keep serving the old one
                print("dnsserver: reload: %s" % e, file=sys.stderr, flush=True)
        for key, _ in sel.select(timeout=0.5):
            if key.data == "udp":
                try:
                    data, peer = udp.recvfrom(65535)
                except OSError:
                    continue
                out = respond(state, data, True)
                if out is not None:
                    try:
                        udp.sendto(out, peer)
                    except OSError:
                        pass
            elif key.data == "listen":
                try:
                    c, _ = tcp.accept()
                except OSError:
                    continue
                c.setblocking(False)
                conns[c] = bytearray()
                sel.register(c, selectors.EVENT_READ, "conn")
            else:
                c = key.fileobj
                try:
                    data = c.recv(65535)
                except OSError:
                    data = b""
                buf = conns[c]
                buf += data
                while len(buf) >= 2:
                    n = struct.unpack("!H", buf[:2])[0]
                    if len(buf) < 2 + n:
                        break
                    out = respond(state, bytes(buf[2:2 + n]), False)
                    del buf[:2 + n]
                    if out is not None:
                        c.settimeout(5)
                        try:
                            c.sendall(struct.pack("!H", len(out)) + out)
                        except OSError:
                            data = b""
                        c.setblocking(False)
                if not data or len(buf) > 70000:
                    sel.unregister(c)
                    c.close()
                    del conns[c]


def main():
    p = argparse.ArgumentParser(description="authoritative DNS for tests")
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--zone", action="append", default=[])
    p.add_argument("--record", action="append", default=[])
    p.add_argument("--ttl", type=int, default=300)
    p.add_argument("--verbose", action="store_true")
    serve(p.parse_args())


if __name__ == "__main__":
    main()
