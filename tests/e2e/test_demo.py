"""
`make run` end to end (scripts/demo.sh, issue 13): the demo starts postern
and a Dovecot of its own (config, mail and sockets in demo/dovecot, IMAP
on loopback with STARTTLS and with TLS), prints the IMAP settings beside
the SMTP ones, and checks that a message the demo user sends to
themselves (submission, AUTH) lands in their INBOX. Ctrl-C stops both;
a second run works and keeps the mail.

Isolated: the demo's folder is made in /tmp (mode 0755: Dovecot's users
reach it), with a config made beforehand on free ports, which the demo
keeps; nothing of ./demo, the system's Dovecot or ports 143/993 is used.
"""
import contextlib
import imaplib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import POSTERN_BIN, SANITIZER_MARKS, base_env
from fixtures_dovecot import DOVECOT
from fixtures_smtp import _check_binary, free_port

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo.sh"
USER = "demo@example.test"
# what the demo says once it knows (see scripts/demo.sh)
DONE = ("Checked:", "did not reach its INBOX", "was not accepted", "Dovecot did not start")


class Demo:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="postern-demo-", dir="/tmp"))
        os.chmod(self.root, 0o755)
        self.dir = self.root / "demo"
        self.ports = {k: free_port() for k in
                      ("smtp", "submission", "submissions", "http", "imap", "imaps")}
        subprocess.run([POSTERN_BIN, "init", "--dir", str(self.dir), "--hostname", "localhost"],
                       env=base_env(), check=True, capture_output=True, timeout=60)
        conf = self.dir / "postern.conf"
        text = conf.read_text()
        for k in ("smtp", "submission", "submissions", "http"):
            text = re.sub(r"(?m)^%s = .*$" % k, "%s = 127.0.0.1:%d" % (k, self.ports[k]), text)
        text = re.sub(r"(?m)^imap_port = .*$", "imap_port = %d" % self.ports["imaps"], text)
        text = re.sub(r"(?m)^imap_starttls_port = .*$",
                      "imap_starttls_port = %d" % self.ports["imap"], text)
        conf.write_text(text)
        self.proc = None
        self.out = []

    def start(self, timeout=90):
        """Run the demo until it says whether the message reached the INBOX."""
        self.out = []
        self.proc = subprocess.Popen(["sh", str(SCRIPT), POSTERN_BIN, str(self.dir)],
                                     cwd=self.root, env=base_env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not any(m in line for line in self.out for m in DONE):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the demo did not check its INBOX:\n%s" % self.text()[-6000:],
                            pytrace=False)
            time.sleep(0.1)
        return self.text()

    def _read(self):
        for line in self.proc.stdout:
            self.out.append(line.decode(errors="replace"))

    def text(self):
        return "".join(self.out)

    def ctrl_c(self):
        """What Ctrl-C does: SIGINT to the whole foreground group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            rc = self.proc.wait(30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        time.sleep(0.2)  # the reader's last lines
        return rc

    def dovecot_dir(self):
        return (self.dir / "dovecot").resolve()

    def close(self):
        if self.proc and self.proc.poll() is None:
            self.ctrl_c()
        conf = self.dovecot_dir() / "dovecot.conf"
        if conf.exists():  # whatever happened, no Dovecot is left behind
            subprocess.run([DOVECOT, "-c", str(conf), "stop"], capture_output=True, timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def listens(port):
    with contextlib.suppress(OSError):
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    return False


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the demo's self-signed certificate
    return ctx


def inbox_subjects(im):
    typ, data = im.select("INBOX", readonly=True)
    assert typ == "OK", data
    typ, data = im.search(None, "ALL")
    subjects = []
    for num in data[0].split():
        typ, msg = im.fetch(num, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        subjects.append(msg[0][1].decode().strip())
    return subjects


@pytest.fixture
def demo():
    _check_binary()
    if os.geteuid() != 0:
        pytest.skip("the demo starts Dovecot as root")
    if not os.access(DOVECOT, os.X_OK) or shutil.which("swaks") is None:
        pytest.fail("no Dovecot or swaks: scripts/deps.sh run installs them", pytrace=False)
    d = Demo()
    try:
        yield d
    finally:
        d.close()


def test_make_run_starts_dovecot_prints_imap_and_the_message_to_itself_is_in_the_inbox(demo):
    out = demo.start()
    assert "Checked: %s wrote to itself (submission, AUTH) and the message is in its INBOX" % USER \
        in out, out[-4000:]
    imap, imaps = demo.ports["imap"], demo.ports["imaps"]
    assert "127.0.0.1:%d (STARTTLS)   IMAPS: 127.0.0.1:%d (TLS)" % (imap, imaps) in out, out
    login_pw = (demo.dir / ".login-password").read_text().strip()
    smtp_pw = re.search(r"SMTP password:\s+(\S+)", out).group(1)
    assert "login password:    %s   (control panel, IMAP)" % login_pw in out
    assert "never the SMTP password" in out
    assert "submission:        127.0.0.1:%d" % demo.ports["submission"] in out
    # the demo's own Dovecot, in its folder; the config postern wrote
    dc = demo.dovecot_dir()
    assert dc == demo.dir / "dovecot"
    assert "dovecot-auth" in (dc / "dovecot.conf").read_text()
    conf = (demo.dir / "postern.conf").read_text()
    assert "lmtp = unix:%s/lmtp" % dc in conf and "auth_socket = data/auth.sock" in conf
    assert re.search(r"(?m)^doveadm = \S*doveadm -c %s/dovecot.conf$" % re.escape(str(dc)), conf)

    # IMAP with TLS and with STARTTLS, the login password
    with imaplib.IMAP4_SSL("127.0.0.1", imaps, ssl_context=tls_context(), timeout=15) as im:
        im.login(USER, login_pw)
        (subject,) = inbox_subjects(im)
        assert subject.startswith("Subject: postern demo: to myself"), subject
        im.logout()
    with imaplib.IMAP4("127.0.0.1", imap, timeout=15) as im:
        im.starttls(ssl_context=tls_context())
        im.login(USER, login_pw)
        im.logout()
    with imaplib.IMAP4_SSL("127.0.0.1", imaps, ssl_context=tls_context(), timeout=15) as im:
        with pytest.raises(imaplib.IMAP4.error):
            im.login(USER, smtp_pw)

    # the set-up files name this IMAP server
    url = "http://127.0.0.1:%d/mail/config-v1.1.xml?emailaddress=%s" % (demo.ports["http"], USER)
    with urllib.request.urlopen(url, timeout=15) as r:
        prov = ET.fromstring(r.read()).find("emailProvider")
    assert [(i.findtext("hostname"), i.findtext("port"), i.findtext("socketType"))
            for i in prov.findall("incomingServer")] == [
        ("localhost", str(imaps), "SSL"), ("localhost", str(imap), "STARTTLS")]

    # Ctrl-C stops postern and Dovecot
    demo.ctrl_c()
    assert "Dovecot stopped." in demo.text()
    assert not listens(imaps) and not listens(imap) and not listens(demo.ports["submission"])

    # a second run: the same demo, both messages in the INBOX
    out = demo.start()
    assert "Checked:" in out, out[-4000:]
    with imaplib.IMAP4_SSL("127.0.0.1", imaps, ssl_context=tls_context(), timeout=15) as im:
        im.login(USER, login_pw)
        assert len(inbox_subjects(im)) == 2
        im.logout()
    demo.ctrl_c()
    assert not listens(imaps)
    assert not [m for m in SANITIZER_MARKS if m in demo.text()], demo.text()[-6000:]
