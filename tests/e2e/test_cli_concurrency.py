"""Two operators (or scripts) writing to the same store at once."""
import subprocess
import threading

from conftest import POSTERN_BIN, base_env, check_sanitizers, usage_text


def dkim():
    return ["--dkim", "ed25519"] if "--dkim" in usage_text() else []


def spawn(postern, *args):
    argv = [POSTERN_BIN, "-c", str(postern.conf)] + list(args)
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=base_env(), cwd=postern.cwd)


def finish(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    err = err.decode("utf-8", "replace")
    check_sanitizers(p.args, err)
    return p.returncode, out.decode("utf-8", "replace"), err


def assert_intact(postern):
    r = subprocess.run(["sqlite3", str(postern.db), "PRAGMA integrity_check"],
                       stdout=subprocess.PIPE, check=True)
    assert r.stdout.decode().strip() == "ok"
    r = subprocess.run(["sqlite3", str(postern.db), "PRAGMA foreign_key_check"],
                       stdout=subprocess.PIPE, check=True)
    assert r.stdout.decode().strip() == ""


def test_two_writers_adding_thirty_users_each_all_succeed(postern):
    postern.add_domain("example.org")
    failures = []

    def writer(name):
        # each writer starts its next `user add` as soon as the last one ends
        for i in range(30):
            rc, out, err = finish(spawn(postern, "user", "add", "%s%02d@example.org" % (name, i)))
            if rc != 0:
                failures.append((name, i, rc, err))

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("ann", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    users = postern.ok("user", "list", json=True)["users"]
    assert len(users) == 60
    assert len({u["address"] for u in users}) == 60
    assert all(u["has_smtp_password"] == 1 for u in users)
    assert postern.count("smtp_credential") == 60 and postern.count("user_name") == 60
    assert_intact(postern)


def test_two_concurrent_adds_of_the_same_address_exactly_one_succeeds(postern, alice):
    for i in range(4):
        # the same user spelled two ways, or a user against an alias of
        # alice's, started together
        a = spawn(postern, "user", "add", "same%d@example.org" % i)
        if i % 2:
            b = spawn(postern, "user", "alias", "add", "alice@example.org", "Same%d" % i)
        else:
            b = spawn(postern, "user", "add", "SAME%d@Example.ORG" % i)
        ra, rb = finish(a), finish(b)
        assert sorted([ra[0], rb[0]]) == [0, 1], (ra, rb)
        assert "is taken" in (ra if ra[0] else rb)[2]
    assert postern.count("user_name") == 1 + 4
    assert postern.count("smtp_credential") == postern.count("account")
    assert_intact(postern)


def test_two_concurrent_adds_of_the_same_domain_name_exactly_one_succeeds(postern):
    postern.add_domain("example.org")
    for i in range(4):
        # a domain against the same domain, or against a domain alias
        a = spawn(postern, "domain", "add", "same%d.example" % i, *dkim())
        if i % 2:
            b = spawn(postern, "domain", "alias", "add", "SAME%d.example" % i, "example.org")
        else:
            b = spawn(postern, "domain", "add", "Same%d.EXAMPLE" % i, *dkim())
        ra, rb = finish(a), finish(b)
        assert sorted([ra[0], rb[0]]) == [0, 1], (ra, rb)
        assert "already exists" in (ra if ra[0] else rb)[2]
    assert postern.count("domain_name") == 1 + 4
    assert_intact(postern)
