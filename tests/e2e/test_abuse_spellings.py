"""One account, many spellings: a trailing dot, a soft hyphen or a
zero-width space, a full-width letter, an ideographic full stop. Each
reaches the same account, so each must count towards the same failure
counters (SMTP AUTH, panel sign-in, two-step codes) and be logged under
the account's own name: respelling a login is no way round a lock-out,
nor out of its owner's `postern log auth`."""
import base64
import hashlib
import hmac
import struct
import time

from fixtures_http import LOGIN_PASSWORD

FAIL_DELAY = 0.2  # the SMTP fixture's [auth] fail_delay
SLOW = 0.3


def spellings(local, domain="example.org"):
    """Six spellings of local@domain that all reach its account."""
    head, tail = domain.split(".", 1)
    return [
        "%s@%s." % (local, domain),                                # trailing dot
        "%s@%s\u00ad%s.%s" % (local, head[:2], head[2:], tail),    # soft hyphen
        "%s@\uff45%s.%s" % (local, head[1:], tail),                # full-width e
        "%s@%s\u3002%s" % (local, head, tail),                     # ideographic full stop
        "%s\u200b@%s" % (local, domain),                           # zero-width space
        "%s@%s" % (local.upper(), domain.upper()),                 # ASCII case
    ]


def auth_plain_utf8(srv, login, password, src):
    """(code, seconds) of AUTH PLAIN with a UTF-8 login on a fresh session."""
    s = srv.smtplib("submission", src=src)
    ir = base64.b64encode(b"\0" + login.encode() + b"\0" + password.encode()).decode()
    t = time.monotonic()
    code, _ = s.docmd("AUTH", "PLAIN " + ir)
    took = time.monotonic() - t
    s.close()
    return code, took


def test_the_right_password_under_every_spelling_signs_in_as_the_one_account(smtp_server):
    for login in spellings("alice"):
        code, _ = auth_plain_utf8(smtp_server, login, smtp_server.alice_pw, "127.0.0.51")
        assert code == 235, login
    events = smtp_server.cli("log", "auth", "alice@example.org")["events"]
    assert [e["outcome"] for e in events[:6]] == ["ok"] * 6, events[:6]


def test_smtp_failures_under_respellings_count_for_one_login(smtp_server_factory):
    srv = smtp_server_factory(auth__ip_slow_after="3", auth__ip_refuse_after="6",
                              auth__refuse_time="60s", auth__login_slow_after="5",
                              auth__slow_delay=str(int(SLOW * 1000)), auth__slow_max="1200",
                              limits__auth_failures_per_session="100")
    # a distributed guesser: one failure per address, each with another
    # spelling of alice's login
    for i, login in enumerate(spellings("alice")):
        code, took = auth_plain_utf8(srv, login, "guess%d" % i, "127.0.0.%d" % (61 + i))
        assert code == 535 and took < FAIL_DELAY + SLOW - 0.05, (login, took)
    # the six failures are one login's: an address that failed it is slowed
    code, took = auth_plain_utf8(srv, "alice@example.org", "guess", "127.0.0.61")
    assert code == 535 and took >= FAIL_DELAY + SLOW - 0.02, took
    # the owner from a clean address is not
    code, took = auth_plain_utf8(srv, "alice@example.org", srv.alice_pw, "127.0.0.70")
    assert code == 235 and took < FAIL_DELAY, took


def test_failed_auth_under_respellings_is_in_the_owners_auth_log(smtp_server):
    addr, pw = smtp_server.new_user("spelt")
    local = addr.split("@")[0]
    for i, login in enumerate(spellings(local)):
        code, _ = auth_plain_utf8(smtp_server, login, "wrong%d" % i, "127.0.0.81")
        assert code == 535, login
    events = smtp_server.cli("log", "auth", addr, "--failed")["events"]
    assert len(events) == 6, events
    assert all(e["login"] == addr and e["reason"] == "wrong password" for e in events), events
    # and the operator finds them under any spelling too
    again = smtp_server.cli("log", "auth", addr + ".", "--failed")["events"]
    assert len(again) == 6, again


def test_panel_failures_under_respellings_count_towards_one_lock_out(http_server_factory):
    srv = http_server_factory(auth__fail_delay="20", http__login_failures="3",
                              http__login_failures_per_ip="100")
    alice, _ = srv.user("alice")
    local = alice.split("@")[0]
    names = spellings(local)
    for login in names[:3]:
        assert srv.api(key=None).login(login, "wrong password").status == 401, login
    # the fourth spelling, with the right password: the account is locked
    for login in names[3:] + [alice]:
        r = srv.api(key=None).login(login)
        assert r.status == 429 and int(r.header("Retry-After")) > 0, (login, r.status)
    events = srv.api().ok("GET", "/api/v1/users/%s/auth-log" % alice)["events"]
    assert [e["login"] for e in events if e["mech"] == "panel"] == [alice] * 3, events


def totp(secret_b32, t=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if t is None else t) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


def test_wrong_codes_after_a_respelt_password_step_lock_the_account(http_server_factory):
    srv = http_server_factory(auth__fail_delay="20", http__login_failures="3",
                              http__login_failures_per_ip="100")
    alice, _ = srv.user("alice")
    api = srv.api(key=None)
    assert api.login(alice).status == 200
    secret = api.post("/api/v1/me/totp").json["secret"]
    assert api.post("/api/v1/me/totp/confirm", {"code": totp(secret)}).status == 200
    wrong = "%06d" % ((int(totp(secret, time.time() + 30)) + 1) % 1000000)
    names = spellings(alice.split("@")[0])
    # the password is known; each ticket is got under another spelling,
    # and one code guessed with it
    for login in names[:3]:
        c = srv.api(key=None)
        r = c.call("POST", "/api/v1/session",
                   body={"address": login, "password": LOGIN_PASSWORD})
        assert r.status == 200 and r.json["totp_required"], (login, r.status)
        bad = c.call("POST", "/api/v1/session/totp",
                     body={"ticket": r.json["ticket"], "code": wrong})
        assert bad.status == 401
    # three wrong codes for the account: no more tickets, by any spelling
    for login in names[3:] + [alice]:
        r = srv.api(key=None).call("POST", "/api/v1/session",
                                   body={"address": login, "password": LOGIN_PASSWORD})
        assert r.status == 429, (login, r.status, r.body[:200])


def test_smtp_failures_under_a_domain_alias_count_for_the_account(smtp_server_factory):
    srv = smtp_server_factory(auth__ip_slow_after="3", auth__ip_refuse_after="6",
                              auth__refuse_time="60s", auth__login_slow_after="5",
                              auth__slow_delay=str(int(SLOW * 1000)), auth__slow_max="1200",
                              limits__auth_failures_per_session="100")
    # example.net is an alias of example.org: alice@example.net is alice
    names = spellings("alice", "example.net")[:5]
    for i, login in enumerate(names):
        code, took = auth_plain_utf8(srv, login, "guess%d" % i, "127.0.0.%d" % (91 + i))
        assert code == 535 and took < FAIL_DELAY + SLOW - 0.05, (login, took)
    # five failures under another name of the account: it is under attack
    code, took = auth_plain_utf8(srv, "alice@example.org", "guess", "127.0.0.91")
    assert code == 535 and took >= FAIL_DELAY + SLOW - 0.02, took
    code, took = auth_plain_utf8(srv, "alice@example.org", srv.alice_pw, "127.0.0.99")
    assert code == 235 and took < FAIL_DELAY, took
    events = srv.cli("log", "auth", "alice@example.org", "--failed")["events"]
    assert len(events) == 6 and all(e["login"] == "alice@example.org" for e in events), events


def test_panel_failures_under_a_domain_alias_count_towards_the_accounts_lock_out(
        http_server_factory):
    srv = http_server_factory(auth__fail_delay="20", http__login_failures="3",
                              http__login_failures_per_ip="100")
    srv.api().ok("POST", "/api/v1/domains/example.org/aliases", {"alias": "example.net"})
    alice, _ = srv.user("alice")
    other = alice.replace("@example.org", "@example.net")
    for login in spellings(other.split("@")[0], "example.net")[:3]:
        assert srv.api(key=None).login(login, "wrong").status == 401, login
    for login in (alice, alice + ".", other):
        r = srv.api(key=None).login(login)
        assert r.status == 429, (login, r.status)
