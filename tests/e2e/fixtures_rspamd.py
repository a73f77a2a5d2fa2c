"""
rspamd end-to-end fixture: Debian's rspamd (3.4) with a minimal config of
its own in a folder of its own, never the system's: `rspamd -f -c
FOLDER/rspamd.conf`, its normal worker alone on 127.0.0.1 at a free port
(Debian's postinst may start a system rspamd on localhost:11333-11334:
neither needed nor disturbed), its log in FOLDER/rspamd.log.

The config loads no rule, module or map (no Redis, no DNS, nothing from
the network): what answers is rspamd's core, whose test patterns (GTUBE
and its variants, `enable_test_patterns`) give each action on demand:

  GTUBE          reject           (XJS*C4JDBQADN1...)
  GTUBE_ADD      add header       (YJS*...)
  GTUBE_REWRITE  rewrite subject  (ZJS*...)
  anything else  no action, score 0

  Rspamd            .start(), .stop(), .address ("127.0.0.1:PORT", for
                    [filter] rspamd), .log()
  SlowRspamd        a loopback HTTP server that reads a request and then
                    says nothing until it is stopped; .address, .requests
  FakeRspamd(reply) answers each request with reply (http_reply(body)
                    makes one); .address, .requests ((header, body) each)
  rspamd (fixture)  one Rspamd for the module

The folder is made in /tmp with mode 0755 (pytest's are 0700) and given
to rspamd's user: as root, rspamd must be told whom to run as (-u/-g).
"""
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from fixtures_smtp import free_port, terminate

RSPAMD = "/usr/bin/rspamd"
RSPAMD_USER = "_rspamd"  # Debian's

_PATTERN = "JS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
GTUBE = "X" + _PATTERN
GTUBE_ADD = "Y" + _PATTERN
GTUBE_REWRITE = "Z" + _PATTERN

# actions and their scores: a GTUBE variant scores its action's threshold
ACTIONS = {"greylist": 4, "add_header": 6, "rewrite_subject": 8, "reject": 15}


class Rspamd:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="postern-rspamd-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.conf = self.dir / "rspamd.conf"
        self.logfile = self.dir / "rspamd.log"
        self.proc = None

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _write_conf(self):
        d = self.dir
        # a small suffix list: the full one takes rspamd seconds to compile
        (d / "tld.dat").write_text("test\norg\nnet\ncom\n")
        actions = "\n".join("  %s = %s;" % kv for kv in ACTIONS.items())
        self.conf.write_text(f"""\
# written by tests/e2e/fixtures_rspamd.py
options {{
  pidfile = "{d}/rspamd.pid";
  dbdir = "{d}";
  tempdir = "{d}";
  filters = "";
  url_tld = "{d}/tld.dat";
  enable_test_patterns = true;
  dns {{
    nameserver = ["127.0.0.1:{free_port()}"];
    timeout = 1s;
    retransmits = 1;
  }}
}}
logging {{
  type = "file";
  filename = "{self.logfile}";
  level = "info";
}}
actions {{
{actions}
}}
worker "normal" {{
  bind_socket = "127.0.0.1:{self.port}";
  count = 1;
}}
""")
        if os.geteuid() == 0:
            pw = pwd.getpwnam(RSPAMD_USER)
            for p in [d] + list(d.iterdir()):
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def start(self, timeout=30):
        assert self.proc is None, "already running"
        self._write_conf()
        argv = [RSPAMD, "-f", "-c", str(self.conf)]
        if os.geteuid() == 0:
            argv += ["-u", RSPAMD_USER, "-g", RSPAMD_USER]
        self._out = open(self.dir / "stdout.log", "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._out)
        deadline = time.monotonic() + timeout
        while not self._pongs():
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                pytest.fail("rspamd exited (rc %s) at start:\n%s" % (rc, self.log()),
                            pytrace=False)
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail("rspamd does not answer:\n%s" % self.log(), pytrace=False)
            time.sleep(0.1)
        return self

    def _pongs(self):
        with contextlib.suppress(OSError):
            with urllib.request.urlopen("http://%s/ping" % self.address, timeout=2) as r:
                return r.read().strip() == b"pong"
        return False

    def stop(self):
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        terminate(proc, 20)
        self._out.close()

    def log(self):
        text = ""
        for p in (self.logfile, self.dir / "stdout.log"):
            with contextlib.suppress(FileNotFoundError):
                text += p.read_text(errors="replace")
        return text

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SlowRspamd:
    """Takes connections and reads what comes, answers nothing: an rspamd
    that hangs. .requests counts the requests whose header arrived."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.requests = 0
        self.conns = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c):
        data = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    return
                data += chunk
            with self.lock:
                self.requests += 1
            while c.recv(65536):
                pass

    def stop(self):
        self.stopping = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with self.lock:
            for c in self.conns:
                with contextlib.suppress(OSError):
                    c.shutdown(socket.SHUT_RDWR)
                c.close()


class FakeRspamd:
    """Answers every request with the same bytes, as an rspamd that says
    whatever a test needs (an action no GTUBE variant gives, a broken
    reply); .requests holds each request's (header, body) as it came."""

    def __init__(self, reply):
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.requests = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c, contextlib.suppress(OSError):
                c.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                size = 0
                for h in head.split(b"\r\n")[1:]:
                    k, _, v = h.partition(b":")
                    if k.strip().lower() == b"content-length":
                        size = int(v)
                while len(body) < size:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                self.requests.append((head, body))
                c.sendall(self.reply)

    def stop(self):
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def http_reply(body, status=b"200 OK"):
    """body as rspamd sends it: HTTP/1.1, Content-Length, then close."""
    return (b"HTTP/1.1 %s\r\nConnection: close\r\nServer: rspamd/3.4\r\n"
            b"Content-Length: %d\r\nContent-Type: application/json\r\n\r\n"
            % (status, len(body))) + body


@pytest.fixture(scope="module")
def rspamd(request):
    """An rspamd of its own for the module, stopped and removed after it."""
    if not os.access(RSPAMD, os.X_OK):
        pytest.fail("no %s: scripts/deps.sh test installs rspamd" % RSPAMD, pytrace=False)
    r = Rspamd()
    try:
        yield r.start()
    finally:
        r.close()
