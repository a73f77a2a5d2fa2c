"""postern init: a new setup in one step, and never over an old one."""
import os
import stat
import subprocess

from conftest import HOSTNAME, Setup, has, run_postern


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def snapshot(root):
    """Every file and folder under root: (mode, size, mtime_ns, bytes)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            body = None
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    body = f.read()
            snap[os.path.relpath(p, root)] = (st.st_mode, st.st_size, st.st_mtime_ns, body)
    return snap


def x509_text(path):
    return subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-text"],
                          stdout=subprocess.PIPE, check=True).stdout.decode()


def pubkey_of_cert(path):
    return subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-pubkey"],
                          stdout=subprocess.PIPE, check=True).stdout


def pubkey_of_key(path):
    return subprocess.run(["openssl", "pkey", "-in", str(path), "-pubout"],
                          stdout=subprocess.PIPE, check=True).stdout


def own_cert(tmp_path, cn="own.example.test"):
    cert, key = tmp_path / "own-cert.pem", tmp_path / "own-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=" + cn, "-days", "2",
                    "-keyout", str(key), "-out", str(cert)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return cert, key


def test_init_creates_config_data_dir_master_key_and_store(postern_bin, tmp_path):
    d = tmp_path / "setup"
    r = run_postern(["init", "--dir", d, "--hostname", HOSTNAME], cwd=tmp_path)
    assert r.rc == 0, r.err
    s = Setup(d)
    assert s.conf.is_file()
    assert "hostname = mail.example.test" in s.conf.read_text()
    assert s.data.is_dir() and mode(s.data) == 0o700
    assert s.master_key.is_file()
    assert mode(s.master_key) == 0o600
    assert s.master_key.stat().st_size == 32
    assert s.db.is_file()
    assert s.sql("SELECT max(version) AS v FROM schema_version")[0]["v"] >= 1
    tables = {row["name"] for row in s.sql("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"domain", "account", "smtp_credential", "app_password", "oauth_token"} <= tables
    # it says where everything went, and what to do next
    assert str(s.conf) in r.out and str(s.db) in r.out and str(s.master_key) in r.out
    assert "domain add" in r.out


def test_init_writes_a_self_signed_p256_certificate_for_the_hostname(postern):
    assert postern.cert.is_file() and postern.key.is_file()
    assert mode(postern.key) == 0o600
    assert mode(postern.cert.parent) == 0o700
    text = x509_text(postern.cert)
    assert "Subject: CN = mail.example.test" in text
    assert "Issuer: CN = mail.example.test" in text  # self-signed
    assert "DNS:mail.example.test" in text
    assert "prime256v1" in text or "P-256" in text
    assert "ecdsa-with-SHA256" in text
    assert pubkey_of_cert(postern.cert) == pubkey_of_key(postern.key)


def test_init_writes_the_canonical_hostname(postern_bin, tmp_path):
    r = run_postern(["init", "--dir", tmp_path / "s", "--hostname", "MAIL.Example.TEST"],
                    cwd=tmp_path)
    assert r.rc == 0, r.err
    s = Setup(tmp_path / "s")
    assert "hostname = mail.example.test" in s.conf.read_text()
    assert "DNS:mail.example.test" in x509_text(s.cert)


def test_the_new_setup_takes_commands_at_once(postern):
    has(postern.ok("domain", "list", json=True), {"domains": []})
    assert postern.add_domain("example.org") == "example.org"


def test_init_refuses_to_run_again_and_leaves_every_file_unchanged(postern):
    before = snapshot(postern.dir)
    r = run_postern(["init", "--dir", postern.dir, "--hostname", HOSTNAME])
    assert r.rc == 1
    assert "already holds a postern setup" in r.err
    assert snapshot(postern.dir) == before


def test_init_refuses_again_even_with_another_hostname_or_certificate(postern, tmp_path):
    cert, key = own_cert(tmp_path)
    before = snapshot(postern.dir)
    for extra in ([], ["--cert", cert, "--key", key]):
        r = run_postern(["init", "--dir", postern.dir, "--hostname", "other.example.test"] + extra)
        assert r.rc == 1 and "already holds" in r.err
    assert snapshot(postern.dir) == before


def test_init_refuses_a_folder_that_still_holds_a_store_and_master_key(postern):
    # the config was lost, the keys and the store were not: they are kept
    postern.conf.unlink()
    before = snapshot(postern.dir)
    r = run_postern(["init", "--dir", postern.dir, "--hostname", HOSTNAME])
    assert r.rc == 1 and "already holds" in r.err
    assert snapshot(postern.dir) == before


def test_init_with_cert_and_key_uses_them_and_writes_no_certificate(postern_bin, tmp_path):
    cert, key = own_cert(tmp_path)
    given = snapshot(tmp_path)
    d = tmp_path / "s"
    r = run_postern(["init", "--dir", d, "--hostname", HOSTNAME, "--cert", cert, "--key", key],
                    cwd=tmp_path)
    assert r.rc == 0, r.err
    conf = (d / "postern.conf").read_text()
    assert "cert = %s" % cert in conf
    assert "key = %s" % key in conf
    assert not (d / "data" / "tls").exists()
    assert [p for p in d.rglob("*.pem")] == []
    # the operator's files are left exactly as they were
    after = snapshot(tmp_path)
    for name, v in given.items():
        assert after[name] == v
    assert "self-signed" not in r.out
    has(Setup(d).ok("domain", "list", json=True), {"domains": []})


def test_init_with_cert_but_no_key_is_a_usage_error_and_creates_nothing(postern_bin, tmp_path):
    cert, _ = own_cert(tmp_path)
    d = tmp_path / "s"
    r = run_postern(["init", "--dir", d, "--hostname", HOSTNAME, "--cert", cert])
    assert r.rc == 2
    assert "usage" in r.err
    assert not d.exists()


def test_init_with_a_missing_certificate_file_fails_and_writes_no_setup(postern_bin, tmp_path):
    d = tmp_path / "s"
    r = run_postern(["init", "--dir", d, "--hostname", HOSTNAME,
                     "--cert", tmp_path / "nope.pem", "--key", tmp_path / "nope-key.pem"])
    assert r.rc == 1
    assert "nope.pem" in r.err
    assert not (d / "postern.conf").exists() and not (d / "data").exists()


def test_init_rejects_an_invalid_hostname_and_creates_nothing(postern_bin, tmp_path):
    d = tmp_path / "s"
    r = run_postern(["init", "--dir", d, "--hostname", "bad host!"])
    assert r.rc == 1
    assert "hostname" in r.err
    assert not d.exists()


def test_init_needs_a_dir_and_a_hostname(postern_bin, tmp_path):
    for args in (["init"], ["init", "--dir", tmp_path / "s"], ["init", "--hostname", HOSTNAME],
                 ["init", "--dir", tmp_path / "s", "--hostname"],
                 ["init", "--dir", tmp_path / "s", "--hostname", HOSTNAME, "--bogus", "x"]):
        r = run_postern(args, cwd=tmp_path)
        assert r.rc == 2, args
        assert "usage: postern init" in r.err
    assert not (tmp_path / "s").exists()


def test_init_that_fails_part_way_leaves_no_half_setup_behind(postern_bin, tmp_path):
    # A certificate is already where init would write its own (say, the
    # operator copied one in, or an earlier run stopped there). init cannot
    # write its certificate, so it fails; it must then not have written the
    # master key, the store or a private key either, or the next `postern
    # init` calls the folder "a postern setup" that has no config at all.
    d = tmp_path / "s"
    (d / "data" / "tls").mkdir(parents=True)
    (d / "data" / "tls" / "cert.pem").write_text("an old certificate\n")
    r = run_postern(["init", "--dir", d, "--hostname", HOSTNAME])
    assert r.rc != 0
    assert (d / "data" / "tls" / "cert.pem").read_text() == "an old certificate\n"
    left = sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())
    assert left == ["data/tls/cert.pem"], "init failed but left %s behind" % left


def test_init_keeps_the_data_dir_private_even_when_it_already_exists(postern_bin, tmp_path):
    # DIR/data made beforehand (a mounted volume, say) with the usual 0755:
    # the store and keys go in it, so init makes it 0700 or refuses it
    d = tmp_path / "s"
    (d / "data").mkdir(parents=True)
    os.chmod(d / "data", 0o755)
    r = run_postern(["init", "--dir", d, "--hostname", HOSTNAME])
    if r.rc == 0:
        assert mode(d / "data") == 0o700, "data dir left %o" % mode(d / "data")
    else:
        assert list((d / "data").iterdir()) == []
