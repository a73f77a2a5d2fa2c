"""Terms of service (versions, acceptance) and relay networks."""
from conftest import fields, has

TERMS = "Be nice.\nNo spam, ever.\n"


def write(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text)
    return f


# terms of service

def test_tos_set_show_and_accept(postern, alice, tmp_path):
    err = postern.refused("tos", "show")
    assert "no terms of service yet" in err and "postern tos set FILE" in err
    assert "no terms of service yet" in postern.refused("tos", "accept", "alice@example.org")

    out = fields(postern.ok("tos", "set", write(tmp_path, "tos.txt", TERMS)))
    assert out["version"] == "1" and "accept" in out["note"]
    has(postern.ok("tos", "show", json=True), {"version": 1, "text": TERMS})
    text = postern.ok("tos", "show")
    assert text.startswith("version: 1\ntext: Be nice.\nNo spam, ever.\n")
    show = postern.ok("user", "show", "alice@example.org", json=True)
    assert show["tos_current"] == 1 and show["tos_accepted"] is False

    out = postern.ok("tos", "accept", "ALICE@example.org", json=True)
    assert out["address"] == "alice@example.org" and out["version"] == 1
    assert out["from"] == "cli" and isinstance(out["accepted"], int)
    assert postern.ok("user", "show", "alice@example.org", json=True)["tos_accepted"] is True
    with postern.unchanged():
        err = postern.refused("tos", "accept", "alice@example.org")
    assert "already accepted version 1" in err


def test_new_terms_need_a_new_acceptance(postern, alice, tmp_path):
    postern.ok("tos", "set", write(tmp_path, "v1.txt", TERMS))
    postern.ok("tos", "accept", "alice@example.org")
    out = postern.ok("tos", "set", write(tmp_path, "v2.txt", "Be nicer.\n"), json=True)
    assert out["version"] == 2
    has(postern.ok("tos", "show", json=True), {"version": 2, "text": "Be nicer.\n"})
    show = postern.ok("user", "show", "alice@example.org", json=True)
    assert show["tos_current"] == 2 and show["tos_accepted"] is False
    out = fields(postern.ok("tos", "accept", "alice@example.org"))
    assert out["version"] == "2" and out["from"] == "cli"
    assert postern.ok("user", "show", "alice@example.org", json=True)["tos_accepted"] is True
    assert postern.count("tos_version") == 2 and postern.count("tos_acceptance") == 2


def test_tos_set_keeps_the_text_byte_for_byte(postern, tmp_path):
    terms = "Conditions générales — «soyez gentils».\n\n  indented line\n\ttab\n"
    postern.ok("tos", "set", write(tmp_path, "fr.txt", terms))
    assert postern.ok("tos", "show", json=True)["text"] == terms


def test_tos_set_refuses_a_missing_or_empty_file(postern, tmp_path):
    with postern.unchanged():
        r = postern.run("tos", "set", tmp_path / "missing.txt")
        assert r.rc != 0 and "missing.txt" in r.err
        r = postern.run("tos", "set", write(tmp_path, "empty.txt", ""))
        assert r.rc != 0 and "text" in r.err
        assert "missing argument" in postern.refused("tos", "set", rc=2)


# relay networks

def test_relay_net_add_list_and_remove_in_text(postern):
    postern.add_domain("example.org")
    out = postern.ok("relay-net", "add", "example.org", "192.0.2.0/24")
    has(fields(out), {"domain": "example.org", "cidr": "192.0.2.0/24"})
    out = postern.ok("relay-net", "list")
    assert out.splitlines()[0] == "relay_networks:"
    assert "domain=example.org  cidr=192.0.2.0/24" in out
    out = postern.ok("relay-net", "remove", "example.org", "192.0.2.0/24")
    has(fields(out), {"domain": "example.org", "removed": "192.0.2.0/24"})
    has(fields(postern.ok("relay-net", "list")), {"relay_networks": ""})


def test_relay_net_add_list_and_remove_in_json(postern):
    postern.add_domain("example.org")
    postern.add_domain("example.net")
    postern.ok("domain", "alias", "add", "example.com", "example.org")
    has(postern.ok("relay-net", "add", "example.org", "2001:DB8::/32", json=True), {
        "domain": "example.org", "cidr": "2001:db8::/32"})
    # a bare address is a /32; an alias names its domain
    has(postern.ok("relay-net", "add", "EXAMPLE.com", "192.0.2.7", json=True), {
        "domain": "example.org", "cidr": "192.0.2.7/32"})
    postern.ok("relay-net", "add", "example.net", "198.51.100.0/24")
    nets = postern.ok("relay-net", "list", json=True)["relay_networks"]
    assert [(n["domain"], n["cidr"]) for n in nets] == [
        ("example.net", "198.51.100.0/24"), ("example.org", "192.0.2.7/32"),
        ("example.org", "2001:db8::/32")]
    only = postern.ok("relay-net", "list", "example.net", json=True)["relay_networks"]
    assert [n["cidr"] for n in only] == ["198.51.100.0/24"]
    has(postern.ok("relay-net", "remove", "example.org", "2001:db8:0::/32", json=True), {
        "domain": "example.org", "removed": "2001:db8::/32"})
    assert len(postern.ok("relay-net", "list", "example.org", json=True)["relay_networks"]) == 1


def test_relay_net_refusals(postern):
    postern.add_domain("example.org")
    postern.add_domain("example.net")
    postern.ok("relay-net", "add", "example.org", "192.0.2.0/24")
    with postern.unchanged():
        err = postern.refused("relay-net", "add", "example.org", "192.0.2.0/24")
        assert "already a relay network of example.org" in err
        err = postern.refused("relay-net", "add", "example.org", "10.0.0.1/8")
        assert "host bits" in err and "10.0.0.0/8" in err
        for bad in ("nonsense", "192.0.2.0/33", "300.1.2.3", "2001:db8::/129"):
            assert bad in postern.refused("relay-net", "add", "example.org", bad), bad
        assert "no domain example.info" in postern.refused(
            "relay-net", "add", "example.info", "192.0.2.0/24")
        err = postern.refused("relay-net", "remove", "example.net", "192.0.2.0/24")
        assert "192.0.2.0/24 is not a relay network of example.net" in err
        assert "no domain example.info" in postern.refused("relay-net", "list", "example.info")
        assert "missing argument" in postern.refused("relay-net", "add", "example.org", rc=2)
