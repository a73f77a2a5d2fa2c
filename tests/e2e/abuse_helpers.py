"""Helpers of the abuse-control suites: real smtplib clients from any
loopback address (127.0.0.0/8), and a transaction that reports where it
was refused instead of failing."""
import re
import smtplib
from typing import NamedTuple

from fixtures_smtp import make_message


class Outcome(NamedTuple):
    stage: str  # "mail", "rcpt", "data" (refused there) or "queued"
    code: int
    text: str

    @property
    def queued(self):
        return self.stage == "queued"


def client(srv, src="127.0.0.1", kind="submission"):
    """smtplib from source address src, TLS done, EHLO said."""
    return srv.smtplib(kind, src=src)


def login(srv, user, password=None, src="127.0.0.1"):
    """A client from src logged in with AUTH PLAIN (235 asserted)."""
    s = client(srv, src)
    code, text = auth_plain(s, user, password if password is not None else srv.passwords[user])
    assert code == 235, "AUTH as %s from %s: %d %r" % (user, src, code, text)
    return s


def auth_plain(s, user, password):
    s.user, s.password = user, password
    try:
        return s.auth("PLAIN", s.auth_plain)
    except smtplib.SMTPAuthenticationError as e:
        return e.smtp_code, e.smtp_error


def transaction(s, frm, to=("bob@remote.test",), msg=None):
    """MAIL, RCPT..., DATA on a logged-in client; where it stopped."""
    code, text = s.mail(frm)
    if code != 250:
        return Outcome("mail", code, text.decode())
    ok = 0
    last = None
    for t in to:
        code, text = s.rcpt(t)
        if code == 250:
            ok += 1
        else:
            last = Outcome("rcpt", code, text.decode())
    if ok == 0 or last is not None:
        if ok:
            s.rset()
        return last
    code, text = s.data(msg or make_message(frm=frm, to=to[0]))
    if code != 250:
        return Outcome("data", code, text.decode())
    return Outcome("queued", code, text.decode())


def send(srv, user, to=("bob@remote.test",), frm=None, src="127.0.0.1", password=None):
    """Log in as user from src and send one message; the Outcome."""
    s = login(srv, user, password, src)
    try:
        return transaction(s, frm or user, to)
    finally:
        s.close()


def resets_at(text):
    m = re.search(r"resets at (\d\d):(\d\d) UTC", text)
    assert m, "no reset time in %r" % text
    return int(m.group(1)), int(m.group(2))
