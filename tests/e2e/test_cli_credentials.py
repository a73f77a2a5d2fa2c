"""SMTP passwords (user and domain level), app passwords and tokens: what
is shown once, what can be shown again, and what the store keeps."""
import os
import time

from conftest import fields, has


# SMTP passwords

def test_smtp_password_show_reveals_the_password_user_add_printed(postern, alice):
    out = postern.ok("smtp-password", "show", "alice@example.org", json=True)
    assert out["login"] == "alice@example.org"
    assert out["password"] == alice
    assert abs(out["created"] - time.time()) < 300
    text = fields(postern.ok("smtp-password", "show", "alice@example.org"))
    assert text["login"] == "alice@example.org" and text["password"] == alice


def test_smtp_password_generate_replaces_it_and_show_reveals_the_new_one(postern, alice):
    out = fields(postern.ok("smtp-password", "generate", "alice@example.org"))
    assert out["login"] == "alice@example.org"
    new = out["password"]
    assert new != alice and len(new) >= 16
    assert postern.ok("smtp-password", "show", "alice@example.org", json=True)["password"] == new
    again = postern.ok("smtp-password", "generate", "alice@example.org", json=True)
    assert {"login", "password"} <= set(again)
    assert again["password"] not in (alice, new)
    assert postern.ok("smtp-password", "show", "alice@example.org", json=True)["password"] == \
        again["password"]
    # one SMTP password per user: the old ones are gone
    assert postern.count("smtp_credential") == 1


def test_the_smtp_password_login_is_the_canonical_address(postern):
    postern.add_domain("bücher.de")
    pw = postern.add_user("Jörg@bücher.de")
    postern.ok("domain", "alias", "add", "example.com", "bücher.de")
    out = postern.ok("smtp-password", "show", "JöRG@EXAMPLE.com", json=True)
    assert out["login"] == "Jörg@xn--bcher-kva.de" and out["password"] == pw


def test_a_domain_level_smtp_password_has_the_bare_domain_as_login(postern, alice):
    err = postern.refused("smtp-password", "show", "example.org")
    assert "example.org has no SMTP password" in err
    assert "postern smtp-password generate example.org" in err
    out = postern.ok("smtp-password", "generate", "Example.ORG", json=True)
    assert out["login"] == "example.org"
    dom = out["password"]
    assert dom != alice
    shown = postern.ok("smtp-password", "show", "example.org", json=True)
    assert shown["login"] == "example.org" and shown["password"] == dom
    text = fields(postern.ok("smtp-password", "generate", "example.org"))
    assert text["login"] == "example.org" and text["password"] != dom
    # the user's own password is a separate credential, untouched
    assert postern.ok("smtp-password", "show", "alice@example.org", json=True)["password"] == alice
    assert postern.count("smtp_credential") == 2


def test_the_domain_login_of_an_alias_domain_is_refused_naming_the_real_one(world):
    with world.unchanged():
        for verb in ("show", "generate"):
            err = world.refused("smtp-password", verb, "example.com")
            assert "the domain login is example.org" in err


def test_smtp_password_of_an_unknown_login_fails(world):
    with world.unchanged():
        for verb in ("show", "generate"):
            assert "no domain example.info" in world.refused("smtp-password", verb,
                                                             "example.info")
            assert "no user carol@example.org" in world.refused("smtp-password", verb,
                                                                "carol@example.org")
            assert "bad..name" in world.refused("smtp-password", verb, "bad..name")
        assert "example.net has no SMTP password" in world.refused("smtp-password", "show",
                                                                   "example.net")


def test_smtp_passwords_cannot_be_revealed_with_another_master_key(postern, alice):
    fd = os.open(postern.master_key, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, os.urandom(32))
    os.close(fd)
    err = postern.refused("smtp-password", "show", "alice@example.org")
    assert "cannot be opened" in err and "master key" in err
    assert alice not in err


# app passwords

def test_an_app_password_is_shown_only_when_it_is_made(postern, alice):
    out = postern.ok("app-password", "add", "alice@example.org", "--label", "phone", json=True)
    assert out["address"] == "alice@example.org" and out["label"] == "phone"
    pw = out["password"]
    assert len(pw) >= 16 and pw != alice
    text = fields(postern.ok("app-password", "add", "alice@example.org", "--label=laptop"))
    pw2 = text["password"]
    assert text["label"] == "laptop" and pw2 != pw
    # labels up to 64 characters, any text
    postern.ok("app-password", "add", "alice@example.org", "--label", "x" * 64)
    postern.ok("app-password", "add", "alice@example.org", "--label", "Téléphone de Alice")

    listed = postern.ok("app-password", "list", "alice@example.org", json=True)
    assert listed["address"] == "alice@example.org"
    assert [a["label"] for a in listed["app_passwords"]] == [
        "phone", "laptop", "x" * 64, "Téléphone de Alice"]
    for a in listed["app_passwords"]:
        assert {"label", "created", "revoked"} <= set(a)
        assert not {"password", "hash"} & set(a)
        assert a["revoked"] is None and a["last_used"] is None
    outputs = [
        str(listed),
        postern.ok("app-password", "list", "alice@example.org"),
        postern.ok("user", "show", "alice@example.org"),
        str(postern.ok("user", "show", "alice@example.org", json=True)),
        postern.ok("user", "list"),
    ]
    for o in outputs:
        assert pw not in o and pw2 not in o
    assert "label=phone" in outputs[1] and "label=Téléphone de Alice" in outputs[1]


def test_app_password_revoke_keeps_the_record_and_frees_the_label(postern, alice):
    postern.ok("app-password", "add", "alice@example.org", "--label", "phone")
    with postern.unchanged():
        err = postern.refused("app-password", "add", "alice@example.org", "--label", "phone")
    assert 'already has an app password labelled "phone"' in err
    out = postern.ok("app-password", "revoke", "alice@example.org", "phone")
    has(fields(out), {"address": "alice@example.org", "revoked": "phone"})
    with postern.unchanged():
        err = postern.refused("app-password", "revoke", "alice@example.org", "phone")
    assert 'no live app password labelled "phone"' in err
    postern.ok("app-password", "add", "alice@example.org", "--label", "phone")
    rows = postern.ok("app-password", "list", "alice@example.org", json=True)["app_passwords"]
    assert [r["label"] for r in rows] == ["phone", "phone"]
    assert isinstance(rows[0]["revoked"], int) and rows[1]["revoked"] is None
    has(postern.ok("app-password", "revoke", "alice@example.org", "phone", json=True), {
        "address": "alice@example.org", "revoked": "phone"})


def test_app_password_labels_are_checked(world):
    with world.unchanged():
        assert "missing label" in world.refused("app-password", "add", "alice@example.org")
        assert "--label needs a value" in world.refused(
            "app-password", "add", "alice@example.org", "--label", rc=2)
        assert "1 to 64 characters" in world.refused(
            "app-password", "add", "alice@example.org", "--label", "x" * 65)
        assert "control characters" in world.refused(
            "app-password", "add", "alice@example.org", "--label", "a\tb")
        assert "no live app password" in world.refused(
            "app-password", "revoke", "alice@example.org", "never")


# OAuth tokens

def test_token_issue_gives_a_one_hour_smtp_token_by_default(postern, alice):
    before = int(time.time())
    out = postern.ok("token", "issue", "alice@example.org", json=True)
    assert out["address"] == "alice@example.org" and out["scope"] == "smtp"
    assert out["token"].startswith(out["id"] + ".")
    assert len(out["token"]) > len(out["id"]) + 16
    assert before + 3600 <= out["expires"] <= int(time.time()) + 3600
    text = fields(postern.ok("token", "issue", "alice@example.org"))
    assert text["token"].startswith(text["id"] + ".") and text["scope"] == "smtp"
    assert text["token"] != out["token"]


def test_token_issue_takes_a_ttl_and_a_scope(postern, alice):
    for ttl, seconds in (("1m", 60), ("366d", 366 * 86400)):
        now = int(time.time())
        out = postern.ok("token", "issue", "alice@example.org", "--ttl", ttl, json=True)
        assert now + seconds <= out["expires"] <= int(time.time()) + seconds, ttl
    out = postern.ok("token", "issue", "alice@example.org", "--ttl=2h", "--scope", "imap", json=True)
    assert out["scope"] == "imap"
    out = postern.ok("token", "issue", "alice@example.org", "--scope=smtp imap", json=True)
    assert out["scope"] == "smtp imap"
    with postern.unchanged():
        for ttl in ("59s", "367d", "soon", ""):
            err = postern.refused("token", "issue", "alice@example.org", "--ttl", ttl)
            assert "ttl" in err, ttl
        for scope in ("pop3", "smtp,imap"):
            err = postern.refused("token", "issue", "alice@example.org", "--scope", scope)
            assert "scope" in err, scope


def test_a_token_never_appears_in_a_listing(postern, alice):
    tok = postern.ok("token", "issue", "alice@example.org", json=True)
    secret = tok["token"].split(".", 1)[1]
    show = postern.ok("user", "show", "alice@example.org", json=True)
    assert [t["id"] for t in show["tokens"]] == [tok["id"]]
    assert {"id", "scope", "expires", "revoked"} <= set(show["tokens"][0])
    assert not {"token", "hash", "secret"} & set(show["tokens"][0])
    for o in (str(show), postern.ok("user", "show", "alice@example.org"),
              postern.ok("user", "list"), postern.ok("app-password", "list", "alice@example.org")):
        assert secret not in o


def test_token_revoke_by_id_or_by_the_whole_token(postern, alice):
    a = postern.ok("token", "issue", "alice@example.org", json=True)
    b = postern.ok("token", "issue", "alice@example.org", json=True)
    has(fields(postern.ok("token", "revoke", a["id"])), {"revoked": a["id"]})
    has(postern.ok("token", "revoke", b["token"], json=True), {"revoked": b["id"]})
    tokens = postern.ok("user", "show", "alice@example.org", json=True)["tokens"]
    assert all(isinstance(t["revoked"], int) for t in tokens)
    with postern.unchanged():
        err = postern.refused("token", "revoke", a["id"])
        assert "already revoked" in err
        err = postern.refused("token", "revoke", b["token"])
        assert "already revoked" in err and b["token"].split(".")[1] not in err
        assert "no token" in postern.refused("token", "revoke", "AAAAAAAAAAAA")
        assert "no token" in postern.refused("token", "revoke", "short")
        assert "missing argument" in postern.refused("token", "revoke", rc=2)


# what the store keeps

def test_generated_secrets_are_not_stored_in_plain_text(postern, alice):
    p = postern
    dom = p.ok("smtp-password", "generate", "example.org", json=True)["password"]
    app = p.ok("app-password", "add", "alice@example.org", "--label", "phone", json=True)["password"]
    tok = p.ok("token", "issue", "alice@example.org", json=True)
    secret = tok["token"].split(".", 1)[1]
    dump = p.dump()
    for s in (alice, dom, app, tok["token"], secret):
        assert s not in dump
    raw = p.db.read_bytes()
    for extra in ("-wal", "-shm"):
        f = p.db.with_name(p.db.name + extra)
        if f.exists():
            raw += f.read_bytes()
    for s in (alice, dom, app, secret):
        assert s.encode() not in raw
    # what is kept instead: hashes, and for SMTP passwords a sealed copy
    for row in p.sql("SELECT hash, sealed FROM smtp_credential"):
        assert len(row["hash"]) == 64 and row["sealed"] != row["hash"]
    [row] = p.sql("SELECT hash FROM app_password")
    assert len(row["hash"]) == 64


def test_the_login_password_is_kept_as_an_argon2id_hash(postern):
    pw = "Tr0ub4dor&3-horse"
    postern.add_domain("example.org")
    postern.add_user("alice@example.org", password=pw)
    dump = postern.dump()
    assert pw not in dump
    [row] = postern.sql("SELECT hash FROM login_password")
    assert row["hash"].startswith("$argon2id$")
    assert "'$argon2id$" in dump
