"""The authentication log: `postern log auth [ADDRESS] [--since TIME]
[--failed] [--json]` lists every attempt (time, login, client address,
mechanism, credential kind, outcome, why it failed), filtered as asked;
old events are pruned; app passwords record their last use."""
import time

from abuse_helpers import auth_plain, client, login


def attempts(srv):
    """A known history: alice ok, alice wrong password (from .61), an
    unknown login, alice with an app password, the domain login."""
    s = login(srv, "alice@example.org")
    s.close()
    s = client(srv, "127.0.0.61")
    assert auth_plain(s, "alice@example.org", "wrong")[0] == 535
    s.close()
    s = client(srv)
    assert auth_plain(s, "ghost@example.org", "wrong")[0] == 535
    s.close()
    app = srv.cli("app-password", "add", "alice@example.org", "--label", "phone")["password"]
    s = client(srv)
    assert auth_plain(s, "alice@example.org", app)[0] == 235
    s.close()
    dom = srv.cli("smtp-password", "generate", "example.org")["password"]
    s = client(srv)
    assert auth_plain(s, "example.org", dom)[0] == 235
    s.close()


def test_the_log_lists_each_attempt_with_who_where_how_and_why(smtp_server_factory):
    srv = smtp_server_factory()
    t0 = int(time.time())
    attempts(srv)
    events = srv.cli("log", "auth")["events"]
    # newest first; every attempt of this test (and the fixture's none)
    got = [(e["login"], e["ip"], e["mech"], e["kind"], e["outcome"], e["reason"])
           for e in events]
    assert got == [
        ("example.org", "127.0.0.1", "PLAIN", "domain_smtp_password", "ok", None),
        ("alice@example.org", "127.0.0.1", "PLAIN", "app_password", "ok", None),
        ("ghost@example.org", "127.0.0.1", "PLAIN", None, "failed", "unknown login"),
        ("alice@example.org", "127.0.0.61", "PLAIN", "smtp_password", "failed",
         "wrong password"),
        ("alice@example.org", "127.0.0.1", "PLAIN", "smtp_password", "ok", None),
    ], got
    assert all(t0 - 1 <= e["time"] <= time.time() + 1 for e in events)


def test_the_log_is_filtered_by_address_failure_and_time(smtp_server_factory):
    srv = smtp_server_factory()
    attempts(srv)
    alice = srv.cli("log", "auth", "Alice@Example.ORG")["events"]
    assert [e["kind"] for e in alice] == ["app_password", "smtp_password", "smtp_password"]
    failed = srv.cli("log", "auth", "--failed")["events"]
    assert [e["login"] for e in failed] == ["ghost@example.org", "alice@example.org"]
    assert srv.cli("log", "auth", "alice@example.org", "--failed")["events"][0]["ip"] == \
        "127.0.0.61"
    assert len(srv.cli("log", "auth", "--since", "1h")["events"]) == 5
    assert srv.cli("log", "auth", "--since", "2999-01-01")["events"] == []
    assert len(srv.cli("log", "auth", "--since", "2000-01-01T00:00:00Z")["events"]) == 5
    rc, _, err = srv.cli_run("log", "auth", "--since", "yesterday")
    assert rc == 1 and "--since" in err
    # the text form: one line per attempt, a count
    text = srv.cli("log", "auth", "alice@example.org", "--failed", json=False)
    lines = text.strip().splitlines()
    assert lines[-1] == "1 event(s)"
    assert lines[0].split()[2:] == ["alice@example.org", "127.0.0.61", "PLAIN",
                                    "smtp_password", "failed", "wrong", "password"]


def test_app_passwords_record_their_last_use(smtp_server_factory):
    srv = smtp_server_factory()
    app = srv.cli("app-password", "add", "alice@example.org", "--label", "laptop")["password"]
    listed = srv.cli("app-password", "list", "alice@example.org")
    assert listed["app_passwords"][0]["last_used"] is None
    t0 = int(time.time())
    s = client(srv)
    assert auth_plain(s, "alice@example.org", app)[0] == 235
    s.close()
    used = srv.cli("app-password", "list", "alice@example.org")["app_passwords"][0]
    assert t0 <= used["last_used"] <= time.time() + 1
    text = srv.cli("app-password", "list", "alice@example.org", json=False)
    assert "last_used=%s" % time.strftime("%Y-%m-%d", time.gmtime(used["last_used"])) in text


def test_events_older_than_the_retention_are_pruned(smtp_server_factory):
    srv = smtp_server_factory(start=False, auth__log_retention="2d")
    old = int(time.time()) - 3 * 86400
    recent = int(time.time()) - 86400
    import sqlite3
    db = sqlite3.connect(str(srv.data / "postern.db"))
    with db:
        for t, who in ((old, "old@example.org"), (recent, "recent@example.org")):
            db.execute("INSERT INTO auth_event (time, login, ip, mech, outcome)"
                       " VALUES (?, ?, '192.0.2.1', 'PLAIN', 'failed')", (t, who))
    db.close()
    srv.start()
    logins = [e["login"] for e in srv.cli("log", "auth")["events"]]
    assert logins == ["recent@example.org"], logins
