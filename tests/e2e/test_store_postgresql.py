"""
The store on PostgreSQL, as an operator meets it: `postern store
migrate`, `postern store copy` from a SQLite store into an empty
database (then the same logins work on PostgreSQL), and a database that
restarts under a running postern (AUTH answers 451 4.3.0 meanwhile, never
235 unchecked, and works again after, with no crash; the node holds the
connections it says it does, no more). A cluster of the
tests' own (fixtures_pg.py), never the system's.
"""
import base64
import os
import re
import subprocess
import time

import pytest

import fixtures_pg
from fixtures_http import HttpServer
from fixtures_smtp import POSTERN_BIN, Server, env_for_postern, make_message


def plain(login, secret):
    return base64.b64encode(b"\0" + login.encode() + b"\0" + secret.encode()).decode()


def auth_reply(srv, login, secret):
    """The reply to AUTH PLAIN on a fresh submission session."""
    c = srv.client("submission")
    try:
        c.ehlo()
        c.starttls()
        c.ehlo()
        return c.cmd("AUTH PLAIN " + plain(login, secret))
    finally:
        c.close()


def store_cmd(srv, *args, stdin=None):
    p = subprocess.run([POSTERN_BIN, "-c", str(srv.conf), "store"] + list(args),
                       input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=env_for_postern(), timeout=120)
    return p.returncode, p.stdout, p.stderr


def use_postgresql(srv, conninfo):
    srv.conf_set("store", "driver", "postgresql")
    srv.conf_set("store", "conninfo", conninfo)
    srv.pg = conninfo


def test_store_migrate_brings_an_empty_database_to_the_current_version(tmp_path, pg_database):
    srv = Server(tmp_path / "postern")
    use_postgresql(srv, pg_database)
    rc, out, err = store_cmd(srv, "migrate")
    assert rc == 0, err
    assert out.strip() == "store: postgresql, schema version 8", out
    # run again: nothing to do, the same version
    rc, out, err = store_cmd(srv, "migrate")
    assert rc == 0 and "schema version 8" in out, err
    assert fixtures_pg.psql_json(pg_database, "SELECT max(version) AS v FROM schema_version") == [{"v": 8}]


def test_a_copied_store_logs_the_same_users_in_on_postgresql(tmp_path, pg_cluster):
    # one machine on SQLite: domains, users, aliases, passwords, an api key
    srv = HttpServer(tmp_path / "postern")
    srv.cli("domain", "add", "example.org", "--dkim", "ed25519")
    srv.cli("domain", "add", "example.net", "--dkim", "ed25519")
    srv.cli("domain", "alias", "add", "example.com", "example.org")
    alice = srv.cli("user", "add", "alice@example.org")["smtp_password"]
    bob = srv.cli("user", "add", "bob@example.net")["smtp_password"]
    srv.cli("user", "alias", "add", "alice@example.org", "alice_lastname")
    phone = srv.cli("app-password", "add", "alice@example.org", "--label", "phone")["password"]
    srv.cli("app-password", "add", "bob@example.net", "--label", "old")
    srv.cli("app-password", "revoke", "bob@example.net", "old")
    key = srv.cli("api-key", "add", "tooling")["key"]
    users_before = srv.cli("user", "list")

    # copy into an empty database; the conninfo through stdin (no
    # password on a command line, though this cluster needs none)
    target = pg_cluster.createdb()
    rc, out, err = store_cmd(srv, "copy", "--to", "-", stdin=target + "\n")
    assert rc == 0, err
    assert "account" in out and "master key" in out, out
    # a second copy into the same database is refused, and changes nothing
    before = fixtures_pg.dump(target)
    rc, out, err = store_cmd(srv, "copy", "--to", target)
    assert rc == 1 and "not empty" in err, (out, err)
    assert fixtures_pg.dump(target) == before

    # the node now on PostgreSQL, with the same master key file
    use_postgresql(srv, target)
    assert srv.cli("user", "list") == users_before
    srv.start()
    assert auth_reply(srv, "alice@example.org", alice).code == 235
    assert auth_reply(srv, "alice@example.org", phone).code == 235
    assert auth_reply(srv, "bob@example.net", bob).code == 235
    assert auth_reply(srv, "bob@example.net", "wrong-password-123").code == 535
    # the alias and the alias domain came along: alice sends as both
    c = srv.session("alice@example.org", alice)
    try:
        r = c.mail("alice_lastname@example.com", ["rcpt@remote.test"],
                   make_message(frm="alice_lastname@example.com", to="rcpt@remote.test"))
        assert r.code == 250, r
    finally:
        c.close()
    # the API key works; new rows take ids past the copied ones
    assert srv.api(key=key).get("/api/v1/domains").status == 200
    carol = srv.api().ok("POST", "/api/v1/users", {"address": "carol@example.org"}, status=201)
    assert auth_reply(srv, "carol@example.org", carol["smtp_password"]).code == 235
    ids = fixtures_pg.psql_json(target, "SELECT id FROM account ORDER BY id")
    assert [r["id"] for r in ids] == [1, 2, 3]
    # the secrets are not in the database in the clear
    dump = fixtures_pg.dump(target)
    assert alice not in dump and phone not in dump and key not in dump
    srv.stop()


def connections(cluster):
    """Sessions open on the postern database, this query's own excepted."""
    rows = fixtures_pg.psql_json(cluster.conninfo, "SELECT count(*) AS n FROM pg_stat_activity"
                                 " WHERE datname = 'postern' AND pid <> pg_backend_pid()")
    return rows[0]["n"]


@pytest.fixture
def own_cluster():
    """A cluster of this test only: it is stopped and started under load."""
    if not fixtures_pg.pg_available():
        pytest.skip("PostgreSQL 15 is not installed")
    with fixtures_pg.Cluster() as c:
        yield c


def test_auth_is_deferred_while_postgresql_restarts_and_works_after(tmp_path, own_cluster):
    srv = Server(tmp_path / "postern")
    use_postgresql(srv, own_cluster.conninfo)
    srv.cli("domain", "add", "example.org", "--dkim", "ed25519")
    pw = srv.cli("user", "add", "alice@example.org")["smtp_password"]
    srv.start()
    assert auth_reply(srv, "alice@example.org", pw).code == 235
    # the node's pool: a connection per worker, the auth log's and the
    # main thread's, no more, however many logins
    m = re.search(r"server.start .*store=postgresql store_connections=(\d+)", srv.log())
    assert m, srv.log()
    pool = int(m.group(1))
    for _ in range(10):
        assert auth_reply(srv, "alice@example.org", pw).code == 235
    assert connections(own_cluster) == pool

    own_cluster.stop()
    for secret in (pw, "wrong-password-123", pw):
        r = auth_reply(srv, "alice@example.org", secret)
        # no verdict without the store: neither let in nor refused
        assert r.code == 451 and r.enh == "4.3.0", r
    assert srv.proc.poll() is None, "postern exited"

    own_cluster.start()
    deadline = time.monotonic() + 15
    while True:
        r = auth_reply(srv, "alice@example.org", pw)
        if r.code == 235 or time.monotonic() > deadline:
            break
        assert r.code == 451, r
        time.sleep(0.3)
    assert r.code == 235, r
    assert auth_reply(srv, "alice@example.org", "wrong-password-123").code == 535
    # every worker's connection is back: a few logins in a row all work
    assert all(auth_reply(srv, "alice@example.org", pw).code == 235 for _ in range(6))
    assert connections(own_cluster) <= pool
    srv.wait_log(r"result=tempfail reason=store")
    # the log names the failure, never the conninfo's secrets or the password
    log = srv.log()
    assert pw not in log
    srv.stop()
    assert os.path.exists(own_cluster.data)
