"""postern.conf: errors name the file, the line and the key; where the
config is looked for (-c, $POSTERN_CONFIG, ./postern.conf); the master key."""
import os
import time

import pytest

from conftest import make_setup, run_postern


@pytest.fixture(scope="module")
def conf_setup(postern_bin, tmp_path_factory):
    root = tmp_path_factory.mktemp("conf")
    return make_setup(root / "postern", cwd=root / "cwd")


@pytest.fixture
def cfg(conf_setup):
    """A setup whose postern.conf a test may break: put back afterwards."""
    good = conf_setup.conf.read_text()
    yield conf_setup
    conf_setup.conf.write_text(good)


def assert_names_file_line(err, setup, lineno, *words):
    assert "%s:%d:" % (setup.conf, lineno) in err, err
    for w in words:
        assert w in err, err


def test_an_unknown_key_is_refused_naming_the_file_line_and_key(cfg):
    n = cfg.conf_insert("limits", "message_sise = 10M")
    err = cfg.refused("domain", "list")
    assert_names_file_line(err, cfg, n, "unknown key", "message_sise", "[limits]")


def test_a_key_in_the_wrong_section_is_unknown_there(cfg):
    n = cfg.conf_insert("limits", "hostname = mail.example.test")
    err = cfg.refused("domain", "list")
    assert_names_file_line(err, cfg, n, "unknown key", "hostname", "[limits]")


def test_an_unknown_section_is_refused_naming_the_file_line_and_section(cfg):
    with open(cfg.conf, "a") as f:
        f.write("\n[mailboxes]\nsize = 1G\n")
    n = len(cfg.conf_lines()) - 1
    err = cfg.refused("domain", "list")
    assert_names_file_line(err, cfg, n, "unknown section", "mailboxes")


BAD_VALUES = [
    ("limits", "message_size", "lots", "not a size"),
    ("delivery", "remote_port", "99999", "out of range"),
    ("delivery", "remote_port", "0", "out of range"),
    ("delivery", "remote_port", "-25", "not a number"),
    ("delivery", "remote_port", "99999999999999999999999", "not a number"),
    ("server", "workers", "many", "not a number"),
    ("delivery", "retry_first", "soon", "not a duration"),
    ("auth", "token_ttl", "10s", "out of range"),
    ("delivery", "mode", "pigeon", "must be one of"),
    ("store", "driver", "mysql", "must be one of"),
    ("mailbox", "lmtp", "unix:run/lmtp", "absolute socket path"),
    ("mailbox", "lmtp", "localhost", "not unix:/PATH or HOST:PORT"),
    ("mailbox", "lmtp", "localhost:lmtp", "a port"),
    ("mailbox", "lmtp", "127.0.0.1:0", "a port"),
]


def test_a_bad_value_is_refused_naming_the_file_line_and_key(cfg):
    good = cfg.conf.read_text()
    for section, key, value, why in BAD_VALUES:
        cfg.conf.write_text(good)
        n = cfg.conf_set(section, key, value)
        err = cfg.refused("domain", "list")
        assert_names_file_line(err, cfg, n, "%s.%s" % (section, key), why)


def test_a_line_that_is_not_key_equals_value_is_refused_with_its_line(cfg):
    n = cfg.conf_insert("limits", "message_size 10M")
    err = cfg.refused("domain", "list")
    assert_names_file_line(err, cfg, n, "key = value")


def test_a_broken_section_header_is_refused_with_its_line(cfg):
    n = cfg.conf_insert("limits", "[auth")
    err = cfg.refused("domain", "list")
    assert_names_file_line(err, cfg, n, "section")


def test_a_bad_config_is_refused_before_the_store_is_touched(cfg):
    with cfg.unchanged():
        cfg.conf_set("limits", "message_size", "lots")
        cfg.refused("domain", "add", "example.net")
        cfg.refused("user", "add", "bob@example.org")


def test_good_edits_are_accepted(postern):
    postern.conf_set("limits", "message_size", '"20M"')
    postern.conf_set("delivery", "remote_port", "2525")
    postern.conf_set("auth", "token_ttl", "2h")
    postern.conf_insert("limits", "# a comment")
    postern.conf_insert("limits", "; another comment")
    postern.conf_insert("limits", "   ")
    postern.add_domain("example.org")
    postern.add_user("alice@example.org")
    tok = postern.ok("token", "issue", "alice@example.org", json=True)
    # [auth] token_ttl is the default lifetime of a token
    assert 7200 - 120 <= tok["expires"] - int(time.time()) <= 7200 + 5


@pytest.fixture(scope="module")
def two(postern_bin, tmp_path_factory):
    """Two setups, a (a.example) and b (b.example)."""
    root = tmp_path_factory.mktemp("two")
    a = make_setup(root / "a", cwd=root / "a")
    b = make_setup(root / "b", cwd=root / "a")
    a.add_domain("a.example")
    b.add_domain("b.example")
    return a, b


def names(out):
    return [d["name"] for d in out["domains"]]


def test_the_c_flag_comes_before_the_environment_and_the_working_directory(two, tmp_path):
    a, b = two
    r = run_postern(["-c", b.conf, "domain", "list"], json=True, cwd=a.dir,
                    env={"POSTERN_CONFIG": str(a.conf)})
    assert r.rc == 0, r.err
    assert names(r.out) == ["b.example"]


def test_postern_config_comes_before_the_working_directory(two, tmp_path):
    a, b = two
    r = run_postern(["domain", "list"], json=True, cwd=a.dir, env={"POSTERN_CONFIG": str(b.conf)})
    assert r.rc == 0, r.err
    assert names(r.out) == ["b.example"]


def test_postern_conf_in_the_working_directory_is_used_when_nothing_else_is_given(two, tmp_path):
    a, b = two
    r = run_postern(["domain", "list"], json=True, cwd=a.dir)
    assert r.rc == 0, r.err
    assert names(r.out) == ["a.example"]
    # an empty $POSTERN_CONFIG counts as unset
    r = run_postern(["domain", "list"], json=True, cwd=b.dir, env={"POSTERN_CONFIG": ""})
    assert r.rc == 0, r.err
    assert names(r.out) == ["b.example"]


def test_relative_paths_in_the_config_are_taken_from_its_folder(two, tmp_path):
    a, b = two
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_postern(["-c", os.path.relpath(b.conf, elsewhere), "domain", "list"], json=True,
                    cwd=elsewhere)
    assert r.rc == 0, r.err
    assert names(r.out) == ["b.example"]
    assert not (elsewhere / "data").exists()


@pytest.mark.skipif(os.path.exists("/etc/postern/postern.conf"),
                    reason="this machine has a /etc/postern/postern.conf")
def test_without_any_config_a_command_fails_and_says_how_to_make_one(postern_bin, tmp_path):
    r = run_postern(["domain", "list"], cwd=tmp_path)
    assert r.rc == 1
    assert "/etc/postern/postern.conf" in r.err
    assert "postern init" in r.err and "POSTERN_CONFIG" in r.err


def test_a_c_flag_naming_a_missing_file_fails_naming_it(cfg, tmp_path):
    r = cfg.run("-c", tmp_path / "missing.conf", "domain", "list", config=False)
    assert r.rc == 1
    assert "missing.conf" in r.err


def test_a_postern_config_naming_a_missing_file_fails_naming_it(cfg, tmp_path):
    r = cfg.run("domain", "list", config=False,
                env={"POSTERN_CONFIG": str(tmp_path / "missing.conf")})
    assert r.rc == 1
    assert "missing.conf" in r.err


def test_a_master_key_that_is_readable_by_others_short_or_missing_is_refused(postern):
    postern.add_domain("example.org")
    key = postern.master_key.read_bytes()
    with postern.unchanged():
        os.chmod(postern.master_key, 0o644)
        err = postern.refused("domain", "add", "example.net")
        assert "master key" in err and "chmod 600" in err
        os.chmod(postern.master_key, 0o600)
        postern.master_key.write_bytes(b"short")
        assert "32-byte" in postern.refused("domain", "add", "example.net")
        postern.master_key.unlink()
        assert str(postern.master_key) in postern.refused("domain", "add", "example.net")
    postern.master_key.write_bytes(key)
    os.chmod(postern.master_key, 0o600)
    postern.ok("domain", "list")
