"""
End-to-end fixtures: drive the real postern binary as an operator would.

The binary is $POSTERN_BIN (the Makefile passes the AddressSanitizer
build), else ../../postern. The `postern` fixture is a fresh setup per
test, made by `postern init --dir TMP/postern --hostname
mail.example.test`; commands run from an empty working directory with -c
pointing at its config, so neither $POSTERN_CONFIG nor a stray
./postern.conf can leak in. Each postern run under ASan costs ~0.1 s, so
tests that only read or are refused share a module's `world` instead.

Shared by every e2e suite (CLI now, SMTP later):
  postern_bin            path of the binary under test
  postern (fixture)      a fresh Setup: .run(), .ok(), .refused(), .dump() ...
  world (module fixture) a populated Setup shared by read-only/refusal tests
  run (fixture)          postern.run, for tests that need nothing else
  make_setup(path)       a Setup anywhere (module-scoped fixtures, two stores)
  run_postern(args, ...) the binary without any config (init, usage)
  fields(text)           the "key: value" lines of a text-mode answer
"""
import contextlib
import json as jsonlib
import os
import re
import subprocess
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import fixtures_pg
from fixtures_pg import pg_cluster, pg_database  # noqa: F401 (fixtures)

HERE = Path(__file__).resolve().parent
POSTERN_BIN = os.environ.get("POSTERN_BIN") or str((HERE / "../../postern").resolve())
HOSTNAME = "mail.example.test"
TIMEOUT = 60

# What a sanitizer prints when it finds something; the test then fails.
SANITIZER_MARKS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "AddressSanitizer:DEADLYSIGNAL",
    "runtime error:",
)


class Result(NamedTuple):
    rc: int
    out: Any  # stdout text, or the parsed JSON with json=True
    err: str


def base_env(extra=None):
    """The environment a command runs in: ours minus POSTERN_CONFIG."""
    env = dict(os.environ)
    env.pop("POSTERN_CONFIG", None)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    env["LC_ALL"] = "C.UTF-8"
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
    return env


def check_sanitizers(args, err):
    for mark in SANITIZER_MARKS:
        if mark in err:
            pytest.fail(
                "sanitizer report from postern %s:\n%s" % (" ".join(map(str, args)), err),
                pytrace=False,
            )


def run_postern(args, stdin=None, cwd=None, env=None, json=False, timeout=TIMEOUT):
    """Run the binary with exactly these arguments. stdin: str or bytes."""
    argv = [POSTERN_BIN] + [str(a) for a in args]
    if json:
        argv.append("--json")
    if isinstance(stdin, str):
        stdin = stdin.encode()
    p = subprocess.run(
        argv,
        input=stdin if stdin is not None else b"",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=base_env(env),
        timeout=timeout,
    )
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    check_sanitizers(args, err)
    if json:
        try:
            out = jsonlib.loads(out) if out.strip() else None
        except ValueError:
            pytest.fail("postern %s --json printed no JSON:\n%s\nstderr:\n%s"
                        % (" ".join(map(str, args)), out, err), pytrace=False)
    return Result(p.returncode, out, err)


def has(actual, expected):
    """Assert the dict actual holds every key of expected, with its value
    (answers may grow new keys without breaking a test)."""
    assert isinstance(actual, dict), "not an object: %r" % (actual,)
    wrong = {k: actual.get(k, "<absent>") for k, v in expected.items()
             if k not in actual or actual[k] != v}
    assert not wrong, "expected %r, got %r in %r" % (
        {k: expected[k] for k in wrong}, wrong, actual)
    return True


_usage = None


def usage_text():
    """`postern --help`, once: which commands and options this build has."""
    global _usage
    if _usage is None:
        _usage = run_postern(["--help"]).err
    return _usage


def fields(text):
    """The top-level "key: value" lines of a text answer, as a dict."""
    d = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z_]+): ?(.*)$", line)
        if m:
            d[m.group(1)] = m.group(2)
    return d


class Setup:
    """One postern setup (postern init) and the commands to drive it."""

    def __init__(self, root, cwd=None):
        self.dir = Path(root)
        self.conf = self.dir / "postern.conf"
        self.data = self.dir / "data"
        self.db = self.data / "postern.db"
        self.pg = None  # the conninfo when on PostgreSQL (make_setup)
        self.master_key = self.data / "master.key"
        self.cert = self.data / "tls" / "cert.pem"
        self.key = self.data / "tls" / "key.pem"
        self.cwd = Path(cwd) if cwd else self.dir.parent / "cwd"
        self.cwd.mkdir(parents=True, exist_ok=True)

    # running commands

    def run(self, *args, stdin=None, json=False, config=True, cwd=None, env=None):
        """(rc, stdout or parsed JSON, stderr) of `postern -c CONF ARGS`."""
        pre = ["-c", str(self.conf)] if config else []
        return run_postern(pre + list(args), stdin=stdin, json=json,
                           cwd=cwd or self.cwd, env=env)

    def ok(self, *args, **kw):
        """Run, insist on success, return stdout (or parsed JSON)."""
        r = self.run(*args, **kw)
        assert r.rc == 0, "postern %s failed (rc %d):\n%s" % (" ".join(args), r.rc, r.err)
        return r.out

    def refused(self, *args, rc=1, **kw):
        """Run, insist on exit status rc and a message; return stderr."""
        r = self.run(*args, **kw)
        assert r.rc == rc, "postern %s: rc %d, wanted %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(args), r.rc, rc, r.out, r.err)
        assert r.err.strip(), "postern %s failed without a message" % " ".join(args)
        return r.err

    # the store

    def dump(self):
        """The whole store as SQL text (sqlite3 .dump; PostgreSQL: its
        rows, sorted)."""
        if self.pg:
            return fixtures_pg.dump(self.pg)
        p = subprocess.run(["sqlite3", str(self.db), ".dump"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=True, timeout=TIMEOUT)
        return p.stdout.decode("utf-8", "replace")

    def sql(self, query):
        """Rows of a query, as a list of dicts (sqlite3 -json)."""
        if self.pg:
            return fixtures_pg.psql_json(self.pg, query)
        p = subprocess.run(["sqlite3", "-json", str(self.db), query], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=True, timeout=TIMEOUT)
        text = p.stdout.decode("utf-8", "replace").strip()
        return jsonlib.loads(text) if text else []

    def count(self, table):
        return self.sql("SELECT count(*) AS n FROM %s" % table)[0]["n"]

    @contextlib.contextmanager
    def unchanged(self):
        """Assert the store is byte-for-byte the same dump afterwards."""
        before = self.dump()
        yield
        after = self.dump()
        assert after == before, "the store changed"

    # the config

    def conf_lines(self):
        return self.conf.read_text().splitlines()

    def conf_set(self, section, key, value):
        """Set key = value in [section]; return its 1-based line number."""
        lines = self.conf_lines()
        cur = None
        for i, line in enumerate(lines):
            s = line.strip()
            if s.startswith("["):
                cur = s.strip("[]").strip()
            elif cur == section and re.match(r"^%s\s*=" % re.escape(key), s):
                lines[i] = "%s = %s" % (key, value)
                self.conf.write_text("\n".join(lines) + "\n")
                return i + 1
        return self.conf_insert(section, "%s = %s" % (key, value))

    def conf_insert(self, section, text):
        """Put a line right after [section] (appended with it if none)."""
        lines = self.conf_lines()
        for i, line in enumerate(lines):
            if line.strip() == "[%s]" % section:
                lines.insert(i + 1, text)
                self.conf.write_text("\n".join(lines) + "\n")
                return i + 2
        lines += ["[%s]" % section, text]
        self.conf.write_text("\n".join(lines) + "\n")
        return len(lines)

    # shortcuts for arranging a test

    def add_domain(self, name="example.org"):
        """Add a domain; its canonical name. Where the build makes DKIM keys
        at `domain add`, ask for Ed25519 ones: RSA keys take long under ASan."""
        extra = ["--dkim", "ed25519"] if "--dkim" in usage_text() else []
        return self.ok("domain", "add", name, *extra, json=True)["domain"]

    def add_user(self, address="alice@example.org", password=None):
        """Add a user (the domain must exist); return its SMTP password."""
        if password is None:
            out = self.ok("user", "add", address, json=True)
        else:
            out = self.ok("user", "add", address, "--password-stdin", stdin=password + "\n",
                          json=True)
        return out["smtp_password"]


def make_setup(root, hostname=HOSTNAME, cwd=None):
    """`postern init` in root; a Setup for it."""
    root = Path(root)
    r = run_postern(["init", "--dir", root, "--hostname", hostname], cwd=root.parent)
    assert r.rc == 0, "postern init failed (rc %d):\n%s" % (r.rc, r.err)
    s = Setup(root, cwd=cwd)
    s.pg = fixtures_pg.configure(s.conf_set)
    return s


def populate(s):
    """The common world: domains example.org (typed Example.ORG; alias
    example.com), example.net and bücher.de; users alice@example.org (alias
    ally), bob@example.org (blocked: spam) and Dave@example.net. Sets
    s.smtp to their SMTP passwords."""
    s.add_domain("Example.ORG")
    s.add_domain("example.net")
    s.add_domain("bücher.de")
    s.ok("domain", "alias", "add", "example.com", "example.org")
    s.smtp = {a: s.add_user(a) for a in ("alice@example.org", "bob@example.org",
                                         "Dave@example.net")}
    s.ok("user", "alias", "add", "alice@example.org", "ally")
    s.ok("user", "block", "bob@example.org", "--reason", "spam")
    return s


def pytest_generate_tests(metafunc):
    """A module with STORE_BACKENDS = ("sqlite", "postgresql") runs each
    of its tests on each backend: its setups, servers and shared servers
    made while it runs use a database of the session's cluster. A
    module-scoped fixture of such a module names store_backend, or pytest
    would share one instance between the two runs."""
    backends = getattr(metafunc.module, "STORE_BACKENDS", None)
    # POSTERN_E2E_STORE=postgresql: every module on PostgreSQL only (a
    # module that reads the SQLite file itself then fails: not for CI)
    if os.environ.get("POSTERN_E2E_STORE") in ("sqlite", "postgresql"):
        backends = (os.environ["POSTERN_E2E_STORE"],)
    if backends and "store_backend" in metafunc.fixturenames:
        metafunc.parametrize("store_backend", backends, indirect=True, scope="module")


@pytest.fixture(scope="module", autouse=True)
def store_backend(request):
    """"sqlite", or "postgresql" while a module runs on it."""
    name = getattr(request, "param", "sqlite")
    if name == "postgresql":
        fixtures_pg.CURRENT = request.getfixturevalue("pg_cluster")
    yield name
    fixtures_pg.CURRENT = None


@pytest.fixture(scope="session")
def postern_bin():
    if not os.access(POSTERN_BIN, os.X_OK):
        pytest.exit("no postern binary at %s: run `make postern` or set POSTERN_BIN"
                    % POSTERN_BIN, returncode=2)
    return POSTERN_BIN


@pytest.fixture
def postern(postern_bin, tmp_path, store_backend):
    """A fresh setup: postern init --dir TMP/postern --hostname mail.example.test."""
    return make_setup(tmp_path / "postern", cwd=tmp_path / "cwd")


@pytest.fixture(scope="module")
def world(postern_bin, tmp_path_factory, store_backend):
    """One populated setup (see populate) shared by a module's tests that
    only read or are refused: wrap refusals in `with world.unchanged():`."""
    root = tmp_path_factory.mktemp("world")
    return populate(make_setup(root / "postern", cwd=root / "cwd"))


@pytest.fixture
def run(postern):
    """run(*args, stdin=None, json=False) -> (rc, stdout|JSON, stderr)."""
    return postern.run


@pytest.fixture
def alice(postern):
    """example.org with alice@example.org; her SMTP password."""
    postern.add_domain("example.org")
    return postern.add_user("alice@example.org")
pytest_plugins = ["fixtures_smtp", "fixtures_delivery", "fixtures_http", "fixtures_dovecot"]
