"""Authentication on the submission ports: which secrets open a session,
which do not, and how a refusal looks (the same reply after the same
delay, whatever was wrong).

Credentials are made with the CLI while the server runs: SMTP passwords,
app passwords, OAuth tokens (XOAUTH2, OAUTHBEARER), the domain's SMTP
password; and the states that stop a user at MAIL FROM: terms of service
not accepted, blocked.
"""
import base64
import json
import smtplib
import time

import pytest

from fixtures_smtp import make_message, oauthbearer_ir, queue_id, xoauth2_ir

# every test on the embedded store and again on PostgreSQL (conftest)
STORE_BACKENDS = ("sqlite", "postgresql")


def tls_client(srv, kind="submission"):
    """Connected, TLS on, EHLO said: ready for AUTH."""
    c = srv.client(kind)
    c.ehlo()
    if kind == "submission":
        c.starttls()
        c.ehlo()
    return c


def can_send(srv, c, frm):
    r = c.mail(frm, "bob@remote.test", make_message(frm=frm, subject="can send"))
    assert r.code == 250, r
    return queue_id(r)


# --- OAuth tokens -----------------------------------------------------------


def issue_token(srv, addr):
    out = srv.cli("token", "issue", addr, "--ttl", "1h")
    assert out["token"].startswith(out["id"] + ".")
    return out


@pytest.mark.parametrize("kind", ["submission", "submissions"])
def test_xoauth2_with_an_issued_token_authenticates(smtp_server, kind):
    tok = issue_token(smtp_server, "alice@example.org")
    c = tls_client(smtp_server, kind)
    r = c.cmd("AUTH XOAUTH2 " + xoauth2_ir("alice@example.org", tok["token"]))
    assert r.code == 235 and r.enh == "2.7.0", r
    qid = can_send(smtp_server, c, "alice@example.org")
    assert smtp_server.spool(qid).env["auth"] == "alice@example.org"


def test_oauthbearer_with_an_issued_token_authenticates(smtp_server):
    tok = issue_token(smtp_server, "alice@example.org")
    c = tls_client(smtp_server)
    r = c.cmd("AUTH OAUTHBEARER " + oauthbearer_ir("alice@example.org", tok["token"]))
    assert r.code == 235, r
    can_send(smtp_server, c, "alice_lastname@example.net")


def test_xoauth2_without_initial_response_takes_the_token_after_334(smtp_server):
    tok = issue_token(smtp_server, "alice@example.org")
    c = tls_client(smtp_server)
    r = c.cmd("AUTH XOAUTH2")
    assert r.code == 334, r
    r = c.cmd(xoauth2_ir("alice@example.org", tok["token"]))
    assert r.code == 235, r


def test_smtplib_docmd_xoauth2_works(smtp_server):
    tok = issue_token(smtp_server, "alice@example.org")
    s = smtp_server.smtplib("submission")
    code, resp = s.docmd("AUTH", "XOAUTH2 " + xoauth2_ir("alice@example.org", tok["token"]))
    assert code == 235, resp
    code, resp = s.mail("alice@example.org")
    assert code == 250, resp


def refused_bearer(c, mech, ir):
    """AUTH with a bad bearer: RFC 7628 error challenge, then 535."""
    r = c.cmd("AUTH %s %s" % (mech, ir))
    assert r.code == 334, r
    challenge = json.loads(base64.b64decode(r.text))
    assert "status" in challenge, challenge
    r = c.cmd("")  # the dummy response the client owes
    assert r.code == 535 and r.enh == "5.7.8", r
    return challenge


@pytest.mark.parametrize("mech", ["XOAUTH2", "OAUTHBEARER"])
def test_a_revoked_token_is_refused_with_535(smtp_server, mech):
    tok = issue_token(smtp_server, "alice@example.org")
    out = smtp_server.cli("token", "revoke", tok["id"])
    assert out is not None
    c = tls_client(smtp_server)
    ir = (xoauth2_ir if mech == "XOAUTH2" else oauthbearer_ir)("alice@example.org", tok["token"])
    refused_bearer(c, mech, ir)
    # the session goes on: the same token cannot be retried into success
    assert c.cmd("NOOP").code == 250
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 530


@pytest.mark.parametrize("mech", ["XOAUTH2", "OAUTHBEARER"])
def test_a_token_issued_for_imap_does_not_open_submission_and_one_for_smtp_does(
        smtp_server, mech):
    make_ir = xoauth2_ir if mech == "XOAUTH2" else oauthbearer_ir
    imap = smtp_server.cli("token", "issue", "alice@example.org", "--ttl", "1h",
                           "--scope", "imap")
    assert imap["scope"] == "imap"
    c = tls_client(smtp_server)
    refused_bearer(c, mech, make_ir("alice@example.org", imap["token"]))
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 530
    events = smtp_server.cli("log", "auth", "alice@example.org")["events"]
    assert events[0]["outcome"] == "failed" and events[0]["kind"] == "token", events[0]
    for scope in ("smtp", "smtp imap"):
        tok = smtp_server.cli("token", "issue", "alice@example.org", "--ttl", "1h",
                              "--scope", scope)
        c = tls_client(smtp_server)
        r = c.cmd("AUTH %s %s" % (mech, make_ir("alice@example.org", tok["token"])))
        assert r.code == 235, (scope, r)
        can_send(smtp_server, c, "alice@example.org")


def test_a_token_with_a_wrong_secret_or_of_another_user_is_refused(smtp_server):
    tok = issue_token(smtp_server, "alice@example.org")
    other, _ = smtp_server.new_user("tokenless")
    c = tls_client(smtp_server)
    tid, secret = tok["token"].split(".", 1)
    refused_bearer(c, "XOAUTH2", xoauth2_ir("alice@example.org", tid + "." + secret[::-1]))
    refused_bearer(c, "XOAUTH2", xoauth2_ir(other, tok["token"]))


def test_a_token_is_not_a_password_and_a_password_is_not_a_token(smtp_server):
    tok = issue_token(smtp_server, "alice@example.org")
    c = tls_client(smtp_server)
    r = c.auth_plain("alice@example.org", tok["token"])
    assert r.code == 535, r
    refused_bearer(c, "XOAUTH2", xoauth2_ir("alice@example.org", smtp_server.alice_pw))


# --- which secrets open a session ---------------------------------------------


def test_the_login_password_is_refused_for_smtp(smtp_server):
    addr, smtp_pw = smtp_server.new_user("twopw")
    # the only test that sets a login password: argon2 is slow under ASan
    login_pw = "correct horse battery staple 42"
    smtp_server.cli("user", "password", addr, "--stdin", stdin=login_pw + "\n")
    c = tls_client(smtp_server)
    r = c.auth_plain(addr, login_pw)
    assert r.code == 535 and r.enh == "5.7.8", r
    r = c.auth_plain(addr, smtp_pw)
    assert r.code == 235, r


def test_after_smtp_password_generate_the_old_password_fails_and_the_new_works(smtp_server):
    addr, old = smtp_server.new_user("regen")
    new = smtp_server.cli("smtp-password", "generate", addr)["password"]
    assert new != old
    shown = smtp_server.cli("smtp-password", "show", addr)["password"]
    assert shown == new
    c = tls_client(smtp_server)
    r = c.auth_plain(addr, old)
    assert r.code == 535 and r.enh == "5.7.8", r
    r = c.auth_plain(addr, new)
    assert r.code == 235, r


def test_an_app_password_works_until_it_is_revoked(smtp_server):
    addr, _ = smtp_server.new_user("apps")
    app = smtp_server.cli("app-password", "add", addr, "--label", "phone")["password"]
    c = tls_client(smtp_server)
    r = c.auth_plain(addr, app)
    assert r.code == 235, r
    can_send(smtp_server, c, addr)
    smtp_server.cli("app-password", "revoke", addr, "phone")
    c = tls_client(smtp_server)
    r = c.auth_plain(addr, app)
    assert r.code == 535 and r.enh == "5.7.8", r


def test_an_app_password_of_one_user_does_not_open_another(smtp_server):
    addr, _ = smtp_server.new_user("appsa")
    other, _ = smtp_server.new_user("appsb")
    app = smtp_server.cli("app-password", "add", addr, "--label", "laptop")["password"]
    c = tls_client(smtp_server)
    assert c.auth_plain(other, app).code == 535


def test_a_user_who_has_not_accepted_the_terms_is_stopped_at_mail_from(smtp_server_factory,
                                                                         tmp_path):
    srv = smtp_server_factory()  # `tos set` concerns every user: a server of its own
    terms = tmp_path / "terms.txt"
    terms.write_text("Be nice. Do not spam.\n")
    srv.cli("tos", "set", str(terms))
    c = srv.session("alice@example.org", srv.alice_pw)
    r = c.cmd("MAIL FROM:<alice@example.org>")
    assert r.code == 550 and r.enh.startswith("5.7."), r
    assert "accept" in r.text and "terms" in r.text, r
    assert "alice@example.org" in r.text
    srv.cli("tos", "accept", "alice@example.org")
    c = srv.session("alice@example.org", srv.alice_pw)
    can_send(srv, c, "alice@example.org")
    # a new version must be accepted again
    terms.write_text("Be nice. Do not spam. Version 2.\n")
    assert srv.cli("tos", "set", str(terms))["version"] == 2
    c = srv.session("alice@example.org", srv.alice_pw)
    r = c.cmd("MAIL FROM:<alice@example.org>")
    assert r.code == 550 and "terms" in r.text, r


def test_a_blocked_user_is_stopped_at_mail_from_until_unblocked(smtp_server):
    addr, pw = smtp_server.new_user("blocked")
    smtp_server.cli("user", "block", addr, "--reason", "spam complaints")
    c = smtp_server.session(addr, pw)  # AUTH still succeeds
    r = c.cmd("MAIL FROM:<%s>" % addr)
    assert r.code == 550 and r.enh.startswith("5.7."), r
    assert "blocked" in r.text and "spam complaints" in r.text, r
    assert addr in r.text
    smtp_server.cli("user", "unblock", addr)
    c = smtp_server.session(addr, pw)
    can_send(smtp_server, c, addr)


# --- a credential that goes ends the sessions it opened -----------------------------


def mail_until_refused(s, frm, limit=10):
    """MAIL/RSET on an open smtplib session until MAIL is refused, at most
    limit seconds: (code, text, seconds)."""
    t = time.monotonic()
    while True:
        code, text = s.mail(frm)
        if code != 250 or time.monotonic() - t > limit:
            return code, text, time.monotonic() - t
        s.rset()
        time.sleep(0.5)


def open_session(srv, login, secret=None, token=None):
    s = srv.smtplib("submission")
    if token:
        code, text = s.docmd("AUTH", "XOAUTH2 " + xoauth2_ir(login, token))
    else:
        s.user, s.password = login, secret
        code, text = s.auth("PLAIN", s.auth_plain)
    assert code == 235, (code, text)
    code, text = s.mail(login)  # it sends at once
    assert code == 250, (code, text)
    s.rset()
    return s


def assert_ended(s, frm):
    code, text, took = mail_until_refused(s, frm)
    assert code == 421 and text.startswith(b"4.7.0 "), (code, text)
    assert b"log in again" in text, text
    assert took <= 7, took  # within the limits' refresh (5 s)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        s.noop()


def test_a_session_opened_with_the_smtp_password_ends_when_it_is_regenerated(smtp_server):
    addr, pw = smtp_server.new_user("regenopen")
    s = open_session(smtp_server, addr, pw)
    smtp_server.cli("smtp-password", "generate", addr)
    assert_ended(s, addr)
    assert "reason=credential_gone" in smtp_server.log()


def test_a_session_opened_with_an_app_password_ends_when_it_is_revoked(smtp_server):
    addr, _ = smtp_server.new_user("appopen")
    phone = smtp_server.cli("app-password", "add", addr, "--label", "phone")["password"]
    laptop = smtp_server.cli("app-password", "add", addr, "--label", "laptop")["password"]
    s_phone = open_session(smtp_server, addr, phone)
    s_laptop = open_session(smtp_server, addr, laptop)
    s_smtp = open_session(smtp_server, addr, smtp_server.passwords[addr])
    smtp_server.cli("app-password", "revoke", addr, "phone")
    assert_ended(s_phone, addr)
    # the other credentials of the user keep their sessions
    for s in (s_laptop, s_smtp):
        code, text = s.mail(addr)
        assert code == 250, (code, text)
        s.rset()


def test_a_session_opened_with_a_token_ends_when_it_is_revoked(smtp_server):
    addr, _ = smtp_server.new_user("tokopen")
    tok = issue_token(smtp_server, addr)
    s = open_session(smtp_server, addr, token=tok["token"])
    smtp_server.cli("token", "revoke", tok["id"])
    assert_ended(s, addr)


def test_a_session_goes_on_while_its_credential_stands(smtp_server):
    addr, pw = smtp_server.new_user("standing")
    s = open_session(smtp_server, addr, pw)
    smtp_server.cli("app-password", "add", addr, "--label", "other")
    time.sleep(5.5)
    code, text = s.mail(addr)
    assert code == 250, (code, text)


# --- what a failure looks like ------------------------------------------------------


def timed_auth(c, login, secret):
    t0 = time.monotonic()
    r = c.auth_plain(login, secret)
    return r, time.monotonic() - t0


def test_a_wrong_password_and_an_unknown_login_look_the_same_after_the_default_delay(
        smtp_server_factory):
    srv = smtp_server_factory(auth__fail_delay=1000)  # the default
    # two of each, over two sessions (three failures end a session); the
    # fastest of each kind is compared, so a busy machine adds less noise
    times = {"wrong": [], "unknown": [], "domain": []}
    replies = []
    for rnd in range(2):
        c = tls_client(srv)
        for kind, login in (("wrong", "alice@example.org"), ("unknown", "nobody@example.org"),
                            ("domain", "no-such-domain.test")):
            if kind == "domain" and rnd:
                continue
            r, t = timed_auth(c, login, "not-her-password-at-all")
            replies.append(r)
            times[kind].append(t)
        if rnd == 0:
            assert c.reply().code == 421  # the third failure ends the session
    for r in replies:
        assert r.code == 535 and r.enh == "5.7.8", r
        assert r == replies[0], "different refusals: %s and %s" % (r, replies[0])
    best = {k: min(v) for k, v in times.items()}
    for kind, t in best.items():
        assert 0.95 <= t <= 1.6, "%s: answered after %.3f s (fail_delay 1000 ms)" % (kind, t)
    assert abs(best["wrong"] - best["unknown"]) <= 0.150, times
    assert abs(best["wrong"] - best["domain"]) <= 0.150, times
    # success is not delayed
    ok, t_ok = timed_auth(tls_client(srv), "alice@example.org", srv.alice_pw)
    assert ok.code == 235 and t_ok < 0.9, (ok, t_ok)


def test_three_failed_authentications_close_the_session(smtp_server):
    c = tls_client(smtp_server)
    for i in range(2):
        r = c.auth_plain("alice@example.org", "wrong-%d" % i)
        assert r.code == 535, r
    r = c.auth_plain("alice@example.org", "wrong-again")
    assert r.code == 535, r
    r = c.reply()
    assert r.code == 421 and r.enh == "4.7.0", r
    assert c.closed_by_server(5)


@pytest.mark.parametrize("response", [
    "!!!not-base64!!!",
    base64.b64encode(b"no-nul-separators").decode(),
    base64.b64encode(b"\0alice@example.org\0").decode(),
    base64.b64encode(b"someone-else\0alice@example.org\0x").decode(),
], ids=["bad-base64", "no-separators", "empty-password", "other-authzid"])
def test_malformed_auth_plain_is_refused_and_the_session_goes_on(smtp_server, response):
    c = tls_client(smtp_server)
    r = c.cmd("AUTH PLAIN " + response)
    assert r.code in (535, 501), r
    assert c.cmd("NOOP").code == 250
    assert c.cmd("MAIL FROM:<alice@example.org>").code == 530
    assert c.auth_plain("alice@example.org", smtp_server.alice_pw).code == 235


def test_an_unknown_mechanism_gets_504(smtp_server):
    c = tls_client(smtp_server)
    r = c.cmd("AUTH NTLM")
    assert r.code == 504, r


def test_auth_can_be_cancelled_with_a_star(smtp_server):
    c = tls_client(smtp_server)
    assert c.cmd("AUTH LOGIN").code == 334
    r = c.cmd("*")
    assert r.code == 501, r
    assert c.auth_plain("alice@example.org", smtp_server.alice_pw).code == 235


def test_a_second_auth_after_success_is_refused(smtp_server):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    r = c.auth_plain("alice@example.org", smtp_server.alice_pw)
    assert r.code == 503, r


# --- the submission port's rules ----------------------------------------------------------


def test_auth_before_starttls_is_refused_with_538(smtp_server):
    c = smtp_server.client("submission")
    ehlo = c.ehlo()
    assert "AUTH" not in c.extensions(ehlo)
    r = c.auth_plain("alice@example.org", smtp_server.alice_pw)
    assert r.code == 538 and r.enh == "5.7.11", r


def test_auth_before_starttls_is_refused_and_not_advertised(smtp_server):
    c = smtp_server.client("submission")
    ehlo = c.ehlo()
    assert "AUTH" not in c.extensions(ehlo)
    assert not any(l.upper().startswith("AUTH") for l in ehlo.lines)
    r = c.auth_plain("alice@example.org", smtp_server.alice_pw)
    assert r.code in (530, 538) and r.code // 100 == 5, r
    # the session continues and TLS then AUTH work
    c.starttls()
    c.ehlo()
    assert c.auth_plain("alice@example.org", smtp_server.alice_pw).code == 235


def test_mail_before_auth_is_refused_with_530(smtp_server):
    c = tls_client(smtp_server)
    r = c.cmd("MAIL FROM:<alice@example.org>")
    assert r.code == 530 and r.enh == "5.7.0", r
    c = tls_client(smtp_server, "submissions")
    r = c.cmd("MAIL FROM:<alice@example.org>")
    assert r.code == 530 and r.enh == "5.7.0", r


def test_mail_before_starttls_is_refused_on_submission(smtp_server):
    c = smtp_server.client("submission")
    c.ehlo()
    r = c.cmd("MAIL FROM:<alice@example.org>")
    assert r.code == 530, r


def test_the_null_sender_is_refused_on_submission(smtp_server):
    c = smtp_server.session("alice@example.org", smtp_server.alice_pw)
    r = c.cmd("MAIL FROM:<>")
    assert r.code == 553 and r.enh == "5.7.1", r
    assert c.cmd("RCPT TO:<bob@remote.test>").code == 503
