"""
Delivery end-to-end fixtures: postern delivering to test MX servers found
through a loopback DNS server.

Loaded from conftest.py (pytest_plugins = [..., "fixtures_delivery"]).
Builds on fixtures_smtp.Server (the real `postern serve`, checked at its
stop: SIGTERM, exit 0 within 10 s, no sanitizer report).

  DnsServer        tests/dns/dnsserver.py (--verbose: its log lists every
                   query) on 127.0.0.1, a zone file that .set()/.add()
                   rewrite; the reload is confirmed by asking for a serial
                   record. .txt(name) / .dkim_dnsfunc() answer dkimpy.
  Mx               an aiosmtpd server on 127.0.0.x:PORT that records each
                   transaction (Delivered) and every command (.events);
                   optionally 451 to the first RCPTs or DATAs or to one
                   address, 550 to given recipients, STARTTLS, a slow
                   answer to the end of DATA.
  SilentMx         accepts connections and never says a word (closes them
                   after hold seconds, or at its stop).
  delivery (fixture)  a Delivery: .dns, .port (every MX listens on it),
                   .mx(host, ...), .silent(host), .server(...) (a postern
                   in mx mode pointed at .dns, retry_first = 1 s,
                   provisioned: example.org (DKIM as asked), alias
                   example.net, alice@example.org), .dkim_records(srv)
                   (zone lines from `postern domain dns --json`),
                   .submit(srv, ...) -> queue id. Everything it started is
                   stopped at the end of the test; when the test failed,
                   the server, DNS and MX logs are printed.

Log helpers: attempts(log, qid) parses delivery.attempt lines, bounces(log)
queue.bounce lines; spool_files(srv) lists spool/queue.
"""
import asyncio
import contextlib
import email
import email.policy
import os
import re
import select
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import List, NamedTuple

import pytest

from fixtures_smtp import Server, _open_clients, terminate, tls_client_context

HERE = Path(__file__).resolve().parent
DNS_SCRIPT = HERE.parent / "dns" / "dnsserver.py"
PYTHON = "/usr/bin/python3"
MX_HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6")

ATTEMPT_RE = re.compile(
    r'delivery\.attempt queue=(?P<queue>[0-9a-f]+) to=<(?P<to>[^>]*)> '
    r'host=(?P<host>\S+) tls=(?P<tls>\S+) '
    r'tls_policy=(?P<tls_policy>\S+) verified=(?P<verified>\S+) reply="(?P<reply>.*)" '
    r'delay=(?P<delay>\d+)s result=(?P<result>\w+)')
BOUNCE_RE = re.compile(r'queue\.bounce queue=(?P<queue>[0-9a-f]+) dsn=(?P<dsn>[0-9a-f]+) '
                       r'to=<(?P<to>[^>]*)>')


def wait_until(pred, timeout, what, interval=0.05):
    """Poll pred() until it is truthy; its value. Fails after timeout s,
    saying what (a string, or a callable giving one at that moment)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail("timed out after %ss waiting for %s"
                        % (timeout, what() if callable(what) else what), pytrace=False)
        time.sleep(interval)


def attempts(log, qid=None):
    """The delivery.attempt lines of a log (of one queue id), as dicts."""
    out = []
    for m in ATTEMPT_RE.finditer(log):
        if qid is None or m.group("queue") == qid:
            out.append(m.groupdict())
    return out


def bounces(log, qid=None):
    return [m.groupdict() for m in BOUNCE_RE.finditer(log)
            if qid is None or m.group("queue") == qid]


def spool_files(srv):
    """Every file in spool/queue (messages, .state, .hold)."""
    if not srv.queue_dir.exists():
        return []
    return sorted(p.name for p in srv.queue_dir.iterdir())


# ---------------------------------------------------------------------------
# DNS


class DnsServer:
    """tests/dns/dnsserver.py serving a zone file we rewrite."""

    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.zone_file = self.dir / "zone"
        self.logfile = self.dir / "dns.log"
        self.lines = []
        self.serial = 0
        self.proc = None
        self.port = None

    def _write(self):
        self.serial += 1
        text = "\n".join(self.lines + ['_serial.zone.test. TXT "%d"' % self.serial]) + "\n"
        self.zone_file.write_text(text)

    def start(self):
        self._write()
        self._log = open(self.logfile, "wb")
        self.proc = subprocess.Popen(
            [PYTHON, str(DNS_SCRIPT), "--address", "127.0.0.1", "--port", "0",
             "--zone", str(self.zone_file), "--ttl", "1", "--verbose"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log)
        deadline = time.monotonic() + 10
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                pytest.fail("dnsserver.py did not start: %r\n%s"
                            % (line, self.logfile.read_text(errors="replace")), pytrace=False)
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                ch = os.read(self.proc.stdout.fileno(), 1)
                if not ch:
                    continue
                line += ch
        m = re.match(rb"ready (\d+)", line)
        assert m, "dnsserver.py said %r" % line
        self.port = int(m.group(1))
        return self

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def set(self, *lines):
        """Serve exactly these zone lines (and wait until they are served)."""
        self.lines = [l for l in lines if l]
        self._reload()

    def add(self, *lines):
        self.lines += [l for l in lines if l]
        self._reload()

    def _reload(self):
        self._write()
        self.proc.send_signal(signal.SIGHUP)
        want = str(self.serial).encode()
        wait_until(lambda: self.txt("_serial.zone.test") == want, 10,
                   "the DNS server to serve zone serial %d" % self.serial, interval=0.02)

    def query(self, name, qtype="A"):
        """The DNS reply (a dnslib DNSRecord), asked over TCP."""
        from dnslib import DNSRecord
        q = DNSRecord.question(name, qtype)
        return DNSRecord.parse(q.send("127.0.0.1", self.port, tcp=True, timeout=5))

    def txt(self, name):
        """The first TXT record of name, its strings joined (bytes), or None."""
        from dnslib import QTYPE
        if isinstance(name, bytes):
            name = name.decode()
        r = self.query(name.rstrip("."), "TXT")
        for rr in r.rr:
            if rr.rtype == QTYPE.TXT:
                return b"".join(rr.rdata.data)
        return None

    def dkim_dnsfunc(self):
        """A dnsfunc for dkimpy: TXT look-ups answered by this server."""
        def dnsfunc(name, timeout=5):
            return self.txt(name)
        return dnsfunc

    def stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        terminate(proc, 5)
        proc.stdout.close()
        self._log.close()


# ---------------------------------------------------------------------------
# test MX servers


class Delivered(NamedTuple):
    mail_from: str
    rcpt_tos: List[str]
    content: bytes
    tls: bool
    peer: str
    at: float  # time.monotonic() of the end of DATA


class _MxHandler:
    def __init__(self, mx):
        self.mx = mx

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # aiosmtpd gives the null sender as "<>" (and needs it truthy)
        self.mx.events.append(("MAIL", "" if address == "<>" else address))
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        mx = self.mx
        with mx.lock:
            mx.rcpt_seen += 1
            left = mx.tempfail_addr.get(address.lower(), 0)
            if left:
                mx.tempfail_addr[address.lower()] = left - 1
            if mx.rcpt_seen <= mx.tempfail_rcpt or left:
                reply = "451 4.3.0 <%s>: try again later" % address
            else:
                reply = mx.refuse.get(address.lower())
        mx.events.append(("RCPT", address, reply or "250"))
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        mx = self.mx
        with mx.lock:
            mx.data_seen += 1
            tempfail = mx.data_seen <= mx.tempfail_data
        if tempfail:
            mx.events.append(("DATA", "451"))
            return "451 4.3.0 the queue is full, try again later"
        if mx.data_delay:
            mx.events.append(("DATA", "waiting"))
            await asyncio.sleep(mx.data_delay)
        mx.events.append(("DATA", "250"))
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        frm = "" if envelope.mail_from == "<>" else envelope.mail_from
        mx.received.append(Delivered(frm, list(envelope.rcpt_tos), content,
                                     session.ssl is not None, str(session.peer),
                                     time.monotonic()))
        return "250 2.0.0 OK: accepted"


class Mx:
    """An aiosmtpd MX on host:port that records what it receives.

    tempfail_rcpt / tempfail_data: that many first RCPTs / DATAs get 451.
    tempfail_addr: {address: n}: its first n RCPTs get 451.
    refuse: {address: reply} given to those RCPTs (e.g. a 550).
    data_delay: seconds to wait before answering the end of DATA.
    tls_context: offer STARTTLS with it.
    auth: (login, password): require AUTH (after STARTTLS) with these."""

    def __init__(self, host, port, tempfail_rcpt=0, tempfail_data=0, tempfail_addr=None,
                 refuse=None, tls_context=None, name="mx.test", data_delay=0, auth=None):
        self.host, self.port = host, port
        self.tempfail_rcpt, self.tempfail_data = tempfail_rcpt, tempfail_data
        self.tempfail_addr = {k.lower(): v for k, v in (tempfail_addr or {}).items()}
        self.data_delay = data_delay
        self.refuse = {k.lower(): v for k, v in (refuse or {}).items()}
        self.tls_context = tls_context
        self.auth = auth
        self.logins = []
        self.name = name
        self.lock = threading.Lock()
        self.rcpt_seen = self.data_seen = 0
        self.events = []
        self.received: List[Delivered] = []
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller
        kw = {}
        if self.tls_context is not None:
            kw = dict(tls_context=self.tls_context, require_starttls=False)
        if self.auth is not None:
            from aiosmtpd.smtp import AuthResult

            def check(server, session, envelope, mechanism, data):
                login = data.login.decode() if data.login else ""
                ok = (login, data.password.decode()) == self.auth
                self.logins.append((mechanism, login, ok))
                return AuthResult(success=ok)
            kw.update(authenticator=check, auth_required=True, auth_require_tls=True)
        self.controller = Controller(_MxHandler(self), hostname=self.host, port=self.port,
                                     server_hostname=self.name, ready_timeout=5, **kw)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            c, self.controller = self.controller, None
            c.stop()

    def wait(self, count=1, timeout=10):
        """Wait until count messages arrived; the list of them."""
        wait_until(lambda: len(self.received) >= count, timeout,
                   lambda: "%d message(s) at the MX %s:%d (got %d; events %r)"
                   % (count, self.host, self.port, len(self.received), self.events))
        return self.received

    def for_rcpt(self, address):
        return [d for d in self.received if address in d.rcpt_tos]


class SilentMx:
    """Accepts TCP connections on host:port and never answers. Each
    connection is closed after hold seconds, or at stop()."""

    def __init__(self, host, port, hold=30):
        self.host, self.port, self.hold = host, port, hold
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.host, self.port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        conns = []
        try:
            while not self._stop.is_set():
                try:
                    c, _ = self.sock.accept()
                    self.accepted += 1
                    conns.append((c, time.monotonic() + self.hold))
                except (socket.timeout, TimeoutError):
                    pass
                now = time.monotonic()
                for c, until in [x for x in conns if x[1] <= now]:
                    c.close()
                conns = [x for x in conns if x[1] > now]
        finally:
            for c, _ in conns:
                c.close()
            self.sock.close()

    def stop(self):
        if self._thread is not None:
            self._stop.set()
            self._thread.join(5)
            self._thread = None


def mx_tls_context(srv):
    """A server TLS context for a test MX (the postern setup's own
    self-signed certificate: postern does not verify MX certificates)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(srv.cert), str(srv.data / "tls" / "key.pem"))
    return ctx


def free_mx_port():
    """A port free on every MX_HOSTS address (and 127.0.0.1)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.2", 0))
            port = s.getsockname()[1]
        ok = True
        for host in MX_HOSTS + ("127.0.0.1",):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind((host, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise RuntimeError("no port free on every MX address")


# ---------------------------------------------------------------------------
# one test's world


def parse_message(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


class Delivery:
    def __init__(self, root):
        self.root = Path(root)
        self.dns = DnsServer(self.root / "dns").start()
        self.port = free_mx_port()
        self._mxs = []
        self._servers = []

    # MX servers

    def mx(self, host="127.0.0.2", **kw):
        m = Mx(host, self.port, **kw)
        self._mxs.append(m)
        return m.start()

    def silent(self, host, hold=30):
        m = SilentMx(host, self.port, hold=hold)
        self._mxs.append(m)
        return m.start()

    # postern

    def server(self, dkim="rsa", provision=True, start=True, **conf):
        """A postern in mx mode (or as conf says), pointed at the test DNS
        and MX port; retries after 1, 2, 4 ... s (at most 4 s)."""
        settings = dict(delivery__mode="mx", delivery__dns_servers=self.dns.address,
                        delivery__remote_port=str(self.port), delivery__retry_first="1",
                        delivery__retry_max_interval="4", delivery__max_age="1h")
        settings.update(conf)
        srv = Server(self.root / ("postern%d" % len(self._servers)), **settings)
        self._servers.append(srv)
        if provision:
            srv.cli("domain", "add", "example.org", "--dkim", dkim)
            srv.cli("domain", "alias", "add", "example.net", "example.org")
            srv.alice_pw = srv.cli("user", "add", "alice@example.org")["smtp_password"]
            srv.passwords["alice@example.org"] = srv.alice_pw
        if start:
            srv.start()
        return srv

    def dkim_records(self, srv, domain="example.org"):
        """The DKIM TXT records of `postern domain dns DOMAIN --json`, as
        zone lines (one record, its strings as printed)."""
        recs = srv.cli("domain", "dns", domain)["records"]
        lines = []
        for r in recs:
            if r["type"] == "TXT" and "._domainkey." in r["name"]:
                assert "".join(r["strings"]) == r["value"]
                lines.append("%s. TXT %s" % (r["name"], " ".join('"%s"' % s for s in r["strings"])))
        assert lines, "no DKIM record in postern domain dns %s" % domain
        return lines

    def submit(self, srv, to, msg, frm="alice@example.org", login="alice@example.org"):
        """STARTTLS + AUTH as login with smtplib, one message; its queue id."""
        ctx = tls_client_context(srv.cert)
        s = smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=15)
        _open_clients.append(s)
        try:
            s.ehlo("client.example.test")
            s.starttls(context=ctx)
            s.ehlo("client.example.test")
            s.login(login, srv.passwords[login])
            code, text = s.mail(frm)
            assert code == 250, "MAIL FROM:<%s>: %d %r" % (frm, code, text)
            for t in [to] if isinstance(to, str) else to:
                code, text = s.rcpt(t)
                assert code == 250, "RCPT TO:<%s>: %d %r" % (t, code, text)
            code, text = s.data(msg)
            assert code == 250, "DATA: %d %r" % (code, text)
            s.quit()
        finally:
            with contextlib.suppress(Exception):
                s.close()
        m = re.search(rb"queued as ([0-9a-f]{20})", text)
        assert m, "no queue id in %r" % text
        return m.group(1).decode()

    def dump_logs(self):
        for srv in self._servers:
            for log in srv.logs:
                print("==== %s\n%s" % (log, log.read_text(errors="replace")[-20000:]))
        with contextlib.suppress(Exception):
            print("==== DNS\n%s" % self.dns.logfile.read_text(errors="replace")[-5000:])
        for m in self._mxs:
            print("==== MX %s:%d events %r" % (m.host, m.port, getattr(m, "events", None)))

    def close(self):
        errors = []
        for srv in self._servers:
            try:
                srv.stop()
            except BaseException as e:  # keep stopping the rest
                errors.append(e)
        for m in self._mxs:
            with contextlib.suppress(Exception):
                m.stop()
        self.dns.stop()
        if errors:
            raise errors[0]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call":
        item._delivery_failed = rep.failed


@pytest.fixture
def delivery(request, tmp_path):
    """A Delivery world for one test, torn down at its end (the server
    and DNS logs are printed when the test failed)."""
    from fixtures_smtp import _check_binary
    _check_binary()
    d = Delivery(tmp_path)
    try:
        yield d
    finally:
        while _open_clients:
            with contextlib.suppress(Exception):
                _open_clients.pop().close()
        if getattr(request.node, "_delivery_failed", False):
            d.dump_logs()
        d.close()


def tls_cert_for(dirpath, name):
    """A self-signed certificate for name (an IP address or a DNS name,
    in subjectAltName) made with openssl: (server SSLContext, PEM path),
    for a test smarthost whose certificate postern checks."""
    dirpath = Path(dirpath)
    dirpath.mkdir(parents=True, exist_ok=True)
    key, crt = dirpath / ("%s.key" % name), dirpath / ("%s.pem" % name)
    san = ("IP:" if re.match(r"^[0-9.]+$|:", name) else "DNS:") + name
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "2",
                    "-subj", "/CN=%s" % name, "-addext", "subjectAltName=" + san],
                   check=True, capture_output=True, timeout=30)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    return ctx, crt
