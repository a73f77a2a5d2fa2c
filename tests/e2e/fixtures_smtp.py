"""
SMTP end-to-end fixtures: a real `postern serve` on loopback, real clients.

Loaded from conftest.py (pytest_plugins = ["fixtures_smtp"]). Nothing here
depends on the CLI suite's fixtures; the names all start with smtp_ or
are plain helpers, so they cannot shadow conftest's.

The binary is $POSTERN_BIN (the Makefile passes the AddressSanitizer
build), else ../../postern.

  Server(root, serve_env=None, **conf)
                         `postern init` in root, free ports on 127.0.0.1,
                         [auth] fail_delay = 200, brute-force counters
                         off (thresholds of 100000), deliveries parked (a
                         smarthost that refuses connections, so queued
                         messages stay in the queue); conf: section__key=
                         value;
                         .start() .stop() .kill9() .cli() .spool()
                         .queue_ids() .log()
  SmtpClient             a line-level SMTP client over a socket (plain,
                         STARTTLS or implicit TLS): .cmd() .send() .reply()
  smtp_server (fixture)  the shared server of the whole run, provisioned
                         as in the service's documentation: example.org
                         with alice@example.org (alias alice_lastname) and
                         the domain alias example.net. Tests that change a
                         user make their own with .new_user().
  smtp_server_factory    make(**conf): a fresh, started server for one
                         test (queue parked), stopped and checked at its
                         end.

Every server is stopped at teardown with SIGTERM; it must exit within
10 s with status 0 and its log must hold no sanitizer report. Every
client opened through these helpers is closed at the end of its test.
"""
import base64
import contextlib
import json as jsonlib
import os
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

import pytest

import fixtures_pg

HERE = Path(__file__).resolve().parent
POSTERN_BIN = os.environ.get("POSTERN_BIN") or str((HERE / "../../postern").resolve())
HOSTNAME = "mail.example.test"
CLI_TIMEOUT = 60
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error")
QUEUED_RE = re.compile(r"queued as ([0-9a-f]{20})\b")

# clients opened during the current test, closed by the autouse fixture
_open_clients = []


def terminate(proc, grace):
    """SIGTERM to a helper server, SIGKILL after grace seconds; waits."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def free_port():
    """A port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def plain_ir(login, secret):
    """The AUTH PLAIN initial response for login and secret."""
    return b64("\0%s\0%s" % (login, secret))


def xoauth2_ir(login, token):
    return b64("user=%s\x01auth=Bearer %s\x01\x01" % (login, token))


def oauthbearer_ir(login, token, port=587):
    return b64("n,a=%s,\x01host=%s\x01port=%d\x01auth=Bearer %s\x01\x01"
               % (login, HOSTNAME, port, token))


def dot_stuff(msg: bytes) -> bytes:
    """A message as DATA sends it: CRLF lines, leading dots doubled, the end."""
    lines = msg.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
    return out + b".\r\n"


def make_message(frm="alice@example.org", to="bob@remote.test", subject="hello",
                 body="Hello Bob.\r\n", extra=(), message_id=True, date=True):
    """A small RFC 5322 message (bytes, CRLF line ends)."""
    h = ["From: <%s>" % frm, "To: <%s>" % to, "Subject: %s" % subject]
    if date:
        h.append("Date: Tue, 01 Oct 2024 10:00:00 +0000")
    if message_id:
        h.append("Message-ID: <%s.%d@client.example.test>" % (subject.replace(" ", "-"),
                                                               time.monotonic_ns()))
    h.extend(extra)
    return ("\r\n".join(h) + "\r\n\r\n" + body).encode()


def check_sanitizers(what, text):
    for mark in SANITIZER_MARKS:
        if mark in text:
            pytest.fail("sanitizer report from %s:\n%s" % (what, text[-20000:]), pytrace=False)


def is_asan_build(path=None):
    """Whether the binary was built with AddressSanitizer."""
    with open(path or POSTERN_BIN, "rb") as f:
        return b"__asan_init" in f.read()


def env_for_postern():
    env = dict(os.environ)
    env.pop("POSTERN_CONFIG", None)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    env["LC_ALL"] = "C.UTF-8"
    return env


def tls_client_context(cafile=None):
    """A client TLS context. With cafile, the chain is verified against it
    (the setup's self-signed certificate); names are not (we dial 127.0.0.1)."""
    ctx = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED if cafile else ssl.CERT_NONE
    return ctx


# ---------------------------------------------------------------------------
# a line-level SMTP client


class Reply:
    """One SMTP reply: its code and the text of each line."""

    def __init__(self, code, lines):
        self.code = code
        self.lines = lines

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enh(self):
        """The enhanced status code of the first line ("5.7.1"), or ""."""
        m = re.match(r"^([245]\.\d{1,3}\.\d{1,3})\b", self.lines[0] if self.lines else "")
        return m.group(1) if m else ""

    def __eq__(self, other):
        return isinstance(other, Reply) and (self.code, self.lines) == (other.code, other.lines)

    def __repr__(self):
        return "<%d %s>" % (self.code, " | ".join(self.lines))

    __str__ = __repr__


class ConnectionClosed(Exception):
    pass


class SmtpClient:
    """SMTP by hand: what is sent is exactly what the test wrote."""

    def __init__(self, port, host="127.0.0.1", implicit_tls=False, cafile=None,
                 timeout=15, read_greeting=True):
        self.port = port
        self.cafile = cafile
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.tls = False
        _open_clients.append(self)
        if implicit_tls:
            self._wrap()
        self.greeting = self.reply() if read_greeting else None

    # transport

    def _wrap(self):
        assert self.buf == b"", "bytes left in the plain buffer at the TLS switch: %r" % self.buf
        ctx = tls_client_context(self.cafile)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=HOSTNAME)
        self.tls = True

    @property
    def tls_version(self):
        return self.sock.version() if self.tls else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            chunk = b""
        if not chunk:
            raise ConnectionClosed("the server closed the connection; unread: %r" % self.buf)
        self.buf += chunk

    def line(self):
        while b"\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        lines = []
        while True:
            line = self.line()
            m = re.match(r"^(\d{3})([ -])(.*)$", line)
            assert m, "not an SMTP reply line: %r" % line
            lines.append(m.group(3))
            if m.group(2) == " ":
                return Reply(int(m.group(1)), lines)

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def pending(self, wait=0.5):
        """Whatever the server sends within wait seconds (b"" if nothing)."""
        self.sock.settimeout(wait)
        got = self.buf
        self.buf = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, TimeoutError, ssl.SSLError, ConnectionResetError):
            pass
        finally:
            self.sock.settimeout(self.timeout)
        return got

    def closed_by_server(self, wait=5):
        """True once the server has closed the connection (reads EOF)."""
        deadline = time.monotonic() + wait
        self.sock.settimeout(0.2)
        try:
            while time.monotonic() < deadline:
                try:
                    chunk = self.sock.recv(65536)
                except (socket.timeout, TimeoutError):
                    continue
                except (ConnectionResetError, ssl.SSLError, OSError):
                    return True
                if not chunk:
                    return True
                self.buf += chunk
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def close(self):
        with contextlib.suppress(Exception):
            self.sock.close()

    # SMTP steps

    def ehlo(self, name="client.example.test"):
        r = self.cmd("EHLO " + name)
        assert r.code == 250, "EHLO: %s" % r
        return r

    def extensions(self, ehlo_reply):
        return [l.split(" ")[0].upper() for l in ehlo_reply.lines[1:]]

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r.code == 220, "STARTTLS: %s" % r
        self._wrap()
        return r

    def auth_plain(self, login, secret):
        return self.cmd("AUTH PLAIN " + plain_ir(login, secret))

    def data(self, msg: bytes):
        """DATA with a dot-stuffed msg; the reply after the end."""
        r = self.cmd("DATA")
        assert r.code == 354, "DATA: %s" % r
        self.send(dot_stuff(msg))
        return self.reply()

    def mail(self, frm, to, msg):
        """MAIL, RCPT (one or several), DATA; the final reply."""
        r = self.cmd("MAIL FROM:<%s>" % frm)
        assert r.code == 250, "MAIL FROM:<%s>: %s" % (frm, r)
        for t in [to] if isinstance(to, str) else to:
            r = self.cmd("RCPT TO:<%s>" % t)
            assert r.code == 250, "RCPT TO:<%s>: %s" % (t, r)
        return self.data(msg)


def queue_id(reply):
    """The queue id in "250 2.0.0 Ok: queued as ID"."""
    text = reply if isinstance(reply, str) else reply.text
    m = QUEUED_RE.search(text)
    assert m, "no queue id in %r" % (text,)
    return m.group(1)


# ---------------------------------------------------------------------------
# the server


class Spooled(NamedTuple):
    env: dict   # key -> value; "rcpt" -> list of lines
    message: bytes  # after the blank line
    raw: bytes


class Server:
    """One postern setup and its `serve` process."""

    def __init__(self, root, serve_env=None, **conf):
        self.dir = Path(root)
        self.serve_env = dict(serve_env or {})
        self.cwd = self.dir.parent / (self.dir.name + "-cwd")
        self.cwd.mkdir(parents=True, exist_ok=True)
        r = self._run(["init", "--dir", str(self.dir), "--hostname", HOSTNAME])
        assert r.returncode == 0, "postern init failed:\n%s" % r.stderr
        self.conf = self.dir / "postern.conf"
        self.data = self.dir / "data"
        self.cert = self.data / "tls" / "cert.pem"
        self.queue_dir = self.data / "spool" / "queue"
        self.tmp_dir = self.data / "spool" / "tmp"
        self.ports = {k: free_port() for k in ("smtp", "submission", "submissions", "http")}
        for k, p in self.ports.items():
            self.conf_set("listen", k, "127.0.0.1:%d" % p)
        # park deliveries: a smarthost that refuses connections keeps
        # every accepted message in the queue (temporary failure)
        self.conf_set("delivery", "mode", "smarthost")
        self.conf_set("delivery", "smarthost", "127.0.0.1:%d" % free_port())
        self.conf_set("auth", "fail_delay", "200")
        # a module run on PostgreSQL: a database of its own (conftest)
        self.pg = fixtures_pg.configure(self.conf_set)
        # the brute-force counters would slow and refuse the many failed
        # logins of a suite from 127.0.0.1: out of the way unless a test
        # sets them (test_abuse_bruteforce.py)
        for key in ("ip_slow_after", "ip_refuse_after", "login_slow_after"):
            self.conf_set("auth", key, "100000")
        for key, value in conf.items():
            section, _, name = key.partition("__")
            self.conf_set(section, name, value)
        self.proc = None
        self.logfile = self.dir / "server.log"
        self.logs = []  # every run's log file, checked at teardown
        self.runs = 0
        self._users = 0
        self.passwords = {}

    # the store

    def store_text(self):
        """Everything the store holds, as text (the SQLite file's bytes,
        or a PostgreSQL database's rows): for "no secret in the store"."""
        if self.pg:
            return fixtures_pg.dump(self.pg)
        return (self.data / "postern.db").read_bytes().decode("latin-1")

    def store_exec(self, sqlite_sql, pg_sql=None):
        """Change the store by hand (what an operator's SQL might do)."""
        if self.pg:
            fixtures_pg.psql(self.pg, pg_sql or sqlite_sql)
        else:
            subprocess.run(["sqlite3", str(self.data / "postern.db"), sqlite_sql],
                           check=True, timeout=30)

    # config

    def conf_set(self, section, key, value):
        lines = self.conf.read_text().splitlines()
        cur = None
        for i, line in enumerate(lines):
            s = line.strip()
            if s.startswith("["):
                cur = s.strip("[]").strip()
            elif cur == section and re.match(r"^%s\s*=" % re.escape(key), s):
                lines[i] = "%s = %s" % (key, value)
                break
        else:
            idx = lines.index("[%s]" % section)
            lines.insert(idx + 1, "%s = %s" % (key, value))
        self.conf.write_text("\n".join(lines) + "\n")

    # the CLI

    def _run(self, args, stdin=None):
        p = subprocess.run([POSTERN_BIN] + [str(a) for a in args],
                           input=(stdin.encode() if isinstance(stdin, str) else stdin) or b"",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.cwd,
                           env=env_for_postern(), timeout=CLI_TIMEOUT)
        p.stdout = p.stdout.decode("utf-8", "replace")
        p.stderr = p.stderr.decode("utf-8", "replace")
        check_sanitizers("postern " + " ".join(map(str, args)), p.stderr)
        return p

    def cli_run(self, *args, stdin=None, json=True):
        """(rc, parsed JSON or text, stderr) of postern -c CONF ARGS [--json]."""
        argv = ["-c", self.conf] + list(args) + (["--json"] if json else [])
        p = self._run(argv, stdin=stdin)
        out = p.stdout
        if json and out.strip():
            out = jsonlib.loads(out)
        return p.returncode, out, p.stderr

    def cli(self, *args, stdin=None, json=True):
        rc, out, err = self.cli_run(*args, stdin=stdin, json=json)
        assert rc == 0, "postern %s: rc %d\n%s" % (" ".join(args), rc, err)
        return out

    def new_user(self, prefix="user", domain="example.org"):
        """A fresh user of domain; (address, SMTP password)."""
        self._users += 1
        addr = "%s%d@%s" % (prefix, self._users, domain)
        pw = self.cli("user", "add", addr)["smtp_password"]
        self.passwords[addr] = pw
        return addr, pw

    # the process

    def start(self, verbose=True):
        assert self.proc is None, "already running"
        self.runs += 1
        self.logfile = self.dir / ("server-%d.log" % self.runs)
        self.logs.append(self.logfile)
        with open(self.logfile, "wb") as log:
            self.proc = subprocess.Popen(
                [POSTERN_BIN, "-c", str(self.conf), "serve"] + (["-v"] if verbose else []),
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=self.cwd,
                env=self._serve_env())
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                pytest.fail("postern serve exited (rc %s) at start:\n%s" % (rc, self.log()),
                            pytrace=False)
            try:
                # a subclass may listen elsewhere on loopback (test_nodes)
                c = SmtpClient(self.ports["submission"],
                               host=getattr(self, "host", "127.0.0.1"), timeout=5)
            except (OSError, ConnectionClosed):
                if time.monotonic() > deadline:
                    pytest.fail("postern serve does not accept connections:\n%s" % self.log(),
                                pytrace=False)
                time.sleep(0.02)
                continue
            # leave cleanly: once the server closed, the slot is free again
            c.cmd("QUIT")
            c.closed_by_server(5)
            c.close()
            _open_clients.remove(c)
            return self

    def _serve_env(self):
        env = env_for_postern()
        extra = dict(self.serve_env)
        asan = [env.get("ASAN_OPTIONS", "")]
        asan.append(extra.pop("ASAN_OPTIONS", ""))
        env["ASAN_OPTIONS"] = ":".join(a for a in asan if a)
        env.update(extra)
        return env

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, count=1, timeout=10):
        """Wait until the current log matches pattern count times."""
        deadline = time.monotonic() + timeout
        while True:
            n = len(re.findall(pattern, self.log()))
            if n >= count:
                return n
            if time.monotonic() > deadline:
                pytest.fail("no %r (x%d) in the server log:\n%s" % (pattern, count, self.log()[-5000:]),
                            pytrace=False)
            time.sleep(0.05)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        """SIGTERM; it must exit within 10 s, status 0, no sanitizer report."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
            pytest.fail("postern serve did not exit within 10 s of SIGTERM:\n%s"
                        % self.log()[-5000:], pytrace=False)
        check_sanitizers("postern serve", self.log())
        assert rc == 0, "postern serve exited with %d after SIGTERM:\n%s" % (rc, self.log()[-5000:])

    def kill9(self):
        """SIGKILL, as a crash would; the next start() is a restart."""
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        check_sanitizers("postern serve (before kill -9)", self.log())

    # clients

    def client(self, kind="submission", **kw):
        """A connected SmtpClient whose greeting (220) was read."""
        c = SmtpClient(self.ports[kind], implicit_tls=(kind == "submissions"),
                       cafile=self.cert, **kw)
        assert c.greeting.code == 220, "greeting: %s" % c.greeting
        return c

    def session(self, login, secret, kind="submission"):
        """A client that said EHLO, did TLS and authenticated (235)."""
        c = self.client(kind)
        c.ehlo()
        if kind == "submission":
            c.starttls()
            c.ehlo()
        r = c.auth_plain(login, secret)
        assert r.code == 235, "AUTH PLAIN as %s: %s" % (login, r)
        return c

    def smtplib(self, kind="submission", src=None):
        """An smtplib client: STARTTLS done on submission, SMTP_SSL on
        submissions; src: the loopback address it connects from."""
        ctx = tls_client_context(self.cert)
        source = (src, 0) if src else None
        if kind == "submissions":
            s = smtplib.SMTP_SSL("127.0.0.1", self.ports[kind], context=ctx, timeout=15,
                                 source_address=source)
        else:
            s = smtplib.SMTP("127.0.0.1", self.ports[kind], timeout=15, source_address=source)
            if kind == "submission":
                s.ehlo("client.example.test")
                s.starttls(context=ctx)
        s.ehlo("client.example.test")
        _open_clients.append(s)
        return s

    # the queue

    def queue_ids(self):
        """Ids of the messages in spool/queue (not the .state/.hold files)."""
        if not self.queue_dir.exists():
            return set()
        return {p.name for p in self.queue_dir.iterdir() if re.fullmatch(r"[0-9a-f]{20}", p.name)}

    def spool(self, qid):
        """A queued message: its envelope lines as a dict and its bytes."""
        raw = (self.queue_dir / qid).read_bytes()
        head, sep, message = raw.partition(b"\n\n")
        assert sep, "no blank line after the envelope of %s" % qid
        env = {"rcpt": []}
        lines = head.decode().split("\n")
        assert lines[0] == "POSTERN-SPOOL 1", lines[0]
        for line in lines[1:]:
            k, _, v = line.partition(" ")
            if k == "rcpt":
                env["rcpt"].append(v)
            else:
                env[k] = v
        return Spooled(env, message, raw)


def split_header(message: bytes):
    """(header fields as a list of (name, raw field bytes), body)."""
    head, _, body = message.partition(b"\r\n\r\n")
    fields = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, text = fields[-1]
            fields[-1] = (name, text + b"\r\n" + line)
        else:
            fields.append((line.split(b":", 1)[0].decode().lower(), line))
    return fields, body


# ---------------------------------------------------------------------------
# fixtures


@pytest.fixture(autouse=True)
def _smtp_close_clients():
    """Close every client a test opened (before any server stops)."""
    yield
    while _open_clients:
        c = _open_clients.pop()
        with contextlib.suppress(Exception):
            c.close()


def _check_binary():
    if not os.access(POSTERN_BIN, os.X_OK):
        pytest.exit("no postern binary at %s: run `make postern` or set POSTERN_BIN"
                    % POSTERN_BIN, returncode=2)


def provision_documentation_example(srv):
    """example.org, alice@example.org with alias alice_lastname, example.net."""
    srv.cli("domain", "add", "example.org")
    srv.cli("domain", "alias", "add", "example.net", "example.org")
    srv.alice_pw = srv.cli("user", "add", "alice@example.org")["smtp_password"]
    srv.passwords["alice@example.org"] = srv.alice_pw
    srv.cli("user", "alias", "add", "alice@example.org", "alice_lastname")
    return srv


@pytest.fixture(scope="session")
def smtp_server_sqlite(tmp_path_factory):
    """The shared server (fail_delay 200 ms), the documentation's example."""
    _check_binary()
    srv = Server(tmp_path_factory.mktemp("smtp-shared") / "postern")
    provision_documentation_example(srv)
    srv.start()
    yield srv
    while _open_clients:
        with contextlib.suppress(Exception):
            _open_clients.pop().close()
    srv.stop()


@pytest.fixture(scope="module")
def smtp_server(request, store_backend, tmp_path_factory):
    """The shared server: one for the session on SQLite; on PostgreSQL
    (a module with STORE_BACKENDS) one for the module."""
    if store_backend == "sqlite":
        yield request.getfixturevalue("smtp_server_sqlite")
        return
    _check_binary()
    srv = Server(tmp_path_factory.mktemp("smtp-shared-pg") / "postern")
    provision_documentation_example(srv)
    srv.start()
    yield srv
    while _open_clients:
        with contextlib.suppress(Exception):
            _open_clients.pop().close()
    srv.stop()


@pytest.fixture
def smtp_server_factory(tmp_path):
    """make(provision=True, start=True, serve_env=None, **conf) -> a Server of
    this test only. conf keys are section__key, e.g.
    limits__recipients_per_message=3; serve_env: more environment for
    `postern serve`."""
    _check_binary()
    made = []

    def make(provision=True, start=True, serve_env=None, **conf):
        srv = Server(tmp_path / ("postern%d" % len(made)), serve_env=serve_env, **conf)
        made.append(srv)
        if provision:
            provision_documentation_example(srv)
        if start:
            srv.start()
        return srv

    yield make
    while _open_clients:
        with contextlib.suppress(Exception):
            _open_clients.pop().close()
    for srv in made:
        srv.stop()
