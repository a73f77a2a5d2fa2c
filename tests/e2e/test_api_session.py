"""
End users in the JSON API: signing in with the login password, the
session cookie and CSRF token, logout and idle expiry, slowed failures,
and that a user reaches their own account only: never another user's,
never an operator call.
"""
import re
import subprocess
import time

from fixtures_http import LOGIN_PASSWORD, cookie_attributes, session_cookie, smtp_login_works

# Every operator route, with a path naming another account (bob's).
OPERATOR_CALLS = [
    ("GET", "/api/v1/domains"), ("POST", "/api/v1/domains"),
    ("DELETE", "/api/v1/domains/example.org"),
    ("POST", "/api/v1/domains/example.org/aliases"),
    ("DELETE", "/api/v1/domains/example.org/aliases/example.net"),
    ("GET", "/api/v1/domains/example.org/dns"), ("GET", "/api/v1/domains/example.org/check"),
    ("POST", "/api/v1/domains/example.org/dkim/rotate"),
    ("GET", "/api/v1/domains/example.org/smtp-password"),
    ("POST", "/api/v1/domains/example.org/smtp-password"),
    ("GET", "/api/v1/domains/example.org/relay-nets"),
    ("POST", "/api/v1/domains/example.org/relay-nets"),
    ("DELETE", "/api/v1/domains/example.org/relay-nets/10.0.0.0%2F8"),
    ("GET", "/api/v1/relay-nets"),
    ("GET", "/api/v1/users"), ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{bob}"), ("DELETE", "/api/v1/users/{bob}"),
    ("POST", "/api/v1/users/{bob}/aliases"), ("DELETE", "/api/v1/users/{bob}/aliases/x"),
    ("PUT", "/api/v1/users/{bob}/password"),
    ("POST", "/api/v1/users/{bob}/block"), ("DELETE", "/api/v1/users/{bob}/block"),
    ("GET", "/api/v1/users/{bob}/smtp-password"), ("POST", "/api/v1/users/{bob}/smtp-password"),
    ("GET", "/api/v1/users/{bob}/app-passwords"), ("POST", "/api/v1/users/{bob}/app-passwords"),
    ("DELETE", "/api/v1/users/{bob}/app-passwords/laptop"),
    ("POST", "/api/v1/users/{bob}/tokens"), ("POST", "/api/v1/users/{bob}/tos"),
    ("GET", "/api/v1/users/{bob}/auth-log"), ("DELETE", "/api/v1/tokens/ABCDEFGHJKMN"),
    ("GET", "/api/v1/tos"), ("POST", "/api/v1/tos"),
    ("GET", "/api/v1/queue"), ("POST", "/api/v1/queue/flush"),
    ("GET", "/api/v1/queue/0123456789abcdef0123"), ("DELETE", "/api/v1/queue/0123456789abcdef0123"),
    ("POST", "/api/v1/queue/0123456789abcdef0123/hold"),
    ("POST", "/api/v1/queue/0123456789abcdef0123/release"),
    ("GET", "/api/v1/tlsrpt"), ("POST", "/api/v1/tlsrpt/send"),
    ("GET", "/api/v1/api-keys"), ("POST", "/api/v1/api-keys"), ("DELETE", "/api/v1/api-keys/ops"),
]

ME_CALLS = [
    ("GET", "/api/v1/me"), ("GET", "/api/v1/me/smtp-password"),
    ("POST", "/api/v1/me/smtp-password"), ("GET", "/api/v1/me/app-passwords"),
    ("POST", "/api/v1/me/app-passwords"), ("DELETE", "/api/v1/me/app-passwords/laptop"),
    ("GET", "/api/v1/me/tos"), ("POST", "/api/v1/me/tos"), ("GET", "/api/v1/me/auth-log"),
    ("GET", "/api/v1/session"), ("DELETE", "/api/v1/session"),
]


def err(r, status):
    assert r.status == status, "wanted %d, got %d %s" % (status, r.status, r.body[:300])
    assert r.json["error"]
    return r.json["error"]


def signed_in(srv, address):
    c = srv.api(key=None)
    r = c.login(address)
    assert r.status == 200, r.body
    return c


# ---------------------------------------------------------------- signing in

def test_sign_in_sets_a_session_cookie_that_scripts_and_other_sites_cannot_use(http_server):
    alice, _ = http_server.user("alice")
    c = http_server.api(key=None)
    r = c.login(alice)
    assert r.status == 200
    assert r.json["address"] == alice and re.fullmatch(r"[0-9a-f]{64}", r.json["csrf_token"])
    attrs = cookie_attributes(r)
    assert "httponly" in attrs and attrs["samesite"] == "Strict" and attrs["path"] == "/"
    assert "secure" not in attrs  # plain HTTP on loopback only
    assert len(c.sid) >= 40
    assert c.sid not in http_server.data.joinpath("postern.db").read_bytes().decode("latin-1")
    assert c.get("/api/v1/me").json["address"] == alice
    assert c.get("/api/v1/session").json["csrf_token"] == r.json["csrf_token"]


def test_over_https_the_cookie_is_secure(http_server_factory):
    srv = http_server_factory(tls=True)
    alice, _ = srv.user("alice")
    r = srv.api(key=None).login(alice)
    assert r.status == 200
    assert "secure" in cookie_attributes(r)


def test_a_wrong_password_an_unknown_address_and_no_login_password_get_the_same_answer(
        http_server):
    alice, _ = http_server.user("alice")
    nopw = "nopw%d@example.org" % time.monotonic_ns()
    http_server.cli("user", "add", nopw)
    answers = []
    for address, pw in ((alice, "not her password"), ("nobody@example.org", LOGIN_PASSWORD),
                        (nopw, LOGIN_PASSWORD), ("not an address", LOGIN_PASSWORD)):
        r = http_server.api(key=None).login(address, pw)
        assert session_cookie(r) is None
        answers.append((r.status, r.json))
    assert answers[0][0] == 401
    assert all(a == answers[0] for a in answers), answers
    err(http_server.api(key=None).post("/api/v1/session", {"address": alice}), 400)


def test_the_smtp_password_is_not_a_login_password(http_server):
    alice, smtp_pw = http_server.user("alice")
    assert http_server.api(key=None).login(alice, smtp_pw).status == 401


def test_a_new_session_at_every_sign_in_and_the_old_one_ends(http_server):
    alice, _ = http_server.user("alice")
    c = signed_in(http_server, alice)
    old = c.sid
    r = c.login(alice)  # sends the old cookie along
    assert r.status == 200 and c.sid != old
    stale = http_server.api(key=None)
    stale.sid = old
    err(stale.get("/api/v1/me"), 401)
    assert c.get("/api/v1/me").status == 200


def test_sign_out_ends_the_session_and_clears_the_cookie(http_server):
    alice, _ = http_server.user("alice")
    c = signed_in(http_server, alice)
    sid = c.sid
    c.send_csrf = False
    err(c.delete("/api/v1/session"), 403)  # a change needs the CSRF token
    c.send_csrf = True
    r = c.delete("/api/v1/session")
    assert r.status == 200 and r.json["signed_out"] is True
    attrs = cookie_attributes(r)
    assert attrs["max-age"] == "0" and session_cookie(r) == ""
    c.sid = sid
    err(c.get("/api/v1/me"), 401)


def test_a_session_ends_after_the_idle_timeout(http_server_factory):
    # times are kept in whole seconds: 3s idle allowed, used every 1s,
    # then left alone for 4.5s
    srv = http_server_factory(http__session_idle="3s")
    alice, _ = srv.user("alice")
    c = signed_in(srv, alice)
    for _ in range(3):
        time.sleep(1.0)
        assert c.get("/api/v1/me").status == 200  # use keeps it alive
    time.sleep(4.5)
    assert "sign in" in err(c.get("/api/v1/me"), 401)
    rows = subprocess.run(["sqlite3", str(srv.data / "postern.db"),
                           "SELECT count(*) FROM panel_session"], capture_output=True, check=True)
    assert rows.stdout.strip() == b"0"  # the idle session is gone from the store


def test_an_operators_password_change_ends_the_users_panel_sessions(http_server):
    alice, _ = http_server.user("alice")
    bob, _ = http_server.user("bob")
    c = signed_in(http_server, alice)
    c2 = signed_in(http_server, alice)
    other = signed_in(http_server, bob)
    assert c.get("/api/v1/me").status == 200
    new_pw = "a new login password 8472"
    http_server.cli("user", "password", alice, "--stdin", stdin=new_pw + "\n")
    # as with the e-mailed link: the old password's sessions end at once
    for s in (c, c2):
        assert "sign in" in err(s.get("/api/v1/me"), 401)
    assert other.get("/api/v1/me").status == 200  # another user's stay
    assert http_server.api(key=None).login(alice).status == 401
    c3 = http_server.api(key=None)
    assert c3.login(alice, new_pw).status == 200
    # the operator's API call is the same operation
    http_server.api().ok("PUT", "/api/v1/users/%s/password" % alice, {"password": LOGIN_PASSWORD})
    assert err(c3.get("/api/v1/me"), 401)


def test_failed_sign_ins_are_slowed_then_refused_per_login_and_per_address(http_server_factory):
    srv = http_server_factory(auth__fail_delay="300", http__login_failures="3",
                              http__login_failures_per_ip="4")
    alice, _ = srv.user("alice")
    times = []
    for _ in range(3):
        t = time.monotonic()
        r = srv.api(key=None).login(alice, "wrong password")
        times.append(time.monotonic() - t)
        assert r.status == 401
    # each failure is answered later than the one before: 1x, 2x, 4x the delay
    assert times[0] >= 0.29 and times[1] >= 0.59 and times[2] >= 1.19, times
    # past the limit: refused without looking, even with the right password
    r = srv.api(key=None).login(alice)
    assert r.status == 429 and int(r.header("Retry-After")) > 0
    assert session_cookie(r) is None
    # another login is not slowed by alice's failures...
    bob, _ = srv.user("bob")
    t = time.monotonic()
    assert srv.api(key=None).login(bob, "wrong password").status == 401
    assert time.monotonic() - t < 1.19
    # ...but the address's fourth failure closes it for every login
    assert srv.api(key=None).login(bob).status == 429
    assert "too_many_failures" in srv.log()


def test_a_stranger_failing_a_login_is_refused_and_its_owner_still_signs_in(
        http_server_factory):
    srv = http_server_factory(auth__fail_delay="20", http__login_failures="3",
                              http__login_failures_per_ip="100")
    alice, _ = srv.user("alice")
    stranger = srv.api(key=None, src="127.0.0.41")
    for _ in range(3):
        assert stranger.login(alice, "guess").status == 401
    # the login is under attack: the address that failed it is refused,
    # even with the right password...
    r = stranger.login(alice)
    assert r.status == 429 and int(r.header("Retry-After")) > 0
    for _ in range(5):
        assert stranger.login(alice, "guess").status == 429
    # ...and its owner, from another address, signs in at once
    owner = srv.api(key=None, src="127.0.0.42")
    t = time.monotonic()
    assert owner.login(alice).status == 200
    assert owner.get("/api/v1/me").status == 200
    assert time.monotonic() - t < 1.0
    # a typo of the owner is answered, not refused
    assert srv.api(key=None, src="127.0.0.43").login(alice, "typo").status == 401


def test_every_sign_in_is_in_the_users_own_auth_log(http_server):
    alice, _ = http_server.user("alice")
    assert http_server.api(key=None).login(alice, "wrong").status == 401
    c = signed_in(http_server, alice)
    events = c.get("/api/v1/me/auth-log").json["events"]
    assert [(e["mech"], e["outcome"]) for e in events[:2]] == [("panel", "ok"), ("panel", "failed")]
    assert all(e["login"] == alice for e in events)


# ---------------------------------------------------------------- CSRF

def test_every_change_without_the_csrf_token_is_refused(http_server):
    alice, _ = http_server.user("alice")
    c = signed_in(http_server, alice)
    before = c.get("/api/v1/me/app-passwords").json
    for token in (None, "0" * 64, c.csrf[:-1]):
        c.send_csrf = token is not None
        for method, path in ME_CALLS:
            if method == "GET":
                continue
            h = {"X-CSRF-Token": token} if token else {}
            r = c.call(method, path, body={"label": "x"} if method == "POST" else None, headers=h)
            assert r.status == 403 and "CSRF" in r.json["error"], (method, path, r.status)
    c.send_csrf = True
    assert c.get("/api/v1/me/app-passwords").json == before
    assert c.get("/api/v1/me").status == 200  # still signed in


# ---------------------------------------------------------------- their own account

def test_the_terms_come_before_the_credentials(http_server_factory):
    srv = http_server_factory()
    srv.api().ok("POST", "/api/v1/tos", {"text": "Send only what you would sign.\n"})
    alice, smtp_pw = srv.user("alice")
    c = signed_in(srv, alice)
    assert c.get("/api/v1/me").json["tos_accepted"] is False
    assert "terms" in err(c.get("/api/v1/me/smtp-password"), 403)
    err(c.post("/api/v1/me/app-passwords", {"label": "phone"}), 403)
    tos = c.get("/api/v1/me/tos").json
    assert tos["text"].startswith("Send only") and tos["accepted"] is False
    acc = c.post("/api/v1/me/tos")
    assert acc.status == 201 and acc.json["from"] == "127.0.0.1"
    assert c.get("/api/v1/me/tos").json["accepted"] is True
    assert c.get("/api/v1/me/smtp-password").json["password"] == smtp_pw
    err(c.post("/api/v1/me/tos"), 409)


def test_a_user_reveals_and_replaces_their_smtp_password_and_the_old_one_stops(http_server):
    alice, smtp_pw = http_server.user("alice")
    c = signed_in(http_server, alice)
    shown = c.get("/api/v1/me/smtp-password").json
    assert shown == {"login": alice, "password": smtp_pw, "created": shown["created"]}
    new = c.post("/api/v1/me/smtp-password").json["password"]
    assert new != smtp_pw
    assert smtp_login_works(http_server, alice, new)
    assert not smtp_login_works(http_server, alice, smtp_pw)
    log = http_server.log()
    assert 'call=smtp-password.show login="%s" actor=panel:%s' % (alice, alice) in log
    assert 'call=smtp-password.generate login="%s" actor=panel:%s' % (alice, alice) in log
    assert new not in log and smtp_pw not in log and LOGIN_PASSWORD not in log


def test_a_user_makes_lists_and_revokes_app_passwords(http_server):
    alice, _ = http_server.user("alice")
    c = signed_in(http_server, alice)
    made = c.post("/api/v1/me/app-passwords", {"label": "phone"})
    assert made.status == 201 and made.json["address"] == alice
    assert smtp_login_works(http_server, alice, made.json["password"])
    listed = c.get("/api/v1/me/app-passwords").json["app_passwords"]
    assert [a["label"] for a in listed] == ["phone"]
    assert listed[0]["created"] and listed[0]["last_used"] and listed[0]["revoked"] is None
    assert c.delete("/api/v1/me/app-passwords/phone").status == 200
    err(c.delete("/api/v1/me/app-passwords/phone"), 404)
    assert not smtp_login_works(http_server, alice, made.json["password"])


def test_a_user_cannot_reach_another_users_account_through_me(http_server):
    alice, alice_pw = http_server.user("alice")
    bob, bob_pw = http_server.user("bob")
    op = http_server.api()
    op.ok("POST", "/api/v1/users/%s/app-passwords" % bob, {"label": "bobs-laptop"})
    c = signed_in(http_server, alice)
    other = {"address": bob, "login": bob}
    # whatever names another account is ignored: alice's own is used
    r = c.get("/api/v1/me/smtp-password?login=%s&address=%s" % (bob, bob))
    assert r.json["login"] == alice and r.json["password"] == alice_pw
    assert c.get("/api/v1/me?address=" + bob).json["address"] == alice
    made = c.post("/api/v1/me/app-passwords", dict(other, label="sneaky")).json
    assert made["address"] == alice
    err(c.delete("/api/v1/me/app-passwords/bobs-laptop"), 404)
    r = c.post("/api/v1/me/smtp-password", other)
    assert r.json["login"] == alice
    assert smtp_login_works(http_server, bob, bob_pw)
    assert c.get("/api/v1/me/auth-log?address=" + bob).json["address"] == alice
    assert [a["label"] for a in op.get("/api/v1/users/%s/app-passwords" % bob).json["app_passwords"]] \
        == ["bobs-laptop"]
    assert [a["label"] for a in op.get("/api/v1/users/%s/app-passwords" % bob).json["app_passwords"]
            if a["revoked"] is None] == ["bobs-laptop"]


def test_a_user_session_cannot_call_any_operator_call(http_server):
    alice, _ = http_server.user("alice")
    bob, bob_pw = http_server.user("bob")
    c = signed_in(http_server, alice)
    before = http_server.api().get("/api/v1/users/" + bob).json
    for method, path in OPERATOR_CALLS:
        r = c.call(method, path.format(bob=bob), body={} if method in ("POST", "PUT") else None)
        assert r.status == 403, (method, path, r.status, r.body)
        assert "operator" in r.json["error"]
    assert http_server.api().get("/api/v1/users/" + bob).json == before
    assert smtp_login_works(http_server, bob, bob_pw)


def test_an_api_key_has_no_account_of_its_own(http_server):
    op = http_server.api()
    for method, path in ME_CALLS:
        if path == "/api/v1/session":
            continue
        r = op.call(method, path, body={} if method == "POST" else None)
        assert r.status == 403, (method, path, r.status)
    assert op.get("/api/v1/session").status == 403


def test_without_a_session_every_call_but_sign_in_is_401(http_server):
    anon = http_server.api(key=None)
    anon.sid = "A" * 43  # a cookie that is no session
    for method, path in ME_CALLS + [(m, p.format(bob="x@example.org")) for m, p in OPERATOR_CALLS]:
        r = anon.call(method, path, body={} if method in ("POST", "PUT") else None)
        assert r.status == 401, (method, path, r.status)
