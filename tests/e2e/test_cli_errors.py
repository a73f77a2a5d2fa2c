"""Usage errors and refusals: exit status 2 for bad usage, 1 for a refusal,
a message on stderr, and the store left exactly as it was."""
import pytest

from conftest import make_setup

COMMANDS = [
    "domain add", "domain list", "domain remove", "domain alias add", "domain alias remove",
    "user add", "user list", "user show", "user remove", "user alias add", "user alias remove",
    "user password", "user block", "user unblock", "smtp-password show",
    "smtp-password generate", "app-password add", "app-password list", "app-password revoke",
    "token issue", "token revoke", "tos set", "tos show", "tos accept", "relay-net add",
    "relay-net list", "relay-net remove",
]


@pytest.fixture(scope="module")
def full(postern_bin, tmp_path_factory):
    """One setup with something in every table, shared by the refusals."""
    root = tmp_path_factory.mktemp("errors")
    s = make_setup(root / "postern", cwd=root / "cwd")
    s.add_domain("example.org")
    s.add_domain("example.net")
    s.ok("domain", "alias", "add", "example.com", "example.org")
    s.add_user("alice@example.org")
    s.add_user("bob@example.org")
    s.ok("user", "alias", "add", "alice@example.org", "ally")
    s.ok("smtp-password", "generate", "example.org")
    s.ok("app-password", "add", "alice@example.org", "--label", "phone")
    s.ok("token", "issue", "alice@example.org")
    s.ok("relay-net", "add", "example.org", "192.0.2.0/24")
    s.ok("user", "block", "bob@example.org", "--reason", "spam")
    tos = root / "tos.txt"
    tos.write_text("Be nice.\n")
    s.ok("tos", "set", tos)
    s.ok("tos", "accept", "alice@example.org")
    return s


def test_the_usage_lists_every_command(full):
    r = full.run("--help")
    assert r.rc == 0
    for c in COMMANDS:
        assert "  %s " % c in r.err, c


def test_no_command_prints_the_usage_and_exits_2(full):
    for args in ([], ["--json"], ["-c", str(full.conf)]):
        r = full.run(*args, config=False)
        assert r.rc == 2, args
        assert "usage: postern" in r.err


USAGE_ERRORS = [
    (["frobnicate"], 'unknown command "frobnicate"'),
    (["domain"], 'unknown command "domain"'),
    (["domain", "frob", "example.org"], 'unknown command "domain frob"'),
    (["Domain", "list"], 'unknown command "Domain list"'),
    (["--bogus", "domain", "list"], "unknown option --bogus"),
    (["domain", "list", "--bogus"], "unknown option --bogus"),
    (["user", "add", "carol@example.org", "--password", "secret"], "unknown option --password"),
    (["domain", "add"], "missing argument"),
    (["user", "add"], "missing argument"),
    (["user", "alias", "add", "alice@example.org"], "missing argument"),
    (["domain", "add", "example.info", "example.biz"], 'unexpected argument "example.biz"'),
    (["domain", "list", "example.org"], 'unexpected argument "example.org"'),
    (["token", "issue", "alice@example.org", "--ttl"], "--ttl needs a value"),
    (["tos", "set", "/nonexistent/tos.txt"], "/nonexistent/tos.txt"),
]


def test_bad_usage_exits_2_with_a_message_and_changes_nothing(full):
    with full.unchanged():
        for args, msg in USAGE_ERRORS:
            r = full.run(*args)
            assert r.rc == 2, (args, r)
            assert msg in r.err, (args, r.err)
            assert r.out == "", (args, r.out)


def test_a_missing_argument_shows_the_usage_of_that_command(full):
    r = full.run("domain", "alias", "add", "example.info")
    assert "usage: postern domain alias add ALIAS DOMAIN" in r.err


REFUSALS = [
    # one of each kind, against a store with something in every table
    ["domain", "add", "Example.COM"],
    ["domain", "remove", "example.org"],
    ["user", "add", "ALLY@example.org"],
    ["user", "add", "carol@example.org", "--password-stdin"],
    ["user", "alias", "add", "bob@example.org", "ally"],
    ["smtp-password", "generate", "carol@example.org"],
    ["app-password", "add", "alice@example.org", "--label", "phone"],
    ["app-password", "revoke", "alice@example.org", "laptop"],
    ["token", "issue", "alice@example.org", "--ttl", "1y"],
    ["token", "revoke", "AAAAAAAAAAAA"],
    ["tos", "accept", "alice@example.org"],
    ["relay-net", "add", "example.org", "192.0.2.0/24"],
    ["relay-net", "remove", "example.net", "192.0.2.0/24"],
]


def test_refusals_exit_1_with_a_message_and_leave_the_store_unchanged(full):
    with full.unchanged():
        for args in REFUSALS:
            r = full.run(*args, stdin="short")
            assert r.rc == 1, (args, r)
            assert r.err.startswith("postern: ") and len(r.err.strip()) > 12, (args, r.err)
            assert r.out == "", (args, r.out)


def test_a_refusal_in_json_is_an_object_with_the_error_and_a_status(full):
    with full.unchanged():
        for args, status, words in (
            (["domain", "add", "example.org"], 409, "already exists"),
            (["user", "show", "carol@example.org"], 404, "no user carol@example.org"),
            (["domain", "add", "bad..name"], 400, "empty label"),
            (["user", "add", "carol@example.com"], 400, "alias of example.org"),
        ):
            r = full.run(*args, json=True)
            assert r.rc == 1, args
            assert r.out == {"error": r.out["error"], "status": status}, (args, r.out)
            assert words in r.out["error"]
            assert r.out["error"] in r.err


def test_json_may_come_before_or_after_the_command(full):
    a = full.run("--json", "domain", "list")
    b = full.run("domain", "list", "--json")
    c = full.run("domain", "--json", "list")
    d = full.run("-c", full.conf, "--json", "domain", "list", config=False)
    assert a.rc == b.rc == c.rc == d.rc == 0
    assert a.out == b.out == c.out == d.out
    assert a.out.lstrip().startswith("{")
