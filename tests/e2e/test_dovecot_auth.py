"""Dovecot asks postern who may open a mailbox (issue 13): `postern
dovecot-auth` is the checkpassword program Dovecot runs for each login,
and asks the running postern over `[mailbox] auth_socket`. Here the test
plays Dovecot's part exactly as Dovecot does it (the login and password
on descriptor 3, the client in TCPREMOTEIP, the program to run on success
as the last argument); test_mailbox_imap.py logs in through a real
Dovecot.
"""
import os
import subprocess
import time

import pytest

from fixtures_http import LOGIN_PASSWORD, HttpServer, _check_binary
from fixtures_smtp import env_for_postern
from test_panel_api import totp



@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    _check_binary()
    root = tmp_path_factory.mktemp("dovecot-auth")
    s = HttpServer(root / "postern", mailbox__auth_socket=str(root / "auth.sock"),
                   mailbox__auth_group="")
    s.start()
    s.add_domain("example.org")
    yield s
    s.stop()


def checkpassword(srv, login, password, ip="192.0.2.7", service="imap", extra_env=None):
    """(exit code, USER as the reply program saw it, stderr)."""
    reply = srv.dir / "checkpassword-reply"
    if not reply.exists():  # what Dovecot's checkpassword-reply reads
        reply.write_text('#!/bin/sh\necho "USER=$USER AUTHORIZED=$AUTHORIZED"\n')
        reply.chmod(0o755)
    env = dict(env_for_postern(), TCPREMOTEIP=ip, SERVICE=service)
    env.update(extra_env or {})
    # the login and password on descriptor 3, as Dovecot writes them
    p = subprocess.run(
        ["/bin/sh", "-c", 'exec "$@" 3<&0 </dev/null', "sh",
         os.environ.get("POSTERN_BIN", "postern"), "-c", str(srv.conf), "dovecot-auth",
         str(reply)],
        input=login.encode() + b"\0" + password.encode() + b"\0" + b"1700000000\0",
        env=env, capture_output=True, timeout=60)
    out = p.stdout.decode()
    user = out.split("USER=", 1)[1].split()[0] if "USER=" in out else None
    return p.returncode, user, p.stderr.decode()


def app_password(srv, addr):
    api = srv.api(key=None)
    assert api.login(addr).status == 200
    r = api.post("/api/v1/me/app-passwords", {"label": "phone"})
    assert r.status in (200, 201), r.body
    return r.json["password"], api


def test_the_login_password_opens_the_mailbox(srv):
    addr, _ = srv.user("imap")
    rc, user, err = checkpassword(srv, addr, LOGIN_PASSWORD)
    assert rc == 0, err
    assert user == addr.lower()


def test_any_spelling_of_the_login_gives_the_users_own_address(srv):
    addr, _ = srv.user("imap")
    local, domain = addr.split("@")
    rc, user, err = checkpassword(srv, "%s@%s." % (local.upper(), domain.upper()), LOGIN_PASSWORD)
    assert rc == 0, err
    assert user == addr.lower()


def test_an_app_password_opens_the_mailbox(srv):
    addr, _ = srv.user("imap")
    pw, _ = app_password(srv, addr)
    rc, user, err = checkpassword(srv, addr, pw)
    assert rc == 0, err
    assert user == addr.lower()


def test_the_smtp_password_never_opens_the_mailbox(srv):
    addr, smtp_pw = srv.user("imap")
    rc, user, _ = checkpassword(srv, addr, smtp_pw)
    assert rc == 1 and user is None


def test_unknown_login_and_wrong_password_look_the_same(srv):
    addr, _ = srv.user("imap")
    a = checkpassword(srv, addr, "wrong password")
    b = checkpassword(srv, "nobody@example.org", "wrong password")
    assert a[0] == b[0] == 1
    assert a[1] is b[1] is None
    assert a[2] == b[2] == ""


def test_with_two_step_sign_in_only_app_passwords_open_the_mailbox(srv):
    addr, _ = srv.user("imap")
    pw, api = app_password(srv, addr)
    secret = api.post("/api/v1/me/totp").json["secret"]
    assert api.post("/api/v1/me/totp/confirm", {"code": totp(secret)}).status == 200
    assert checkpassword(srv, addr, LOGIN_PASSWORD)[0] == 1
    rc, user, err = checkpassword(srv, addr, pw)
    assert rc == 0 and user == addr.lower(), err


def test_an_outbound_block_leaves_the_mailbox_open(srv):
    addr, _ = srv.user("imap")
    srv.api().ok("POST", "/api/v1/users/%s/block" % addr, {"reason": "spam run"})
    rc, user, err = checkpassword(srv, addr, LOGIN_PASSWORD)
    assert rc == 0 and user == addr.lower(), err


def test_a_removed_user_is_refused_at_once(srv):
    addr, _ = srv.user("imap")
    assert checkpassword(srv, addr, LOGIN_PASSWORD)[0] == 0
    srv.api().ok("DELETE", "/api/v1/users/%s" % addr)
    assert checkpassword(srv, addr, LOGIN_PASSWORD)[0] == 1


def test_imap_logins_are_in_the_authentication_log_with_the_service(srv):
    addr, _ = srv.user("imaplog")
    checkpassword(srv, addr, "not it", ip="198.51.100.9")
    checkpassword(srv, addr, LOGIN_PASSWORD, ip="198.51.100.9")
    events = srv.cli("log", "auth", addr)["events"]
    mine = [e for e in events if e.get("mech") == "imap"]
    assert [e["outcome"] for e in mine][-2:] in (["failed", "ok"], ["ok", "failed"]), mine
    assert all(e["ip"] == "198.51.100.9" for e in mine), mine
    text = str(events)
    assert "not it" not in text and LOGIN_PASSWORD not in text


def test_failures_from_one_address_are_refused_but_not_the_owner(srv):
    addr, _ = srv.user("imapbf")
    for _ in range(12):
        checkpassword(srv, addr, "guess", ip="203.0.113.66")
    # the guesser is refused even with the right password now ...
    assert checkpassword(srv, addr, LOGIN_PASSWORD, ip="203.0.113.66")[0] == 1
    # ... the owner, from another address, is not
    rc, user, err = checkpassword(srv, addr, LOGIN_PASSWORD, ip="192.0.2.200")
    assert rc == 0 and user == addr.lower(), err


def test_postern_down_is_a_temporary_failure(tmp_path):
    _check_binary()
    s = HttpServer(tmp_path / "postern", mailbox__auth_socket=str(tmp_path / "auth.sock"),
                   mailbox__auth_group="")
    rc, user, _ = checkpassword(s, "alice@example.org", "whatever")
    assert rc == 111 and user is None


def test_the_password_is_never_in_the_process_list_or_the_logs(srv):
    addr, _ = srv.user("imap")
    checkpassword(srv, addr, "sEcReT-guess-42")
    time.sleep(0.2)
    assert "sEcReT-guess-42" not in srv.log()
