"""Domains and domain aliases: add, list, remove, canonical names."""
import os

from conftest import fields, has


def domain_names(postern):
    return [d["name"] for d in postern.ok("domain", "list", json=True)["domains"]]


def test_domain_add_list_and_remove_in_text(postern):
    has(fields(postern.ok("domain", "list")), {"domains": ""})
    out = postern.ok("domain", "add", "example.org")
    has(fields(out), {"domain": "example.org"})
    postern.ok("domain", "add", "example.net")
    out = postern.ok("domain", "list")
    assert out.splitlines()[0] == "domains:"
    rows = out.splitlines()[1:]
    assert len(rows) == 2
    assert "name=example.net" in rows[0] and "name=example.org" in rows[1]
    assert "users=0" in rows[0]
    out = postern.ok("domain", "remove", "example.net")
    has(fields(out), {"removed": "example.net", "users_removed": "0"})
    assert domain_names(postern) == ["example.org"]
    postern.add_user("alice@example.org")
    out = postern.ok("domain", "remove", "example.org", "--force")
    has(fields(out), {"removed": "example.org", "users_removed": "1"})


def test_domain_add_list_and_remove_in_json(postern):
    has(postern.ok("domain", "add", "example.org", json=True), {"domain": "example.org"})
    out = postern.ok("domain", "list", json=True)
    assert len(out["domains"]) == 1
    d = out["domains"][0]
    assert d["name"] == "example.org" and d["users"] == 0 and d["aliases"] == []
    assert isinstance(d["created"], int) and isinstance(d["id"], int)
    has(postern.ok("domain", "remove", "example.org", json=True), {
        "removed": "example.org", "users_removed": 0})
    has(postern.ok("domain", "list", json=True), {"domains": []})


def test_domains_are_case_insensitive_and_kept_in_lower_case(world):
    # the world's example.org was typed Example.ORG
    assert "example.org" in domain_names(world)
    assert "Example.ORG" not in world.dump()
    with world.unchanged():
        for spelling in ("example.org", "EXAMPLE.org", "Example.Org.", "eXample.ORG"):
            err = world.refused("domain", "add", spelling)
            assert "example.org already exists" in err, (spelling, err)
    assert world.ok("user", "list", "EXAMPLE.ORG", json=True)["users"][0]["address"] == \
        "alice@example.org"


def test_a_trailing_dot_names_the_same_domain(postern):
    assert postern.add_domain("example.org.") == "example.org"
    with postern.unchanged():
        postern.refused("domain", "add", "example.org")
    postern.ok("domain", "remove", "EXAMPLE.ORG.")
    assert domain_names(postern) == []


def test_an_internationalised_domain_is_stored_as_its_a_label(world):
    # added as bücher.de
    assert "xn--bcher-kva.de" in domain_names(world)
    assert world.sql("SELECT name FROM domain WHERE name LIKE '%bcher%'") == [
        {"name": "xn--bcher-kva.de"}]
    assert "bücher" not in world.dump()


def test_a_u_label_and_its_a_label_are_the_same_domain(world):
    with world.unchanged():
        for other in ("xn--bcher-kva.de", "bücher.de", "BÜCHER.DE", "XN--BCHER-KVA.DE",
                      "Bücher.De."):
            err = world.refused("domain", "add", other)
            assert "xn--bcher-kva.de already exists" in err, (other, err)


def test_an_a_label_added_first_is_the_same_domain_as_its_u_label(postern):
    postern.add_domain("xn--bcher-kva.de")
    with postern.unchanged():
        assert "xn--bcher-kva.de already exists" in postern.refused("domain", "add", "bücher.de")


BAD_NAMES = [
    ("bad..example", "empty label"),
    ("-bad.example", "'-'"),
    ("[192.0.2.1]", "invalid character"),
    ("192.0.2.1", "IP address"),
    ("under_score.org", "invalid character"),
    ("localhost", "two labels"),
    ("xn--zz.org", "A-label"),
    ("a" * 64 + ".org", "63"),
    ((("a" * 60 + ".") * 5) + "org", "253"),
    ("", "missing domain"),
]


def test_an_invalid_domain_name_is_refused_and_says_why(world):
    with world.unchanged():
        for name, why in BAD_NAMES:
            err = world.refused("domain", "add", name)
            assert why in err, (name, err)


def test_a_domain_name_that_is_not_utf8_is_refused_as_such(world):
    # a Latin-1 byte on the command line: refused, and the message should
    # say what is wrong with the name (not that it is missing)
    with world.unchanged():
        err = world.refused("domain", "add", os.fsdecode(b"b\xfccher.de"))
    assert "UTF-8" in err


def test_a_domain_name_of_63_character_labels_is_fine(postern):
    name = "a" * 63 + ".example"
    assert postern.add_domain(name) == name


def test_removing_an_unknown_domain_fails(world):
    with world.unchanged():
        err = world.refused("domain", "remove", "example.info")
    assert "no domain example.info" in err


def test_removing_a_domain_with_users_is_refused_without_force(world):
    with world.unchanged():
        err = world.refused("domain", "remove", "example.org")
    assert "example.org has 2 user(s)" in err and "--force" in err


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
    has(out, {"removed": "example.org", "users_removed": 2})
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


def test_domain_remove_of_an_alias_name_points_to_domain_alias_remove(world):
    with world.unchanged():
        err = world.refused("domain", "remove", "example.com")
    assert "postern domain alias remove example.com example.org" in err


# domain aliases

def test_domain_alias_add_and_remove_in_text(postern, alice):
    out = postern.ok("domain", "alias", "add", "Example.COM", "example.org")
    has(fields(out), {"alias": "example.com", "domain": "example.org"})
    out = postern.ok("domain", "list")
    assert "name=example.org" in out and "aliases=example.com" in out
    # the domain's users answer at the alias too
    show = postern.ok("user", "show", "ALICE@example.com", json=True)
    assert show["address"] == "alice@example.org"
    assert show["allowed_senders"] == ["alice@example.org", "alice@example.com"]
    out = postern.ok("domain", "alias", "remove", "example.com", "example.org")
    has(fields(out), {"removed": "example.com", "domain": "example.org"})
    assert postern.ok("domain", "list", json=True)["domains"][0]["aliases"] == []
    # and no longer once the alias is gone
    assert "no user alice@example.com" in postern.refused("user", "show", "alice@example.com")


def test_domain_alias_add_and_remove_in_json(postern):
    postern.add_domain("example.org")
    has(postern.ok("domain", "alias", "add", "münchen.de", "example.org", json=True), {
        "alias": "xn--mnchen-3ya.de", "domain": "example.org"})
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    d = postern.ok("domain", "list", json=True)["domains"]
    assert len(d) == 1  # an alias is not a domain of its own
    assert d[0]["aliases"] == ["example.com", "xn--mnchen-3ya.de"]
    has(postern.ok("domain", "alias", "remove", "MÜNCHEN.de", "example.org", json=True), {
        "removed": "xn--mnchen-3ya.de", "domain": "example.org"})


def test_a_domain_alias_may_not_equal_an_existing_domain(world):
    with world.unchanged():
        err = world.refused("domain", "alias", "add", "EXAMPLE.NET", "example.org")
        assert "example.net already exists" in err
        err = world.refused("domain", "alias", "add", "bücher.de", "example.org")
        assert "xn--bcher-kva.de already exists" in err
        world.refused("domain", "alias", "add", "example.org", "example.org")


def test_a_domain_may_not_take_the_name_of_a_domain_alias(world):
    with world.unchanged():
        err = world.refused("domain", "add", "Example.COM")
        assert "example.com already exists" in err


def test_a_domain_alias_may_not_be_taken_twice(world):
    with world.unchanged():
        world.refused("domain", "alias", "add", "example.com", "example.org")
        world.refused("domain", "alias", "add", "example.com", "example.net")


def test_an_alias_of_an_alias_is_refused_naming_the_real_domain(world):
    with world.unchanged():
        err = world.refused("domain", "alias", "add", "example.info", "example.com")
    assert "alias example.org instead" in err


def test_a_domain_alias_of_an_unknown_domain_is_refused(world):
    with world.unchanged():
        err = world.refused("domain", "alias", "add", "example.info", "example.biz")
    assert "no domain example.biz" in err


def test_removing_a_name_that_is_not_an_alias_of_that_domain_fails(world):
    with world.unchanged():
        err = world.refused("domain", "alias", "remove", "example.com", "example.net")
        assert "example.com is not an alias of example.net" in err
        world.refused("domain", "alias", "remove", "example.org", "example.org")
        world.refused("domain", "alias", "remove", "example.info", "example.org")
