"""Users: add, list, show, remove, aliases, login passwords, blocks."""
import os
import subprocess
import time

import pytest

from conftest import POSTERN_BIN, base_env, check_sanitizers, fields

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


def test_user_add_in_json(postern):
    postern.add_domain("example.org")
    out = postern.ok("user", "add", "bob@example.org", json=True)
    assert set(out) == {"address", "smtp_password", "login_password"}
    assert out["address"] == "bob@example.org"
    assert out["login_password"] is False
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


def test_user_add_with_a_weak_login_password_is_refused_and_adds_nothing(postern):
    postern.add_domain("example.org")
    with postern.unchanged():
        for pw, why in WEAK:
            err = postern.refused("user", "add", "alice@example.org", "--password-stdin",
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


def test_a_user_can_only_be_added_to_an_existing_domain(postern):
    postern.add_domain("example.org")
    with postern.unchanged():
        err = postern.refused("user", "add", "alice@example.net")
    assert "no domain example.net" in err and "postern domain add example.net" in err


def test_a_user_may_not_be_added_to_an_alias_domain(postern):
    postern.add_domain("example.org")
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    with postern.unchanged():
        err = postern.refused("user", "add", "alice@example.com")
    assert "alias of example.org" in err and "alice@example.org instead" in err


BAD_ADDRESSES = [
    "not-an-address", "@example.org", "alice@", "alice@@example.org", "a..b@example.org",
    ".alice@example.org", "alice.@example.org", "al ice@example.org", "al(ice)@example.org",
    "a" * 65 + "@example.org", "alice@example..org", "alice@[192.0.2.1]",
]


def test_a_bad_address_is_refused_with_a_reason(postern):
    postern.add_domain("example.org")
    with postern.unchanged():
        for address in BAD_ADDRESSES:
            err = postern.refused("user", "add", address)
            assert address in err or "local part" in err, (address, err)


def test_a_local_part_of_64_characters_and_utf8_is_fine(postern):
    postern.add_domain("bücher.de")
    postern.add_user("a" * 64 + "@bücher.de")
    out = postern.ok("user", "add", "Jörg@BÜCHER.de", json=True)
    assert out["address"] == "Jörg@xn--bcher-kva.de"


def test_local_parts_are_kept_as_given_but_compared_case_insensitively(postern):
    postern.add_domain("example.org")
    assert postern.ok("user", "add", "Alice@Example.ORG", json=True)["address"] == "Alice@example.org"
    with postern.unchanged():
        err = postern.refused("user", "add", "alice@example.org")
        assert "is taken" in err
        postern.refused("user", "add", "ALICE@example.org")
    assert user_addresses(postern) == ["Alice@example.org"]
    # every spelling finds her
    assert postern.ok("user", "show", "aLiCe@EXAMPLE.org", json=True)["address"] == "Alice@example.org"


def test_user_list_shows_every_user_and_filters_by_domain(postern):
    postern.add_domain("example.org")
    postern.add_domain("example.net")
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    for a in ("bob@example.org", "alice@example.org", "carol@example.net"):
        postern.add_user(a)
    assert user_addresses(postern) == ["carol@example.net", "alice@example.org", "bob@example.org"]
    assert user_addresses(postern, "example.org") == ["alice@example.org", "bob@example.org"]
    assert user_addresses(postern, "EXAMPLE.com") == ["alice@example.org", "bob@example.org"]
    assert user_addresses(postern, "example.net") == ["carol@example.net"]
    row = postern.ok("user", "list", json=True)["users"][0]
    assert row["has_smtp_password"] == 1 and row["has_login_password"] == 0
    assert row["blocked_reason"] is None
    text = postern.ok("user", "list", "example.net")
    assert text.splitlines()[0] == "users:"
    assert "address=carol@example.net" in text and "has_smtp_password=1" in text
    assert "alice" not in text


def test_user_list_of_an_unknown_domain_fails(postern):
    err = postern.refused("user", "list", "example.net")
    assert "no domain example.net" in err


def test_user_show_in_text_and_json(postern, alice):
    text = fields(postern.ok("user", "show", "alice@example.org"))
    assert text["address"] == "alice@example.org"
    assert text["allowed_senders"] == "alice@example.org"
    assert text["login_password"] == "false" and text["smtp_password"] == "true"
    assert text["blocked"] == "-"
    assert alice not in str(text)
    js = postern.ok("user", "show", "alice@example.org", json=True)
    assert js == {
        "address": "alice@example.org", "aliases": [], "allowed_senders": ["alice@example.org"],
        "app_passwords": [], "blocked": None, "login_password": False, "smtp_password": True,
        "tokens": [], "tos_accepted": False, "tos_current": 0,
    }


def test_user_remove_takes_the_user_and_frees_the_address(postern, alice):
    postern.ok("user", "alias", "add", "alice@example.org", "ally")
    postern.ok("app-password", "add", "alice@example.org", "--label", "phone")
    assert fields(postern.ok("user", "remove", "ALICE@example.org")) == {"removed": "alice@example.org"}
    assert user_addresses(postern) == []
    for t in ("account", "user_name", "smtp_credential", "app_password"):
        assert postern.count(t) == 0, t
    assert postern.ok("user", "add", "ally@example.org", json=True)["address"] == "ally@example.org"
    assert postern.ok("user", "remove", "ally@example.org", json=True) == {"removed": "ally@example.org"}


ON_A_USER = [
    ["user", "show", "bob@example.org"],
    ["user", "remove", "bob@example.org"],
    ["user", "block", "bob@example.org", "--reason", "spam"],
    ["user", "unblock", "bob@example.org"],
    ["user", "alias", "add", "bob@example.org", "robert"],
    ["user", "alias", "remove", "bob@example.org", "robert"],
    ["user", "password", "bob@example.org", "--stdin"],
    ["smtp-password", "show", "bob@example.org"],
    ["smtp-password", "generate", "bob@example.org"],
    ["app-password", "add", "bob@example.org", "--label", "phone"],
    ["app-password", "list", "bob@example.org"],
    ["app-password", "revoke", "bob@example.org", "phone"],
    ["token", "issue", "bob@example.org"],
    ["tos", "accept", "bob@example.org"],
]


def test_commands_on_an_unknown_user_fail_saying_so(postern, alice):
    with postern.unchanged():
        for args in ON_A_USER:
            err = postern.refused(*args, stdin="An0ther-good-one")
            assert "no user bob@example.org" in err, (args, err)
            err = postern.refused(*[a.replace("example.org", "example.net") for a in args],
                                  stdin="An0ther-good-one")
            assert "example.net" in err, (args, err)


# user aliases

def test_user_alias_add_and_remove(postern, alice):
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    out = postern.ok("user", "alias", "add", "alice@example.org", "Alice.Smith")
    assert fields(out) == {"address": "alice@example.org", "alias": "Alice.Smith"}
    assert postern.ok("user", "alias", "add", "alice@example.com", "ally", json=True) == {
        "address": "alice@example.org", "alias": "ally"}
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
    assert fields(out) == {"address": "alice@example.org", "removed": "alice.smith"}
    assert postern.ok("user", "alias", "remove", "alice@example.org", "ally", json=True) == {
        "address": "alice@example.org", "removed": "ally"}
    assert postern.ok("user", "show", "alice@example.org", json=True)["aliases"] == []


def test_user_alias_may_not_shadow_an_existing_address(postern, alice):
    postern.add_user("bob@example.org")
    with postern.unchanged():
        err = postern.refused("user", "alias", "add", "alice@example.org", "BOB")
        assert "BOB@example.org is taken" in err
        postern.refused("user", "alias", "add", "alice@example.org", "Alice")


def test_a_user_may_not_shadow_an_existing_alias(postern, alice):
    postern.ok("user", "alias", "add", "alice@example.org", "ally")
    with postern.unchanged():
        err = postern.refused("user", "add", "Ally@example.org")
    assert "is taken" in err


def test_two_users_may_not_share_an_alias(postern, alice):
    postern.add_user("bob@example.org")
    postern.ok("user", "alias", "add", "alice@example.org", "postmaster")
    with postern.unchanged():
        postern.refused("user", "alias", "add", "bob@example.org", "PostMaster")
        postern.refused("user", "alias", "add", "alice@example.org", "postmaster")


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


def test_a_user_alias_must_be_a_valid_local_part(postern, alice):
    with postern.unchanged():
        for local, why in BAD_LOCALS:
            err = postern.refused("user", "alias", "add", "alice@example.org", local)
            assert why in err, (local, err)


def test_removing_a_name_that_is_not_one_of_the_users_aliases_fails(postern, alice):
    postern.add_user("bob@example.org")
    postern.ok("user", "alias", "add", "bob@example.org", "robert")
    with postern.unchanged():
        err = postern.refused("user", "alias", "remove", "alice@example.org", "robert")
        assert "robert is not an alias of alice@example.org" in err
        # the primary address is not an alias either
        postern.refused("user", "alias", "remove", "alice@example.org", "alice")


# login passwords

def test_user_password_sets_the_login_password_from_stdin(postern, alice):
    args = ["user", "password", "alice@example.org", "--stdin"]
    assert LOGIN_PW not in args
    out = postern.ok(*args, stdin=LOGIN_PW + "\n")
    assert fields(out) == {"address": "alice@example.org", "login_password": "true"}
    [row] = postern.sql("SELECT hash FROM login_password")
    assert row["hash"].startswith("$argon2id$")
    assert LOGIN_PW not in postern.dump()
    assert postern.ok("user", "show", "alice@example.org", json=True)["login_password"] is True


def test_user_password_also_takes_password_stdin_and_json(postern, alice):
    out = postern.ok("user", "password", "alice@example.org", "--password-stdin",
                     stdin=LOGIN_PW, json=True)
    assert out == {"address": "alice@example.org", "login_password": True}


def test_user_password_replaces_the_old_hash(postern):
    postern.add_domain("example.org")
    postern.add_user("alice@example.org", password=LOGIN_PW)
    [old] = postern.sql("SELECT hash FROM login_password")
    postern.ok("user", "password", "alice@example.org", "--stdin", stdin="An0ther-good-one")
    [new] = postern.sql("SELECT hash FROM login_password")
    assert new["hash"] != old["hash"] and new["hash"].startswith("$argon2id$")


def test_user_password_refuses_a_short_password(postern, alice):
    with postern.unchanged():
        err = postern.refused("user", "password", "alice@example.org", "--stdin", stdin="Sh0rt!\n")
    assert "login password refused" in err and "at least 10 characters" in err


def test_user_password_refuses_the_current_smtp_password(postern, alice):
    with postern.unchanged():
        err = postern.refused("user", "password", "alice@example.org", "--stdin",
                              stdin=alice + "\n")
    assert "may not be the SMTP password" in err


def test_user_password_without_anything_on_stdin_fails(postern, alice):
    with postern.unchanged():
        err = postern.refused("user", "password", "alice@example.org", "--stdin", stdin="")
        assert "password" in err
        # and without --stdin nothing is read: the password is missing
        err = postern.refused("user", "password", "alice@example.org")
        assert "missing password" in err


def test_a_secret_read_from_stdin_never_appears_on_the_command_line(postern, alice):
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
    check_sanitizers(argv, err.decode())
    assert p.returncode == 0, err.decode()
    assert "user" in cmdline and LOGIN_PW not in cmdline
    assert LOGIN_PW not in ps
    assert LOGIN_PW not in out.decode() and LOGIN_PW not in err.decode()


# blocks

def test_user_block_with_a_reason_and_unblock(postern, alice):
    out = postern.ok("user", "block", "alice@example.org", "--reason", "sent spam on 1 May")
    assert fields(out) == {"address": "alice@example.org", "blocked": "sent spam on 1 May"}
    show = postern.ok("user", "show", "alice@example.org", json=True)
    assert show["blocked"] == "sent spam on 1 May"
    assert postern.ok("user", "list", json=True)["users"][0]["blocked_reason"] == "sent spam on 1 May"
    assert "blocked: sent spam on 1 May" in postern.ok("user", "show", "alice@example.org")
    # a new block replaces the reason; --reason=TEXT works too
    assert postern.ok("user", "block", "alice@example.org", "--reason=again", json=True) == {
        "address": "alice@example.org", "blocked": "again"}
    out = postern.ok("user", "unblock", "alice@example.org")
    assert fields(out) == {"address": "alice@example.org", "blocked": "-"}
    assert postern.ok("user", "show", "alice@example.org", json=True)["blocked"] is None
    postern.ok("user", "block", "alice@example.org", "--reason", "x")
    assert postern.ok("user", "unblock", "alice@example.org", json=True) == {
        "address": "alice@example.org", "blocked": None}


def test_user_block_needs_a_reason(postern, alice):
    with postern.unchanged():
        assert "missing reason" in postern.refused("user", "block", "alice@example.org")
        assert "missing reason" in postern.refused("user", "block", "alice@example.org", "--reason=")
        err = postern.refused("user", "block", "alice@example.org", "--reason", rc=2)
        assert "--reason needs a value" in err
        err = postern.refused("user", "block", "alice@example.org", "--reason", "x" * 501)
        assert "500" in err


def test_unblocking_a_user_who_is_not_blocked_fails(postern, alice):
    with postern.unchanged():
        err = postern.refused("user", "unblock", "alice@example.org")
    assert "alice@example.org is not blocked" in err
