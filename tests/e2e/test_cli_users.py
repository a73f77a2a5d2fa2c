"""Users: add, list, show, remove, aliases, login passwords, blocks."""
import subprocess
import time

from conftest import POSTERN_BIN, base_env, check_sanitizers, fields, has

# every test on the embedded store and again on PostgreSQL (conftest)
STORE_BACKENDS = ("sqlite", "postgresql")

LOGIN_PW = "Correct-Horse-Battery-9"


def user_addresses(postern, *domain):
    return [u["address"] for u in postern.ok("user", "list", *domain, json=True)["users"]]


def test_user_add_prints_a_new_smtp_password_and_sets_no_login_password(postern):
    postern.add_domain("example.org")
    out = fields(postern.ok("user", "add", "alice@example.org"))
    assert out["address"] == "alice@example.org"
    assert len(out["smtp_password"]) >= 16
    assert out["login_password"] == "false"
    assert postern.count("login_password") == 0
    out = postern.ok("user", "add", "bob@example.org", json=True)
    assert {"address", "smtp_password", "login_password"} <= set(out)
    assert out["address"] == "bob@example.org" and out["login_password"] is False
    assert len(out["smtp_password"]) >= 16


def test_user_add_with_password_stdin_sets_a_login_password(postern):
    postern.add_domain("example.org")
    args = ["user", "add", "alice@example.org", "--password-stdin"]
    assert LOGIN_PW not in " ".join(args)
    out = postern.ok(*args, stdin=LOGIN_PW + "\n", json=True)
    assert out["login_password"] is True
    assert out["smtp_password"] != LOGIN_PW
    [row] = postern.sql("SELECT hash FROM login_password")
    assert row["hash"].startswith("$argon2id$")
    assert LOGIN_PW not in postern.dump()
    show = postern.ok("user", "show", "alice@example.org", json=True)
    assert show["login_password"] is True and show["smtp_password"] is True
    assert LOGIN_PW not in str(show)


WEAK = [
    ("short1!", "at least 10 characters"),
    ("", "at least 10 characters"),
    ("abcdefghijkl", "at least 16 characters"),
    ("x" * 257, "at most 256"),
    ("tab\there-and-long-enough", "control characters"),
]


def test_user_add_with_a_weak_login_password_is_refused_and_adds_nothing(world):
    with world.unchanged():
        for pw, why in WEAK:
            err = world.refused("user", "add", "carol@example.org", "--password-stdin",
                                stdin=pw + "\n")
            assert "login password refused" in err and why in err, (pw, err)


def test_a_login_password_that_is_not_utf8_is_refused_not_dropped(postern):
    # "P\xe4sswort..." in Latin-1: the operator asked for a login password;
    # the user must not be made silently without one.
    postern.add_domain("example.org")
    r = postern.run("user", "add", "alice@example.org", "--password-stdin",
                    stdin=b"P\xe4sswort-lang-123\n", json=True)
    if r.rc == 0:
        assert r.out["login_password"] is True, \
            "user added without the login password given on stdin: %s" % r.out
    else:
        assert "password" in r.err
        assert postern.count("account") == 0


def test_a_user_can_only_be_added_to_an_existing_domain(world):
    with world.unchanged():
        err = world.refused("user", "add", "carol@example.info")
    assert "no domain example.info" in err and "postern domain add example.info" in err


def test_a_user_may_not_be_added_to_an_alias_domain(world):
    with world.unchanged():
        err = world.refused("user", "add", "carol@EXAMPLE.com")
    assert "alias of example.org" in err and "carol@example.org instead" in err


BAD_ADDRESSES = [
    "not-an-address", "@example.org", "alice@", "alice@@example.org", "a..b@example.org",
    "alice.@example.org", "al ice@example.org",
    "a" * 65 + "@example.org", "alice@example..org", "alice@[192.0.2.1]",
]


def test_a_bad_address_is_refused_with_a_reason(world):
    with world.unchanged():
        for address in BAD_ADDRESSES:
            err = world.refused("user", "add", address)
            assert address in err or "local part" in err, (address, err)


def test_a_local_part_of_64_characters_and_utf8_is_fine(postern):
    postern.add_domain("bücher.de")
    postern.add_user("a" * 64 + "@bücher.de")
    out = postern.ok("user", "add", "Jörg@BÜCHER.de", json=True)
    assert out["address"] == "Jörg@xn--bcher-kva.de"


def test_local_parts_are_kept_as_given_but_compared_case_insensitively(world):
    # Dave@example.net was added with a capital D
    assert "Dave@example.net" in user_addresses(world)
    with world.unchanged():
        for spelling in ("dave@example.net", "DAVE@Example.NET", "ALICE@example.org"):
            err = world.refused("user", "add", spelling)
            assert "is taken" in err, (spelling, err)
    # every spelling finds him, as he was written
    assert world.ok("user", "show", "dAVE@EXAMPLE.net", json=True)["address"] == "Dave@example.net"


def test_user_list_shows_every_user_and_filters_by_domain(world):
    assert user_addresses(world) == ["Dave@example.net", "alice@example.org", "bob@example.org"]
    assert user_addresses(world, "example.org") == ["alice@example.org", "bob@example.org"]
    assert user_addresses(world, "EXAMPLE.com") == ["alice@example.org", "bob@example.org"]
    assert user_addresses(world, "example.net") == ["Dave@example.net"]
    assert user_addresses(world, "bücher.de") == []
    rows = world.ok("user", "list", json=True)["users"]
    by = {r["address"]: r for r in rows}
    assert by["alice@example.org"]["has_smtp_password"] == 1
    assert by["alice@example.org"]["has_login_password"] == 0
    assert by["alice@example.org"]["blocked_reason"] is None
    assert by["bob@example.org"]["blocked_reason"] == "spam"
    text = world.ok("user", "list", "example.net")
    assert text.splitlines()[0] == "users:"
    assert "address=Dave@example.net" in text and "has_smtp_password=1" in text
    assert "alice" not in text
    for pw in world.smtp.values():
        assert pw not in text and pw not in str(rows)


def test_user_list_of_an_unknown_domain_fails(world):
    err = world.refused("user", "list", "example.info")
    assert "no domain example.info" in err


def test_user_show_in_text_and_json(world):
    alice = world.smtp["alice@example.org"]
    text = fields(world.ok("user", "show", "alice@example.org"))
    assert text["address"] == "alice@example.org"
    assert text["aliases"] == "ally"
    assert text["allowed_senders"] == ("alice@example.org, ally@example.org, "
                                       "alice@example.com, ally@example.com")
    assert text["login_password"] == "false" and text["smtp_password"] == "true"
    assert text["blocked"] == "-"
    js = world.ok("user", "show", "alice@example.org", json=True)
    has(js, {
        "address": "alice@example.org",
        "allowed_senders": ["alice@example.org", "ally@example.org", "alice@example.com",
                            "ally@example.com"],
        "blocked": None, "login_password": False, "smtp_password": True,
        "tos_accepted": False, "tos_current": 0,
    })
    assert js["aliases"] in ([{"local": "ally"}], ["ally"])
    assert world.ok("user", "show", "bob@example.org", json=True)["blocked"] == "spam"
    assert "blocked: spam" in world.ok("user", "show", "bob@example.org")
    assert alice not in str(text) and alice not in str(js)


def test_user_remove_takes_the_user_and_frees_the_address(postern, alice):
    postern.ok("user", "alias", "add", "alice@example.org", "ally")
    postern.ok("app-password", "add", "alice@example.org", "--label", "phone")
    has(fields(postern.ok("user", "remove", "ALICE@example.org")), {"removed": "alice@example.org"})
    for t in ("account", "user_name", "smtp_credential", "app_password"):
        assert postern.count(t) == 0, t
    assert postern.ok("user", "add", "ally@example.org", json=True)["address"] == "ally@example.org"
    has(postern.ok("user", "remove", "ally@example.org", json=True), {"removed": "ally@example.org"})
    assert user_addresses(postern) == []


ON_A_USER = [
    ["user", "show", "carol@example.org"],
    ["user", "remove", "carol@example.org"],
    ["user", "block", "carol@example.org", "--reason", "spam"],
    ["user", "unblock", "carol@example.org"],
    ["user", "alias", "add", "carol@example.org", "robert"],
    ["user", "alias", "remove", "carol@example.org", "robert"],
    ["user", "password", "carol@example.org", "--stdin"],
    ["smtp-password", "show", "carol@example.org"],
    ["smtp-password", "generate", "carol@example.org"],
    ["app-password", "add", "carol@example.org", "--label", "phone"],
    ["app-password", "list", "carol@example.org"],
    ["app-password", "revoke", "carol@example.org", "phone"],
    ["token", "issue", "carol@example.org"],
    ["tos", "accept", "carol@example.org"],
]


def test_commands_on_an_unknown_user_fail_saying_so(world):
    with world.unchanged():
        for args in ON_A_USER:
            err = world.refused(*args, stdin="An0ther-good-one")
            assert "no user carol@example.org" in err, (args, err)


# user aliases

def test_user_alias_add_and_remove(postern, alice):
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    out = postern.ok("user", "alias", "add", "alice@example.org", "Alice.Smith")
    has(fields(out), {"address": "alice@example.org", "alias": "Alice.Smith"})
    has(postern.ok("user", "alias", "add", "alice@example.com", "ally", json=True), {
        "address": "alice@example.org", "alias": "ally"})
    show = postern.ok("user", "show", "alice@example.org", json=True)
    assert show["aliases"] == [{"local": "Alice.Smith"}, {"local": "ally"}] or \
        show["aliases"] == ["Alice.Smith", "ally"]
    assert show["allowed_senders"] == [
        "alice@example.org", "Alice.Smith@example.org", "ally@example.org",
        "alice@example.com", "Alice.Smith@example.com", "ally@example.com"]
    assert "aliases: Alice.Smith, ally" in postern.ok("user", "show", "alice@example.org")
    # an alias is a name, not a user
    assert user_addresses(postern) == ["alice@example.org"]
    out = postern.ok("user", "alias", "remove", "alice@example.org", "alice.smith")
    has(fields(out), {"address": "alice@example.org", "removed": "alice.smith"})
    has(postern.ok("user", "alias", "remove", "alice@example.org", "ally", json=True), {
        "address": "alice@example.org", "removed": "ally"})
    assert postern.ok("user", "show", "alice@example.org", json=True)["aliases"] == []


def test_user_alias_may_not_shadow_an_existing_address(world):
    with world.unchanged():
        err = world.refused("user", "alias", "add", "alice@example.org", "BOB")
        assert "BOB@example.org is taken" in err
        world.refused("user", "alias", "add", "alice@example.org", "Alice")


def test_a_user_may_not_shadow_an_existing_alias(world):
    with world.unchanged():
        err = world.refused("user", "add", "Ally@example.org")
        assert "is taken" in err
        world.refused("user", "add", "ally@example.com")


def test_two_users_may_not_share_an_alias(world):
    with world.unchanged():
        err = world.refused("user", "alias", "add", "bob@example.org", "ALLY")
        assert "is taken" in err
        world.refused("user", "alias", "add", "alice@example.org", "ally")


def test_the_same_local_part_may_live_at_two_domains(postern, alice):
    postern.add_domain("example.net")
    postern.add_user("bob@example.net")
    postern.ok("user", "alias", "add", "bob@example.net", "alice")
    postern.ok("user", "alias", "add", "alice@example.org", "bob")


BAD_LOCALS = [
    ("x@example.org", "not an address"),
    ("a..b", "invalid local part"),
    (".a", "invalid local part"),
    ("a b", "invalid local part"),
    ("a" * 65, "invalid local part"),
    ("", "missing local"),
]


def test_a_user_alias_must_be_a_valid_local_part(world):
    with world.unchanged():
        for local, why in BAD_LOCALS:
            err = world.refused("user", "alias", "add", "alice@example.org", local)
            assert why in err, (local, err)


def test_removing_a_name_that_is_not_one_of_the_users_aliases_fails(world):
    with world.unchanged():
        err = world.refused("user", "alias", "remove", "bob@example.org", "ally")
        assert "ally is not an alias of bob@example.org" in err
        # the primary address is not an alias either
        world.refused("user", "alias", "remove", "alice@example.org", "alice")


# login passwords

def test_user_password_sets_the_login_password_from_stdin_never_the_command_line(postern, alice):
    # while postern waits for the password, its command line (what `ps`
    # shows) holds no secret
    argv = [POSTERN_BIN, "-c", str(postern.conf), "user", "password", "alice@example.org", "--stdin"]
    assert LOGIN_PW not in " ".join(argv)
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=base_env(), cwd=postern.cwd)
    try:
        time.sleep(0.2)
        with open("/proc/%d/cmdline" % p.pid, "rb") as f:
            cmdline = f.read().decode("utf-8", "replace")
        ps = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(p.pid)],
                            stdout=subprocess.PIPE).stdout.decode()
        out, err = p.communicate(LOGIN_PW.encode() + b"\n", timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    out, err = out.decode(), err.decode()
    check_sanitizers(argv, err)
    assert p.returncode == 0, err
    assert "user" in cmdline and LOGIN_PW not in cmdline
    assert LOGIN_PW not in ps
    assert LOGIN_PW not in out and LOGIN_PW not in err
    has(fields(out), {"address": "alice@example.org", "login_password": "true"})
    [old] = postern.sql("SELECT hash FROM login_password")
    assert old["hash"].startswith("$argon2id$")
    assert LOGIN_PW not in postern.dump()
    assert postern.ok("user", "show", "alice@example.org", json=True)["login_password"] is True
    # --password-stdin is the same option; a new password replaces the hash
    out = postern.ok("user", "password", "alice@example.org", "--password-stdin",
                     stdin="An0ther-good-one", json=True)
    has(out, {"address": "alice@example.org", "login_password": True})
    [new] = postern.sql("SELECT hash FROM login_password")
    assert new["hash"] != old["hash"] and new["hash"].startswith("$argon2id$")


def test_user_password_refuses_a_weak_password_the_smtp_password_or_nothing(world):
    with world.unchanged():
        err = world.refused("user", "password", "alice@example.org", "--stdin", stdin="Sh0rt!\n")
        assert "login password refused" in err and "at least 10 characters" in err
        err = world.refused("user", "password", "alice@example.org", "--stdin",
                            stdin=world.smtp["alice@example.org"] + "\n")
        assert "may not be the SMTP password" in err
        err = world.refused("user", "password", "alice@example.org", "--stdin", stdin="")
        assert "password" in err
        # without --stdin nothing is read: the password is missing
        err = world.refused("user", "password", "alice@example.org")
        assert "missing password" in err


# blocks

def test_user_block_with_a_reason_and_unblock(postern, alice):
    out = postern.ok("user", "block", "alice@example.org", "--reason", "sent spam on 1 May")
    has(fields(out), {"address": "alice@example.org", "blocked": "sent spam on 1 May"})
    show = postern.ok("user", "show", "alice@example.org", json=True)
    assert show["blocked"] == "sent spam on 1 May"
    assert postern.ok("user", "list", json=True)["users"][0]["blocked_reason"] == "sent spam on 1 May"
    # a new block replaces the reason; --reason=TEXT works too
    has(postern.ok("user", "block", "alice@example.org", "--reason=again", json=True), {
        "address": "alice@example.org", "blocked": "again"})
    has(postern.ok("user", "unblock", "alice@example.org", json=True), {
        "address": "alice@example.org", "blocked": None})
    assert postern.ok("user", "show", "alice@example.org", json=True)["blocked"] is None
    postern.ok("user", "block", "alice@example.org", "--reason", "x")
    out = postern.ok("user", "unblock", "alice@example.org")
    has(fields(out), {"address": "alice@example.org", "blocked": "-"})


def test_user_block_needs_a_reason(world):
    with world.unchanged():
        assert "missing reason" in world.refused("user", "block", "alice@example.org")
        assert "missing reason" in world.refused("user", "block", "alice@example.org", "--reason=")
        err = world.refused("user", "block", "alice@example.org", "--reason", rc=2)
        assert "--reason needs a value" in err
        err = world.refused("user", "block", "alice@example.org", "--reason", "x" * 501)
        assert "500" in err


def test_unblocking_a_user_who_is_not_blocked_fails(world):
    with world.unchanged():
        err = world.refused("user", "unblock", "alice@example.org")
    assert "alice@example.org is not blocked" in err
