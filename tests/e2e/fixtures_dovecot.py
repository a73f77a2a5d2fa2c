"""
Dovecot end-to-end fixture: Debian's Dovecot (dovecot-imapd,
dovecot-lmtpd 2.3) with a config of its own in a folder of its own, never
the system's: `dovecot -F -c FOLDER/dovecot.conf`, base_dir and state_dir
in the folder, its log in FOLDER/dovecot.log, LMTP on FOLDER/lmtp (a UNIX
socket) and on 127.0.0.1 at a free port, IMAP on 127.0.0.1 at a free port (no TLS), no other listener, so
a system Dovecot on 143/993 (Debian's postinst may start one) is neither
needed nor disturbed.

Loaded from conftest.py (pytest_plugins = [..., "fixtures_dovecot"]).

  Dovecot            .add_user(addr, password, quota=None) (before start:
                     the passwd-file; quota "1K" is a quota_rule),
                     .start(), .stop() (the mail stays: start() again),
                     .lmtp ("unix:PATH", for [mailbox] lmtp), .lmtp_tcp
                     ("127.0.0.1:PORT"), .imap_port,
                     .inbox(addr) (every INBOX message, read with imaplib),
                     .wait_inbox(addr, n), .log()
  dovecot (fixture)  a Dovecot for one test, stopped and removed after it
                     (its log printed when the test failed)

The folder is made in /tmp with mode 0755, not under pytest's tmp_path:
Dovecot's processes run as the users dovecot (mail, auth) and dovenull
(login), which must reach their files, and pytest's folders are 0700.
Users and passwords come from a passwd-file the fixture writes
(passdb_conf()/userdb_conf()); when postern answers Dovecot's passdb
itself, those two methods are what changes (and plugin_conf(), the
quota plugin's backend, when postern keeps the usage).
"""
import contextlib
import email
import email.policy
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from fixtures_smtp import free_port, terminate

DOVECOT = "/usr/sbin/dovecot"
MAIL_USER = "dovecot"  # mail_uid/mail_gid: exists once dovecot-core is installed
PASSWORD = "imap-secret"


class Dovecot:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="postern-dovecot-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.conf = self.dir / "dovecot.conf"
        self.users_file = self.dir / "users"
        self.mail = self.dir / "mail"
        self.socket = self.dir / "lmtp"
        self.logfile = self.dir / "dovecot.log"
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.users = {}
        self.proc = None
        pw = pwd.getpwnam(MAIL_USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        for d in ("run", "state"):
            (self.dir / d).mkdir(mode=0o755)
        self.mail.mkdir(mode=0o755)
        os.chown(self.mail, self.uid, self.gid)

    @property
    def lmtp(self):
        """The value of postern's [mailbox] lmtp for this Dovecot."""
        return "unix:%s" % self.socket

    @property
    def lmtp_tcp(self):
        """The same over TCP (HOST:PORT)."""
        return "127.0.0.1:%d" % self.lmtp_port

    # users

    def add_user(self, address, password=PASSWORD, quota=None):
        """A mailbox (and IMAP login) for address; quota e.g. "1K"."""
        self.users[address.lower()] = (password, quota)
        self._write_users()

    def maildir(self, address):
        local, _, domain = address.lower().partition("@")
        return self.mail / domain / local

    def _write_users(self):
        lines = []
        for addr, (password, quota) in sorted(self.users.items()):
            extra = "userdb_quota_rule=*:storage=%s" % quota if quota else ""
            lines.append("%s:{PLAIN}%s::::::%s" % (addr, password, extra))
        self.users_file.write_text("\n".join(lines) + "\n")
        os.chmod(self.users_file, 0o644)

    def passdb_conf(self):
        return ("passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s\n}\n"
                % self.users_file)

    def userdb_conf(self):
        return ("userdb {\n  driver = passwd-file\n  args = %s\n"
                "  default_fields = uid=%s gid=%s home=%s/%%d/%%n\n}\n"
                % (self.users_file, MAIL_USER, MAIL_USER, self.mail))

    def plugin_conf(self):
        return "plugin {\n  quota = maildir:User quota\n}\n"

    # the config

    def _write_conf(self):
        d = self.dir
        self.conf.write_text(f"""\
# written by tests/e2e/fixtures_dovecot.py
base_dir = {d}/run
state_dir = {d}/state
log_path = {self.logfile}
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_uid = {MAIL_USER}
mail_gid = {MAIL_USER}
mail_location = maildir:{self.mail}/%d/%n
mail_plugins = quota
lmtp_rcpt_check_quota = yes
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
{self.passdb_conf()}{self.userdb_conf()}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  unix_listener {self.socket} {{
    mode = 0666
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
{self.plugin_conf()}""")

    # the process

    def start(self, timeout=15):
        assert self.proc is None, "already running"
        self._write_conf()
        self._out = open(self.dir / "stdout.log", "ab")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._out)
        deadline = time.monotonic() + timeout
        while not (self._listens_imap() and self._listens_lmtp()):
            if self.proc.poll() is not None:
                rc, self.proc = self.proc.returncode, None
                pytest.fail("dovecot exited (rc %s) at start:\n%s" % (rc, self.log()),
                            pytrace=False)
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail("dovecot does not listen:\n%s" % self.log(), pytrace=False)
            time.sleep(0.05)
        return self

    def _listens_imap(self):
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", self.imap_port), timeout=2) as s:
                s.settimeout(2)
                return s.recv(64).startswith(b"* OK")
        return False

    def _listens_lmtp(self):
        with contextlib.suppress(OSError):
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.socket))
                return s.recv(64).startswith(b"220")
        return False

    def stop(self):
        """SIGTERM to the master (it stops its children); waits until the
        LMTP socket refuses."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        terminate(proc, 10)
        self._out.close()
        deadline = time.monotonic() + 10
        while self._listens_lmtp() and time.monotonic() < deadline:
            time.sleep(0.05)

    def log(self):
        text = ""
        for p in (self.logfile, self.dir / "stdout.log"):
            with contextlib.suppress(FileNotFoundError):
                text += p.read_text(errors="replace")
        return text

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # reading mail

    def inbox(self, address, password=None):
        """Every message in address's INBOX (bytes), read over IMAP."""
        password = password or self.users[address.lower()][0]
        with imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10) as im:
            im.login(address, password)
            im.select("INBOX", readonly=True)
            typ, data = im.search(None, "ALL")
            assert typ == "OK", data
            out = []
            for num in data[0].split():
                typ, msg = im.fetch(num, "(BODY.PEEK[])")
                assert typ == "OK", msg
                out.append(msg[0][1])
            im.logout()
        return out

    def wait_inbox(self, address, count=1, timeout=15):
        """Wait until address's INBOX holds count messages; them, parsed."""
        deadline = time.monotonic() + timeout
        while True:
            # the maildir first: no IMAP login per poll
            new = self.maildir(address) / "new"
            cur = self.maildir(address) / "cur"
            n = sum(len(os.listdir(p)) for p in (new, cur) if p.exists())
            if n >= count:
                break
            if time.monotonic() > deadline:
                pytest.fail("%d message(s) in the INBOX of %s (got %d):\n%s"
                            % (count, address, n, self.log()[-3000:]), pytrace=False)
            time.sleep(0.05)
        return [email.message_from_bytes(raw, policy=email.policy.compat32)
                for raw in self.inbox(address)]


@pytest.fixture
def dovecot(request):
    """A Dovecot of its own for one test (not started: add users first)."""
    if not os.access(DOVECOT, os.X_OK):
        pytest.fail("no %s: scripts/deps.sh test installs dovecot-imapd and "
                    "dovecot-lmtpd" % DOVECOT, pytrace=False)
    d = Dovecot()
    try:
        yield d
    finally:
        if getattr(request.node, "_delivery_failed", False):
            print("==== dovecot\n%s" % d.log()[-10000:])
        d.close()
