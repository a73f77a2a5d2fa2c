"""
The operator's JSON API: every provisioning call with an API key, its
answer, and its errors (status and a sentence). The CLI runs the same
operations, so some answers are checked against what the CLI then sees.
"""
import re
import smtplib
import subprocess
import urllib.parse

import pytest

from fixtures_http import LOGIN_PASSWORD, smtp_login_works
from fixtures_smtp import make_message, tls_client_context
from fixtures_smtp import free_port

q = urllib.parse.quote

# every test on the embedded store and again on PostgreSQL (conftest)
STORE_BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="module")
def srv(tmp_path_factory, store_backend):
    from fixtures_http import HttpServer
    s = HttpServer(tmp_path_factory.mktemp("api-op") / "postern",
                   delivery__dns_servers="127.0.0.1:%d" % free_port())
    s.start()
    s.add_domain("example.org")
    yield s
    s.stop()


@pytest.fixture
def api(srv):
    return srv.api()


def err(r, status):
    assert r.status == status, "wanted %d, got %d %s" % (status, r.status, r.body[:300])
    assert isinstance(r.json["error"], str) and len(r.json["error"]) > 10, r.json
    return r.json["error"]


# ---------------------------------------------------------------- callers

def test_no_credential_is_401_and_a_wrong_or_revoked_key_too(srv):
    assert err(srv.api(key=None).get("/api/v1/domains"), 401)
    assert err(srv.api(key="pk_" + "x" * 40).get("/api/v1/domains"), 401)
    key = srv.cli("api-key", "add", "short-lived")["key"]
    assert srv.api(key=key).get("/api/v1/domains").status == 200
    srv.cli("api-key", "revoke", "short-lived")
    assert "revoked" in err(srv.api(key=key).get("/api/v1/domains"), 401)


def test_api_keys_are_listed_without_the_key_and_made_and_revoked_over_the_api(srv, api):
    made = api.ok("POST", "/api/v1/api-keys", {"name": "tooling"}, status=201)
    assert made["key"].startswith("pk_") and len(made["key"]) > 30
    listed = api.ok("GET", "/api/v1/api-keys")["api_keys"]
    assert "tooling" in [k["name"] for k in listed]
    assert made["key"] not in str(listed)
    assert made["key"] not in srv.store_text()
    assert srv.api(key=made["key"]).get("/api/v1/domains").status == 200
    err(api.post("/api/v1/api-keys", {"name": "tooling"}), 409)
    err(api.post("/api/v1/api-keys", {"name": "bad name!"}), 400)
    assert api.ok("DELETE", "/api/v1/api-keys/tooling") == {"revoked": "tooling"}
    err(api.delete("/api/v1/api-keys/tooling"), 404)
    err(srv.api(key=made["key"]).get("/api/v1/domains"), 401)


# ---------------------------------------------------------------- domains

def test_domains_are_added_listed_aliased_and_removed(srv, api):
    r = api.post("/api/v1/domains", {"domain": "Shop.test", "dkim": "ed25519"})
    assert r.status == 201 and r.json["domain"] == "shop.test"
    assert "shop.test" in [d["name"] for d in api.ok("GET", "/api/v1/domains")["domains"]]
    assert "already" in err(api.post("/api/v1/domains", {"domain": "shop.test"}), 409)
    err(api.post("/api/v1/domains", {"domain": "not a domain"}), 400)
    assert "domain" in err(api.post("/api/v1/domains", {}), 400)
    err(api.post("/api/v1/domains", {"domain": "x.test", "dkim": "md5"}), 400)

    assert api.post("/api/v1/domains/shop.test/aliases", {"alias": "shop.example"}).status == 201
    err(api.post("/api/v1/domains/nowhere.test/aliases", {"alias": "a.example"}), 404)
    err(api.post("/api/v1/domains/shop.test/aliases", {"alias": "shop.example"}), 409)
    assert api.ok("DELETE", "/api/v1/domains/shop.test/aliases/shop.example")
    err(api.delete("/api/v1/domains/shop.test/aliases/shop.example"), 404)

    api.ok("POST", "/api/v1/users", {"address": "owner@shop.test"})
    # refused, and the answer says how to force it over the API (not the
    # CLI's --force, which an API caller cannot give)
    refused = err(api.delete("/api/v1/domains/shop.test"), 409)
    assert "shop.test has 1 user(s)" in refused and "force=true" in refused, refused
    assert "--force" not in refused, refused
    assert "shop.test" in [d["name"] for d in api.ok("GET", "/api/v1/domains")["domains"]]
    assert api.ok("DELETE", "/api/v1/domains/shop.test?force=true")["users_removed"] == 1
    err(api.delete("/api/v1/domains/shop.test"), 404)
    assert srv.cli("user", "list")["users"] == [u for u in srv.cli("user", "list")["users"]
                                                if not u["address"].endswith("@shop.test")]


def test_dns_records_check_and_dkim_rotation(srv, api):
    api.ok("POST", "/api/v1/domains", {"domain": "dns.test", "dkim": "ed25519"})
    recs = api.ok("GET", "/api/v1/domains/dns.test/dns")["records"]
    assert {r["type"] for r in recs} == {"TXT"}
    assert any(r["name"] == "_dmarc.dns.test" for r in recs)
    before = {r["name"] for r in recs if "_domainkey" in r["name"]}
    rotated = api.ok("POST", "/api/v1/domains/dns.test/dkim/rotate")
    assert rotated
    after = {r["name"] for r in api.ok("GET", "/api/v1/domains/dns.test/dns")["records"]
             if "_domainkey" in r["name"]}
    assert before < after  # the old selector stays published beside the new
    checked = api.ok("GET", "/api/v1/domains/dns.test/check")
    assert checked["checks"] and all(c["status"] != "ok" for c in checked["checks"])
    err(api.get("/api/v1/domains/none.test/dns"), 404)


def test_relay_networks_by_domain_with_the_cidr_escaped_in_the_path(srv, api):
    api.ok("POST", "/api/v1/domains", {"domain": "relay.test", "dkim": "ed25519"})
    r = api.post("/api/v1/domains/relay.test/relay-nets", {"cidr": "192.0.2.0/24"})
    assert r.status == 201 and r.json == {"domain": "relay.test", "cidr": "192.0.2.0/24"}
    err(api.post("/api/v1/domains/relay.test/relay-nets", {"cidr": "192.0.2.0/24"}), 409)
    err(api.post("/api/v1/domains/relay.test/relay-nets", {"cidr": "192.0.2.0/99"}), 400)
    mine = api.ok("GET", "/api/v1/domains/relay.test/relay-nets")["relay_networks"]
    assert [n["cidr"] for n in mine] == ["192.0.2.0/24"]
    every = api.ok("GET", "/api/v1/relay-nets")["relay_networks"]
    assert "192.0.2.0/24" in [n["cidr"] for n in every]
    assert api.ok("DELETE", "/api/v1/domains/relay.test/relay-nets/" + q("192.0.2.0/24", safe=""))
    err(api.delete("/api/v1/domains/relay.test/relay-nets/" + q("192.0.2.0/24", safe="")), 404)


# ---------------------------------------------------------------- users

def test_a_user_is_added_shown_listed_and_removed(srv, api):
    made = api.post("/api/v1/users", {"address": "Carol@example.org"})
    assert made.status == 201 and made.json["address"] == "Carol@example.org"
    assert len(made.json["smtp_password"]) >= 20
    shown = api.ok("GET", "/api/v1/users/carol@example.org")
    assert shown["address"] == "Carol@example.org" and shown["smtp_password"] is True
    assert shown["login_password"] is False
    listed = api.ok("GET", "/api/v1/users?domain=example.org")["users"]
    assert "Carol@example.org" in [u["address"] for u in listed]
    err(api.post("/api/v1/users", {"address": "carol@example.org"}), 409)
    err(api.post("/api/v1/users", {"address": "dan@nowhere.test"}), 404)
    err(api.post("/api/v1/users", {"address": "no-at-sign"}), 400)
    err(api.get("/api/v1/users/nobody@example.org"), 404)
    assert api.ok("DELETE", "/api/v1/users/carol@example.org")
    err(api.get("/api/v1/users/carol@example.org"), 404)
    err(api.delete("/api/v1/users/carol@example.org"), 404)


def test_user_aliases_password_and_block(srv, api):
    api.ok("POST", "/api/v1/users", {"address": "erin@example.org"})
    assert api.post("/api/v1/users/erin@example.org/aliases", {"local": "erin.e"}).status == 201
    assert "erin.e@example.org" in api.ok("GET", "/api/v1/users/erin@example.org")["allowed_senders"]
    err(api.post("/api/v1/users/erin@example.org/aliases", {"local": "erin.e"}), 409)
    assert api.ok("DELETE", "/api/v1/users/erin@example.org/aliases/erin.e")
    err(api.delete("/api/v1/users/erin@example.org/aliases/erin.e"), 404)

    err(api.put("/api/v1/users/erin@example.org/password", {"password": "short"}), 400)
    assert api.ok("PUT", "/api/v1/users/erin@example.org/password", {"password": LOGIN_PASSWORD})
    assert api.ok("GET", "/api/v1/users/erin@example.org")["login_password"] is True
    assert srv.api(key=None).login("erin@example.org").status == 200

    err(api.post("/api/v1/users/erin@example.org/block", {}), 400)
    assert api.ok("POST", "/api/v1/users/erin@example.org/block", {"reason": "spam run"})
    assert api.ok("GET", "/api/v1/users/erin@example.org")["blocked"] == "spam run"
    assert api.ok("DELETE", "/api/v1/users/erin@example.org/block")
    assert api.ok("GET", "/api/v1/users/erin@example.org")["blocked"] is None


def test_smtp_passwords_of_a_user_and_of_a_domain_are_shown_and_replaced(srv, api):
    first = api.ok("POST", "/api/v1/users", {"address": "frank@example.org"})["smtp_password"]
    assert api.ok("GET", "/api/v1/users/frank@example.org/smtp-password")["password"] == first
    new = api.ok("POST", "/api/v1/users/frank@example.org/smtp-password")["password"]
    assert new != first
    assert smtp_login_works(srv, "frank@example.org", new)
    assert not smtp_login_works(srv, "frank@example.org", first)
    err(api.get("/api/v1/users/ghost@example.org/smtp-password"), 404)

    err(api.get("/api/v1/domains/example.org/smtp-password"), 404)  # none made yet
    dom = api.ok("POST", "/api/v1/domains/example.org/smtp-password")
    assert dom["login"] == "example.org"
    assert api.ok("GET", "/api/v1/domains/example.org/smtp-password")["password"] == dom["password"]
    log = srv.log()
    assert 'http.secret call=smtp-password.show login="frank@example.org" actor=api:ops' in log
    assert 'http.secret call=smtp-password.generate login="example.org"' in log
    assert first not in log and new not in log and dom["password"] not in log


def test_app_passwords_and_tokens_of_a_user(srv, api):
    api.ok("POST", "/api/v1/users", {"address": "gina@example.org"})
    made = api.post("/api/v1/users/gina@example.org/app-passwords", {"label": "phone"})
    assert made.status == 201 and len(made.json["password"]) >= 20
    assert smtp_login_works(srv, "gina@example.org", made.json["password"])
    listed = api.ok("GET", "/api/v1/users/gina@example.org/app-passwords")["app_passwords"]
    assert [a["label"] for a in listed] == ["phone"] and listed[0]["last_used"]
    assert made.json["password"] not in str(listed)
    err(api.post("/api/v1/users/gina@example.org/app-passwords", {"label": "phone"}), 409)
    err(api.post("/api/v1/users/gina@example.org/app-passwords", {"label": ""}), 400)
    assert api.ok("DELETE", "/api/v1/users/gina@example.org/app-passwords/phone")
    err(api.delete("/api/v1/users/gina@example.org/app-passwords/phone"), 404)
    assert not smtp_login_works(srv, "gina@example.org", made.json["password"])

    tok = api.post("/api/v1/users/gina@example.org/tokens", {"ttl": "10m"})
    assert tok.status == 201 and tok.json["token"].startswith(tok.json["id"] + ".")
    err(api.post("/api/v1/users/gina@example.org/tokens", {"ttl": "1s"}), 400)
    assert api.ok("DELETE", "/api/v1/tokens/" + tok.json["id"]) == {"revoked": tok.json["id"]}
    err(api.delete("/api/v1/tokens/" + tok.json["id"]), 409)
    err(api.delete("/api/v1/tokens/NOSUCHTOKEN1"), 404)


def test_terms_are_set_shown_and_accepted_for_a_user(srv, api):
    api.ok("POST", "/api/v1/users", {"address": "hal@example.org"})
    v = api.post("/api/v1/tos", {"text": "Be nice.\n"})
    assert v.status == 201
    shown = api.ok("GET", "/api/v1/tos")
    assert shown == {"version": v.json["version"], "text": "Be nice.\n"}
    assert api.ok("GET", "/api/v1/users/hal@example.org")["tos_accepted"] is False
    acc = api.post("/api/v1/users/hal@example.org/tos")
    assert acc.status == 201 and acc.json["version"] == v.json["version"]
    assert acc.json["from"] == "127.0.0.1"
    err(api.post("/api/v1/users/hal@example.org/tos"), 409)
    assert api.ok("GET", "/api/v1/users/hal@example.org")["tos_accepted"] is True
    err(api.post("/api/v1/tos", {}), 400)


def test_the_auth_log_of_a_user_holds_failures_too(srv, api):
    pw = api.ok("POST", "/api/v1/users", {"address": "ivy@example.org"})["smtp_password"]
    assert not smtp_login_works(srv, "ivy@example.org", "wrong-" + pw)
    assert smtp_login_works(srv, "ivy@example.org", pw)
    events = api.ok("GET", "/api/v1/users/ivy@example.org/auth-log")["events"]
    # newest first: the success, then the failure (smtplib tries two mechanisms)
    assert events[0]["outcome"] == "ok" and events[1]["outcome"] == "failed"
    failed = api.ok("GET", "/api/v1/users/ivy@example.org/auth-log?failed=1&limit=5")["events"]
    assert failed and {e["outcome"] for e in failed} == {"failed"}
    assert len(api.ok("GET", "/api/v1/users/ivy@example.org/auth-log?limit=1")["events"]) == 1
    err(api.get("/api/v1/users/ivy@example.org/auth-log?limit=100000"), 400)


def test_quotas_of_a_user_and_a_domain_and_the_whole_auth_log(srv, api):
    pw = api.ok("POST", "/api/v1/users", {"address": "kim@example.org"})["smtp_password"]
    out = api.ok("PUT", "/api/v1/users/kim@example.org/quota", {"messages_per_hour": "1"})
    assert out["quota"]["messages_per_hour"] == 1
    assert out["quota"]["messages_per_day"] == "inherit"
    err(api.put("/api/v1/users/kim@example.org/quota", {"messages_per_hour": "lots"}), 400)
    err(api.put("/api/v1/users/nobody@example.org/quota", {"messages_per_hour": "1"}), 404)
    d = api.ok("PUT", "/api/v1/domains/example.org/quota", {"messages_per_day": "50"})
    assert d["quota"]["messages_per_day"] == 50
    # a GET shows what a PUT set, and changes nothing even when asked to
    assert api.ok("GET", "/api/v1/domains/example.org/quota")["quota"] == d["quota"]
    assert api.ok("GET", "/api/v1/users/kim@example.org/quota")["quota"] == out["quota"]
    assert "PUT" in err(api.get("/api/v1/users/kim@example.org/quota?messages_per_hour=9"), 400)
    assert api.ok("GET", "/api/v1/users/kim@example.org/quota")["quota"]["messages_per_hour"] == 1
    if api.ok("GET", "/api/v1/tos").get("version"):
        api.ok("POST", "/api/v1/users/kim@example.org/tos", {})
    # the user's quota holds on the submission port: one message, then 451
    s = smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=15)
    try:
        s.starttls(context=tls_client_context(srv.cert))
        s.login("kim@example.org", pw)
        assert s.sendmail("kim@example.org", ["x@example.net"],
                          make_message(frm="kim@example.org", to="x@example.net")) == {}
        code, text = s.mail("kim@example.org")
        assert code == 451 and b"hour" in text, (code, text)
    finally:
        s.close()
    assert not smtp_login_works(srv, "kim@example.org", "wrong-" + pw)
    log = api.ok("GET", "/api/v1/auth-log?failed=1&limit=10")
    rows = log["events"] if isinstance(log, dict) and "events" in log else log
    assert any(e["login"] == "kim@example.org" and e["outcome"] != "ok" for e in rows), log
    assert all(e["outcome"] != "ok" for e in rows)


def test_a_value_of_the_wrong_json_type_is_refused_naming_the_field_and_changes_nothing(srv, api):
    api.ok("POST", "/api/v1/users", {"address": "typed@example.org"})
    quota = "/api/v1/users/typed@example.org/quota"

    def limit():
        return api.ok("GET", "/api/v1/users/typed@example.org")["quota"]["messages_per_hour"]

    before = limit()
    # a number where text is meant: no user without a password, no RSA key
    assert "password" in err(api.post("/api/v1/users", {"address": "typed2@example.org",
                                                         "password": 123}), 400)
    err(api.get("/api/v1/users/typed2@example.org"), 404)
    assert "dkim" in err(api.post("/api/v1/domains", {"domain": "typed.test", "dkim": 5}), 400)
    err(api.get("/api/v1/domains/typed.test/dns"), 404)
    assert "reason" in err(api.post("/api/v1/users/typed@example.org/block", {"reason": 5}), 400)
    assert api.ok("GET", "/api/v1/users/typed@example.org")["blocked"] is None
    assert "label" in err(api.post("/api/v1/users/typed@example.org/app-passwords",
                                   {"label": ["phone"]}), 400)
    assert api.ok("GET", "/api/v1/users/typed@example.org/app-passwords")["app_passwords"] == []
    # anything but a whole number (or a word such as "inherit") for a quota
    for bad in ([1], {"n": 1}, 1.5, None, True):
        assert "messages_per_hour" in err(api.put(quota, {"messages_per_hour": bad}), 400), bad
    assert "force" in err(api.delete("/api/v1/domains/example.org?force=maybe"), 400)
    # a field nobody reads, or nothing at all to change: not a silent 200
    assert "messages_per_hours" in err(api.put(quota, {"messages_per_hours": "3"}), 400)
    assert "nothing to change" in err(api.put(quota, {}), 400)
    assert limit() == before
    # a number where a number is meant is taken
    out = api.ok("PUT", quota, {"messages_per_hour": 7, "recipients_per_day": 0})
    assert out["quota"]["messages_per_hour"] == 7 and out["quota"]["recipients_per_day"] == 0
    assert limit()["limit"] == 7 and limit()["from"] == "user"
    tok = api.post("/api/v1/users/typed@example.org/tokens", {"ttl": 600})
    assert tok.status == 201, tok.body


def accept_terms(api, address):
    """The user accepts the current terms, if there are any."""
    if api.get("/api/v1/tos").status == 200:  # terms set by another test
        r = api.post("/api/v1/users/%s/tos" % address)
        assert r.status in (201, 409), r.body


def log_fields(line):
    """key -> value of a log line, as a logfmt reader splits it."""
    return dict(re.findall(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^ ]*)', line))


def test_a_block_reason_with_a_line_break_is_refused_and_the_smtp_reply_stays_one_reply(srv, api):
    addr = "crlf@example.org"
    pw = api.ok("POST", "/api/v1/users", {"address": addr})["smtp_password"]
    accept_terms(api, addr)
    attack = api.post("/api/v1/users/%s/block" % addr, {"reason": "x\r\n250 2.1.0 ok"})
    if attack.status != 200:
        api.ok("POST", "/api/v1/users/%s/block" % addr, {"reason": "spam run"})
    # the blocked user's MAIL is answered with one reply of one line
    c = srv.session(addr, pw)
    try:
        r = c.cmd("MAIL FROM:<%s>" % addr)
        assert r.code == 550 and len(r.lines) == 1 and "blocked" in r.text, r
        assert c.pending(0.5) == b"", "more than one reply to MAIL"
    finally:
        c.close()
    e = err(attack, 400)
    assert "reason" in e and "control characters" in e, e
    api.ok("DELETE", "/api/v1/users/%s/block" % addr)
    for reason in ("x\n250 ok", "tab\there", "c1\u0085here", "sep\u2028here"):
        assert "control characters" in err(api.post("/api/v1/users/%s/block" % addr,
                                                    {"reason": reason}), 400), reason
    # the CLI runs the same check
    rc, _, e = srv.cli_run("user", "block", addr, "--reason", "x\r\n250 2.1.0 ok")
    assert rc == 1 and "reason" in e and "control characters" in e, e
    assert api.ok("GET", "/api/v1/users/" + addr)["blocked"] is None


def test_a_block_reason_stored_before_the_check_still_makes_one_reply_line(srv, api):
    # a reason written before control characters were refused (or by
    # hand in the store) reaches the client as one printable line
    addr = "oldcrlf@example.org"
    pw = api.ok("POST", "/api/v1/users", {"address": addr})["smtp_password"]
    accept_terms(api, addr)
    api.ok("POST", "/api/v1/users/%s/block" % addr, {"reason": "placeholder"})
    srv.store_exec("UPDATE account SET blocked_reason = 'x' || char(13, 10) || "
                   "'250 2.1.0 ok ' || char(233) WHERE local_key = 'oldcrlf'",
                   "UPDATE account SET blocked_reason = 'x' || chr(13) || chr(10) || "
                   "'250 2.1.0 ok ' || chr(233) WHERE local_key = 'oldcrlf'")
    c = srv.session(addr, pw)
    try:
        r = c.cmd("MAIL FROM:<%s>" % addr)
        assert r.code == 550 and len(r.lines) == 1, r
        assert "(x??250 2.1.0 ok ??)" in r.text, r  # é: two bytes
        assert c.pending(0.5) == b"", "more than one reply to MAIL"
    finally:
        c.close()


def test_a_device_label_is_quoted_in_the_log_and_cannot_forge_a_field(srv, api):
    addr, _ = srv.user("label")
    accept_terms(api, addr)
    user = srv.api(key=None)
    assert user.login(addr).status == 200
    r = user.post("/api/v1/me/profile", {"device": 'phone" forged="1'})
    assert r.status == 200, r.body[:300]
    lines = [l for l in srv.log().splitlines() if "http.profile" in l and addr in l]
    assert len(lines) == 1, lines
    fields = log_fields(lines[0])
    assert "forged" not in fields, lines[0]
    assert fields["device"].startswith('"phone') and "forged" in fields["device"], lines[0]
    assert fields["ip"] == "127.0.0.1", lines[0]
    assert user.post("/api/v1/me/profile", {"device": "a key=forged"}).status == 200
    line = [l for l in srv.log().splitlines() if "http.profile" in l and addr in l][-1]
    assert 'device="a key=forged"' in line and "key" not in log_fields(line), line
    # a label with a line break is refused, from the panel and the operator
    assert "control characters" in err(user.post("/api/v1/me/profile",
                                                  {"device": "phone\r\nforged line"}), 400)
    assert "control characters" in err(api.post("/api/v1/users/%s/app-passwords" % addr,
                                                 {"label": "a\nb"}), 400)
    assert "forged line" not in srv.log()


# ---------------------------------------------------------------- the queue

def test_the_queue_is_listed_shown_held_released_flushed_and_deleted(srv, api):
    pw = api.ok("POST", "/api/v1/users", {"address": "jo@example.org"})["smtp_password"]
    if api.get("/api/v1/tos").status == 200:  # terms set by another test
        api.ok("POST", "/api/v1/users/jo@example.org/tos")
    s = smtplib.SMTP("127.0.0.1", srv.ports["submission"], timeout=15)
    s.starttls(context=tls_client_context(srv.cert))
    s.login("jo@example.org", pw)
    s.sendmail("jo@example.org", ["someone@remote.test"], make_message(frm="jo@example.org",
                                                                      to="someone@remote.test"))
    s.quit()
    mine = [m for m in api.ok("GET", "/api/v1/queue")["queue"] if m["from"] == "jo@example.org"]
    assert len(mine) == 1
    qid = mine[0]["id"]
    shown = api.ok("GET", "/api/v1/queue/" + qid)
    assert shown["rcpts"] == ["someone@remote.test"] and "Subject: hello" in shown["message"]
    assert api.ok("POST", "/api/v1/queue/%s/hold" % qid)["running"] is True
    assert [m["held"] for m in api.ok("GET", "/api/v1/queue")["queue"] if m["id"] == qid] == [True]
    # the CLI sees the same spool
    assert [m["held"] for m in srv.cli("queue", "list")["queue"] if m["id"] == qid] == [True]
    api.ok("POST", "/api/v1/queue/%s/release" % qid)
    assert [m["held"] for m in api.ok("GET", "/api/v1/queue")["queue"] if m["id"] == qid] == [False]
    assert api.ok("POST", "/api/v1/queue/flush")["running"] is True
    api.ok("DELETE", "/api/v1/queue/" + qid)
    assert qid not in [m["id"] for m in api.ok("GET", "/api/v1/queue")["queue"]]
    for method, path in (("GET", "/api/v1/queue/"), ("DELETE", "/api/v1/queue/"),
                         ("POST", "/api/v1/queue/%s/hold")):
        p = path % qid if "%s" in path else path + qid
        err(api.call(method, p, body={} if method == "POST" else None), 404)
    err(api.get("/api/v1/queue/not-an-id"), 404)


def test_tls_reports_are_shown_and_asked_for_over_the_api(srv, api):
    assert api.ok("GET", "/api/v1/tlsrpt") == {"domains": []}
    r = api.ok("POST", "/api/v1/tlsrpt/send", {"today": True})
    assert r == {"done": "send", "day": "today", "running": True}
    assert "not a day" in err(api.call("POST", "/api/v1/tlsrpt/send",
                                       body={"day": "yesterday"}), 400)
    # the server took the request (and left nothing behind)
    srv.wait_log(r"tlsrpt\.request day=today")
