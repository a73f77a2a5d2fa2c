"""Domains and domain aliases: add, list, remove, canonical names."""
import os

import pytest

from conftest import fields


def domain_names(postern):
    return [d["name"] for d in postern.ok("domain", "list", json=True)["domains"]]


def test_domain_add_list_and_remove_in_text(postern):
    out = postern.ok("domain", "add", "example.org")
    assert fields(out) == {"domain": "example.org"}
    postern.ok("domain", "add", "example.net")
    out = postern.ok("domain", "list")
    assert out.splitlines()[0] == "domains:"
    rows = out.splitlines()[1:]
    assert len(rows) == 2
    assert "name=example.net" in rows[0] and "name=example.org" in rows[1]
    assert "users=0" in rows[0]
    out = postern.ok("domain", "remove", "example.net")
    assert fields(out) == {"removed": "example.net", "users_removed": "0"}
    assert domain_names(postern) == ["example.org"]


def test_domain_add_list_and_remove_in_json(postern):
    assert postern.ok("domain", "add", "example.org", json=True) == {"domain": "example.org"}
    out = postern.ok("domain", "list", json=True)
    assert len(out["domains"]) == 1
    d = out["domains"][0]
    assert d["name"] == "example.org" and d["users"] == 0 and d["aliases"] == []
    assert isinstance(d["created"], int) and isinstance(d["id"], int)
    assert postern.ok("domain", "remove", "example.org", json=True) == {
        "removed": "example.org", "users_removed": 0}
    assert postern.ok("domain", "list", json=True) == {"domains": []}


def test_an_empty_domain_list_is_still_an_answer(postern):
    assert fields(postern.ok("domain", "list")) == {"domains": ""}


def test_domains_are_case_insensitive_and_kept_in_lower_case(postern):
    assert postern.add_domain("Example.ORG") == "example.org"
    with postern.unchanged():
        err = postern.refused("domain", "add", "example.org")
        assert "example.org already exists" in err
        postern.refused("domain", "add", "EXAMPLE.org")
    assert domain_names(postern) == ["example.org"]
    # any spelling finds it
    postern.ok("domain", "remove", "eXample.Org")
    assert domain_names(postern) == []


def test_a_trailing_dot_names_the_same_domain(postern):
    assert postern.add_domain("example.org.") == "example.org"
    with postern.unchanged():
        postern.refused("domain", "add", "example.org")


def test_an_internationalised_domain_is_stored_as_its_a_label(postern):
    assert postern.add_domain("bücher.de") == "xn--bcher-kva.de"
    assert domain_names(postern) == ["xn--bcher-kva.de"]
    assert postern.sql("SELECT name FROM domain") == [{"name": "xn--bcher-kva.de"}]


def test_a_u_label_and_its_a_label_are_the_same_domain(postern):
    postern.add_domain("bücher.de")
    with postern.unchanged():
        for other in ("xn--bcher-kva.de", "BÜCHER.DE", "XN--BCHER-KVA.DE", "Bücher.De."):
            err = postern.refused("domain", "add", other)
            assert "xn--bcher-kva.de already exists" in err, (other, err)


def test_an_a_label_added_first_is_the_same_domain_as_its_u_label(postern):
    postern.add_domain("xn--bcher-kva.de")
    with postern.unchanged():
        assert "xn--bcher-kva.de already exists" in postern.refused("domain", "add", "bücher.de")


BAD_NAMES = [
    ("bad..example", "empty label"),
    ("-bad.example", "'-'"),
    ("bad-.example", "'-'"),
    ("[192.0.2.1]", "invalid character"),
    ("192.0.2.1", "IP address"),
    ("exa mple.org", "invalid character"),
    ("under_score.org", "invalid character"),
    ("localhost", "two labels"),
    ("xn--zz.org", "A-label"),
    ("a" * 64 + ".org", "63"),
    ((("a" * 60 + ".") * 5) + "org", "253"),
    ("", "missing domain"),
]


def test_an_invalid_domain_name_is_refused_and_says_why(postern):
    with postern.unchanged():
        for name, why in BAD_NAMES:
            err = postern.refused("domain", "add", name)
            assert why in err, (name, err)


def test_a_domain_name_that_is_not_utf8_is_refused_as_such(postern):
    # a Latin-1 byte on the command line: refused, and the message should
    # say what is wrong with the name (not that it is missing)
    with postern.unchanged():
        err = postern.refused("domain", "add", os.fsdecode(b"b\xfccher.de"))
    assert "UTF-8" in err


def test_a_domain_name_of_63_character_labels_is_fine(postern):
    name = "a" * 63 + ".example"
    assert postern.add_domain(name) == name


def test_removing_an_unknown_domain_fails(postern):
    postern.add_domain("example.org")
    with postern.unchanged():
        err = postern.refused("domain", "remove", "example.net")
    assert "no domain example.net" in err


def test_removing_a_domain_with_users_is_refused_without_force(postern, alice):
    with postern.unchanged():
        err = postern.refused("domain", "remove", "example.org")
    assert "1 user(s)" in err and "--force" in err
    assert domain_names(postern) == ["example.org"]


CASCADED = ["domain", "domain_name", "account", "user_name", "login_password",
            "smtp_credential", "app_password", "oauth_token", "tos_acceptance", "relay_net"]


def test_domain_remove_force_takes_users_aliases_credentials_and_relay_networks(postern, alice, tmp_path):
    p = postern
    p.add_domain("example.net")
    p.add_user("carol@example.net")
    p.add_user("bob@example.org", password="a Long-enough passw0rd")
    p.ok("user", "alias", "add", "alice@example.org", "alice.smith")
    p.ok("domain", "alias", "add", "example.com", "example.org")
    p.ok("smtp-password", "generate", "example.org")
    p.ok("app-password", "add", "alice@example.org", "--label", "phone")
    p.ok("token", "issue", "alice@example.org")
    p.ok("relay-net", "add", "example.org", "192.0.2.0/24")
    tos = tmp_path / "tos.txt"
    tos.write_text("Be nice.\n")
    p.ok("tos", "set", tos)
    p.ok("tos", "accept", "alice@example.org")

    out = p.ok("domain", "remove", "example.org", "--force", json=True)
    assert out == {"removed": "example.org", "users_removed": 2}
    assert domain_names(p) == ["example.net"]
    users = [u["address"] for u in p.ok("user", "list", json=True)["users"]]
    assert users == ["carol@example.net"]
    # nothing of example.org is left anywhere in the store
    dump = p.dump()
    for word in ("example.org", "example.com", "alice", "bob", "phone", "192.0.2.0/24"):
        assert word not in dump, word
    assert p.count("account") == 1 and p.count("smtp_credential") == 1
    for t in ("login_password", "app_password", "oauth_token", "tos_acceptance", "relay_net"):
        assert p.count(t) == 0, t
    assert p.count("tos_version") == 1  # the terms are not the domain's
    # the names are free again
    p.add_domain("example.com")
    p.add_domain("example.org")
    p.add_user("alice@example.org")


def test_domain_remove_force_in_text_says_how_many_users_went(postern, alice):
    out = postern.ok("domain", "remove", "example.org", "--force")
    assert fields(out) == {"removed": "example.org", "users_removed": "1"}


def test_domain_remove_of_an_alias_name_points_to_domain_alias_remove(postern):
    postern.add_domain("example.org")
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    with postern.unchanged():
        err = postern.refused("domain", "remove", "example.com")
    assert "postern domain alias remove example.com example.org" in err


# domain aliases

def test_domain_alias_add_and_remove_in_text(postern):
    postern.add_domain("example.org")
    out = postern.ok("domain", "alias", "add", "Example.COM", "example.org")
    assert fields(out) == {"alias": "example.com", "domain": "example.org"}
    out = postern.ok("domain", "list")
    assert "name=example.org" in out and "aliases=example.com" in out
    out = postern.ok("domain", "alias", "remove", "example.com", "example.org")
    assert fields(out) == {"removed": "example.com", "domain": "example.org"}
    assert postern.ok("domain", "list", json=True)["domains"][0]["aliases"] == []


def test_domain_alias_add_and_remove_in_json(postern):
    postern.add_domain("example.org")
    assert postern.ok("domain", "alias", "add", "münchen.de", "example.org", json=True) == {
        "alias": "xn--mnchen-3ya.de", "domain": "example.org"}
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    d = postern.ok("domain", "list", json=True)["domains"]
    assert len(d) == 1  # an alias is not a domain of its own
    assert d[0]["aliases"] == ["example.com", "xn--mnchen-3ya.de"]
    assert postern.ok("domain", "alias", "remove", "MÜNCHEN.de", "example.org", json=True) == {
        "removed": "xn--mnchen-3ya.de", "domain": "example.org"}


def test_a_domain_alias_may_not_equal_an_existing_domain(postern):
    postern.add_domain("example.org")
    postern.add_domain("example.net")
    with postern.unchanged():
        err = postern.refused("domain", "alias", "add", "EXAMPLE.NET", "example.org")
        assert "example.net already exists" in err
        postern.refused("domain", "alias", "add", "example.org", "example.org")


def test_a_domain_may_not_take_the_name_of_a_domain_alias(postern):
    postern.add_domain("example.org")
    postern.ok("domain", "alias", "add", "bücher.de", "example.org")
    with postern.unchanged():
        err = postern.refused("domain", "add", "xn--bcher-kva.de")
        assert "xn--bcher-kva.de already exists" in err


def test_a_domain_alias_may_not_be_taken_twice(postern):
    postern.add_domain("example.org")
    postern.add_domain("example.net")
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    with postern.unchanged():
        postern.refused("domain", "alias", "add", "example.com", "example.org")
        postern.refused("domain", "alias", "add", "example.com", "example.net")


def test_an_alias_of_an_alias_is_refused_naming_the_real_domain(postern):
    postern.add_domain("example.org")
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    with postern.unchanged():
        err = postern.refused("domain", "alias", "add", "example.info", "example.com")
    assert "alias example.org instead" in err


def test_a_domain_alias_of_an_unknown_domain_is_refused(postern):
    with postern.unchanged():
        err = postern.refused("domain", "alias", "add", "example.com", "example.org")
    assert "no domain example.org" in err


def test_removing_a_name_that_is_not_an_alias_of_that_domain_fails(postern):
    postern.add_domain("example.org")
    postern.add_domain("example.net")
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    with postern.unchanged():
        err = postern.refused("domain", "alias", "remove", "example.com", "example.net")
        assert "example.com is not an alias of example.net" in err
        postern.refused("domain", "alias", "remove", "example.org", "example.org")
        postern.refused("domain", "alias", "remove", "example.info", "example.org")


def test_users_answer_at_every_name_of_their_domain(postern, alice):
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    show = postern.ok("user", "show", "ALICE@example.com", json=True)
    assert show["address"] == "alice@example.org"
    assert show["allowed_senders"] == ["alice@example.org", "alice@example.com"]
    # and no longer once the alias is gone
    postern.ok("domain", "alias", "remove", "example.com", "example.org")
    err = postern.refused("user", "show", "alice@example.com")
    assert "no user alice@example.com" in err
