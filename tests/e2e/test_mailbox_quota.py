"""Mailbox quotas (issue 13): the limit is postern's (`user quota
--mailbox`, the API), Dovecot's quota plugin enforces it, learning it
from postern's dict userdb at every delivery and login, and reports the
usage back to postern's dict, so the API shows it without asking Dovecot.
Dovecot's configuration is the one `postern dovecot-config` writes
(test_mailbox_imap.PosternDovecot).
"""
import socket
import time

import pytest

from fixtures_smtp import make_message, queue_id
from test_mailbox_imap import postern_and_dovecot


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    yield from postern_and_dovecot(tmp_path_factory.mktemp("quota"))


def submit(srv, frm, to, subject, body):
    c = srv.session(frm, srv.passwords[frm])
    r = c.mail(frm, to, make_message(frm=frm, to=to[0], subject=subject, body=body))
    assert r.code == 250, r
    return queue_id(r)


def wait_for(what, fn, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail("no %s" % what, pytrace=False)
        time.sleep(0.1)


def new_mail(dv, addr):
    new = dv.maildir(addr) / "new"
    return sorted(new.glob("*")) if new.exists() else []


def mailbox(srv, addr):
    return srv.api().ok("GET", "/api/v1/users/%s" % addr)["quota"]["mailbox"]


BIG = ("x" * 70 + "\r\n") * 60  # about 4 KiB


def test_a_mailbox_over_the_quota_postern_sets_refuses_mail_until_raised(world):
    srv, dv = world
    sender, _ = srv.user("sender")
    small, _ = srv.user("small")
    roomy, _ = srv.user("roomy")
    out = srv.cli("user", "quota", small, "--mailbox", "1K")
    assert out["quota"]["mailbox"] == 1024
    assert mailbox(srv, small)["limit"] == 1024
    assert mailbox(srv, roomy) == {"limit": 0, "from": "domain", "used": None,
                                   "messages": None}

    qid = submit(srv, sender, [small, roomy], "too big", BIG)
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=30)
    # the user without a quota has it; the other's sender gets a DSN
    got = wait_for("mail for %s" % roomy, lambda: new_mail(dv, roomy))
    assert len(got) == 1
    assert new_mail(dv, small) == []
    dsn = wait_for("a DSN for the sender", lambda: new_mail(dv, sender))
    text = dsn[0].read_text(errors="replace")
    assert "5.2.2" in text and small in text, text

    # raised through the CLI: the next message gets in, nothing restarted
    srv.cli("user", "quota", small, "--mailbox", "1M")
    qid = submit(srv, sender, [small], "fits now", BIG)
    srv.wait_log(r"queue\.done queue=%s" % qid, timeout=30)
    got = wait_for("mail for %s" % small, lambda: new_mail(dv, small))
    assert len(got) == 1

    # the usage Dovecot counted is in postern: the API shows it
    used = wait_for("usage in the API", lambda: (
        lambda m: m if m["used"] and m["messages"] == 1 else None)(mailbox(srv, small)))
    assert used["limit"] == 1024 * 1024 and used["from"] == "user"
    assert 4000 < used["used"] < 1024 * 1024, used
    r = wait_for("roomy's usage", lambda: (
        lambda m: m if m["messages"] == 1 else None)(mailbox(srv, roomy)))
    assert r["limit"] == 0 and r["used"] > 4000


def test_the_domain_default_applies_to_users_without_their_own(world):
    srv, dv = world
    sender, _ = srv.user("sender")
    a, _ = srv.user("deflt")
    d = srv.api().ok("PUT", "/api/v1/domains/example.org/quota", {"mailbox": "1k"})
    try:
        assert d["quota"]["mailbox"] == 1024
        assert mailbox(srv, a)["limit"] == 1024 and mailbox(srv, a)["from"] == "domain"
        qid = submit(srv, sender, [a], "too big for the default", BIG)
        srv.wait_log(r"queue\.done queue=%s" % qid, timeout=30)
        attempts = [l for l in srv.log().splitlines()
                    if "delivery.attempt queue=%s" % qid in l]
        assert any("552 5.2.2" in l for l in attempts), attempts
        # the user's own "none" beats the domain's default
        out = srv.api().ok("PUT", "/api/v1/users/%s/quota" % a, {"mailbox": "none"})
        assert out["quota"]["mailbox"] == 0
        assert mailbox(srv, a)["limit"] == 0
    finally:
        srv.api().ok("PUT", "/api/v1/domains/example.org/quota", {"mailbox": "none"})


def test_a_mailbox_quota_that_is_not_a_size_is_refused(world):
    srv, _ = world
    a, _ = srv.user("bad")
    r = srv.api().put("/api/v1/users/%s/quota" % a, {"mailbox": "lots"})
    assert r.status == 400 and "512k, 35M, 2G" in r.json["error"], r
    r = srv.api().put("/api/v1/users/%s/quota" % a, {"mailbox": "-5"})
    assert r.status == 400
    out = srv.cli("user", "quota", a, "--mailbox", "inherit")
    assert out["quota"]["mailbox"] == "inherit"


def dict_client(dv):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(dv.dict_socket)
    s.sendall(b"H3\t2\t0\t\tuserdb\n")
    return s


def test_the_dict_socket_answers_dovecot_and_drops_what_is_not_its_protocol(world):
    srv, dv = world
    addr, _ = srv.user("raw")
    srv.cli("user", "quota", addr, "--mailbox", "35M")
    with dict_client(dv) as s:
        # pipelined: answered in order
        s.sendall(("Lshared/userdb/%s\t%s\nLshared/userdb/nobody@example.org\t\n"
                   "Lshared/other\t\n" % (addr.upper(), addr)).encode())
        got = b""
        while got.count(b"\n") < 3:
            got += s.recv(4096)
        assert got == (b'O{"quota_rule":"*:storage=36700160B"}\nN\nN\n'), got
        s.sendall(b"B1\t" + addr.encode() + b"\nA1\tpriv/quota/storage\t5\nC1\n")
        assert s.recv(64) == b"N1\n"  # never counted: Dovecot counts
    for bad in (b"Lshared/userdb/x\x00y\n", b"C1\n", b"Z\n", b"L" + b"a" * 5000 + b"\n"):
        with dict_client(dv) as s:
            s.sendall(bad)
            try:
                got = s.recv(64)
            except ConnectionResetError:  # closed with bytes unread
                got = b""
            assert got == b"", bad  # closed, no answer
    srv.wait_log(r"dovecot\.dict error=", count=4)
    # and the server still answers
    with dict_client(dv) as s:
        s.sendall(("Lshared/userdb/%s\t\n" % addr).encode())
        assert s.recv(64).startswith(b"O{")
