"""The whole inbound path through a real Dovecot (issue 13): postern is
Dovecot's passdb (`postern dovecot-auth`, its checkpassword program), so
an IMAP login works with the login password or an app password and never
with the SMTP password; mail from outside reaches the INBOX through
postern's MX and LMTP.
"""
import imaplib
import os
import re
import socket
import subprocess
import time

import pytest

from fixtures_delivery import DnsServer
from fixtures_dovecot import MAIL_USER, Dovecot
from fixtures_http import LOGIN_PASSWORD, HttpServer, _check_binary
from fixtures_smtp import env_for_postern, make_message, queue_id
from test_inbound_checks import message, rsa_key, sign
from test_panel_api import totp


class PosternDovecot(Dovecot):
    """Dovecot asking postern who may log in, and each user's home and
    mailbox quota (the dict userdb), keeping its quota usage in postern:
    the userdb and quota parts are what `postern dovecot-config` writes
    for operators. postern's [mailbox] dict_socket is .dict_socket."""

    postern_conf = None

    @property
    def dict_socket(self):
        # in the fixture's own folder: Dovecot's users must reach it
        return str(self.dir / "postern-dict")

    def postern_config(self, *args):
        """`postern dovecot-config` for this Dovecot's folders."""
        r = subprocess.run([os.environ["POSTERN_BIN"], "-c", self.postern_conf,
                            "dovecot-config", "--mail-dir", str(self.mail),
                            "--mail-user", MAIL_USER,
                            "--userdb-file", str(self.dir / "userdb.conf.ext"), *args],
                           capture_output=True, text=True, env=env_for_postern())
        assert r.returncode == 0, r.stderr
        return r.stdout

    def _section(self, name):
        m = re.search(r"(?ms)^%s \{\n.*?^\}\n" % name, self.postern_config())
        assert m, name
        return m.group(0)

    def passdb_conf(self):
        # pytest's folders are 0700: the checkpassword program runs as
        # root here (Dovecot runs it as its internal user by default)
        # (and without an address-space limit: the test build has ASan)
        return ("service auth {\n  user = root\n  vsz_limit = 0\n}\n"
                "passdb {\n  driver = checkpassword\n  args = %s -c %s dovecot-auth\n}\n"
                % (os.environ["POSTERN_BIN"], self.postern_conf))

    def userdb_conf(self):
        userdb = self.dir / "userdb.conf.ext"
        userdb.write_text(self.postern_config("--userdb"))
        os.chmod(userdb, 0o644)
        groups = re.search(r"(?m)^mail_access_groups = .*\n", self.postern_config())
        return self._section("userdb") + (groups.group(0) if groups else "")

    def plugin_conf(self):
        return self._section("plugin")


def postern_and_dovecot(root, *dns_lines):
    """postern (the MX, Dovecot's passdb, userdb and quota dict) and its
    Dovecot, with a DNS server for the MX's checks; yields (srv, dv)."""
    _check_binary()
    dv = PosternDovecot()
    dns = DnsServer(root / "dns").start()
    if dns_lines:
        dns.set(*dns_lines)
    srv = HttpServer(root / "postern", mailbox__lmtp=dv.lmtp,
                     mailbox__auth_socket=str(root / "auth.sock"),
                     mailbox__doveadm="doveadm -c %s" % dv.conf,
                     mailbox__dict_socket=dv.dict_socket,
                     delivery__dns_servers=dns.address)
    dv.postern_conf = str(srv.conf)
    srv.start()
    srv.add_domain("example.org")
    dv.start()
    yield srv, dv
    dv.close()
    srv.stop()
    dns.stop()


SENDER_KEY = rsa_key()  # (PEM, p=) of sel._domainkey.sender.test


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    yield from postern_and_dovecot(
        tmp_path_factory.mktemp("imap"),
        'quar.test. TXT "v=spf1 -all"', '_dmarc.quar.test. TXT "v=DMARC1; p=quarantine"',
        'sender.test. TXT "v=spf1 ip4:127.0.0.1 -all"',
        'sel._domainkey.sender.test. TXT "v=DKIM1; k=rsa; p=%s"' % SENDER_KEY[1],
        '_dmarc.sender.test. TXT "v=DMARC1; p=none"',
        'bad.test. TXT "v=spf1 -all"', '_dmarc.bad.test. TXT "v=DMARC1; p=none"')


class IMAP4From(imaplib.IMAP4):
    """imaplib from a source address of our choice: Dovecot slows an
    address after failed logins (its auth penalty), so the failures here
    come from another loopback address than the fixture's own logins."""

    def __init__(self, host, port, source, timeout):
        self.source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout,
                                        source_address=(self.source, 0))


def imap_login(dv, login, password, source="127.0.0.1"):
    im = IMAP4From("127.0.0.1", dv.imap_port, source, timeout=15)
    try:
        im.login(login, password)
    except imaplib.IMAP4.error:
        im.logout()
        return None
    return im


def test_imap_opens_with_the_login_password_and_app_passwords_only(world):
    srv, dv = world
    addr, smtp_pw = srv.user("imap")
    im = imap_login(dv, addr, LOGIN_PASSWORD)
    assert im is not None, dv.log()[-2000:]
    assert im.select("INBOX")[0] == "OK"
    im.logout()
    api = srv.api(key=None)
    assert api.login(addr).status == 200
    app = api.post("/api/v1/me/app-passwords", {"label": "phone"}).json["password"]
    im = imap_login(dv, addr, app)
    assert im is not None
    im.logout()
    assert imap_login(dv, addr, smtp_pw, "127.0.0.5") is None
    assert imap_login(dv, addr, "wrong", "127.0.0.5") is None
    assert imap_login(dv, "nobody@example.org", LOGIN_PASSWORD, "127.0.0.5") is None
    events = [e for e in srv.cli("log", "auth", addr)["events"] if e["mech"] == "imap"]
    assert sorted(e["outcome"] for e in events) == ["failed", "failed", "ok", "ok"], events


def test_mail_from_outside_reaches_the_inbox_read_with_the_login_password(world):
    srv, dv = world
    addr, _ = srv.user("inbox")
    c = srv.client("smtp")
    c.ehlo("mail.sender.test")
    msg = make_message(frm="friend@sender.test", to=addr, subject="hello from outside")
    r = c.mail("friend@sender.test", addr, msg)
    assert r.code == 250, r
    qid = queue_id(r)
    dv.users[addr.lower()] = (LOGIN_PASSWORD, None)  # how wait_inbox logs in
    got = dv.wait_inbox(addr, 1)
    assert got[0]["Subject"] == "hello from outside"
    assert got[0]["Return-Path"] == "<friend@sender.test>"
    assert got[0]["Delivered-To"] == addr
    assert "DKIM-Signature" not in got[0]
    assert qid not in " ".join(p.name for p in srv.queue_dir.iterdir())


def test_dmarc_quarantine_lands_in_the_junk_folder(world):
    srv, dv = world
    addr, _ = srv.user("junk")
    c = srv.client("smtp")
    c.ehlo("mail.quar.test")
    msg = make_message(frm="someone@quar.test", to=addr, subject="quarantined")
    r = c.mail("someone@quar.test", addr, msg)
    assert r.code == 250, r
    junk = dv.maildir(addr) / ".Junk" / "new"
    deadline = time.monotonic() + 15
    while not (junk.exists() and os.listdir(junk)) and time.monotonic() < deadline:
        time.sleep(0.05)
    im = imap_login(dv, addr, LOGIN_PASSWORD)
    assert im is not None
    typ, data = im.select("Junk", readonly=True)
    assert typ == "OK" and data[0] == b"1", (typ, data, dv.log()[-2000:])
    typ, msgs = im.fetch(b"1", "(BODY.PEEK[HEADER])")
    head = msgs[0][1]
    assert b"dmarc=fail" in head and b"header.from=quar.test" in head, head
    assert im.select("INBOX", readonly=True)[1][0] == b"0"
    im.logout()


def test_removing_a_user_ends_their_open_imap_sessions(world):
    srv, dv = world
    addr, _ = srv.user("kicked")
    im = imap_login(dv, addr, LOGIN_PASSWORD)
    assert im is not None
    assert im.select("INBOX")[0] == "OK"
    srv.api().ok("DELETE", "/api/v1/users/%s" % addr)
    # the session open before is ended by Dovecot, not at its next login
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        for _ in range(50):
            im.noop()
            time.sleep(0.1)
    assert imap_login(dv, addr, LOGIN_PASSWORD) is None


def inbox_authres(dv, addr, subject, timeout=15):
    """The Authentication-Results of the INBOX message with subject, once
    it has arrived (None if it does not within timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in dv.wait_inbox(addr, 1):
            if m["Subject"] == subject:
                return " ".join(str(m["Authentication-Results"]).split())
        time.sleep(0.05)
    return None


def test_the_inbox_shows_what_the_checks_found(world):
    srv, dv = world
    addr, _ = srv.user("checked")
    dv.users[addr.lower()] = (LOGIN_PASSWORD, None)
    c = srv.client("smtp")
    c.ehlo("mail.sender.test")
    good = sign(message("friend@sender.test", "all good").replace(
        b"<alice@example.org>", b"<%s>" % addr.encode()), SENDER_KEY[0])
    assert c.mail("friend@sender.test", addr, good).code == 250
    ar = inbox_authres(dv, addr, "all good")
    assert ar and "spf=pass" in ar and "dkim=pass" in ar and "dmarc=pass" in ar, ar
    # SPF fails (-all), the signature is broken (body changed), DMARC
    # fails; p=none: delivered, and the mailbox can tell
    bad = sign(message("someone@bad.test", "all bad").replace(
        b"<alice@example.org>", b"<%s>" % addr.encode()), SENDER_KEY[0])
    bad = bad.replace(b"Hello, world.", b"Hello, w0rld.")
    assert c.mail("someone@bad.test", addr, bad).code == 250
    ar = inbox_authres(dv, addr, "all bad")
    assert ar and "spf=fail" in ar and "dkim=fail" in ar and "dmarc=fail" in ar, ar


def test_with_two_step_sign_in_imap_takes_only_app_passwords(world):
    srv, dv = world
    addr, _ = srv.user("twostep")
    api = srv.api(key=None)
    assert api.login(addr).status == 200
    app = api.post("/api/v1/me/app-passwords", {"label": "laptop"}).json["password"]
    secret = api.post("/api/v1/me/totp").json["secret"]
    assert api.post("/api/v1/me/totp/confirm", {"code": totp(secret)}).status == 200
    assert imap_login(dv, addr, LOGIN_PASSWORD, "127.0.0.6") is None
    im = imap_login(dv, addr, app)
    assert im is not None
    im.logout()
