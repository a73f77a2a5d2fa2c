"""
A PostgreSQL 15 cluster of the tests' own: initdb into a temporary folder
owned by an unprivileged user (the `postgres` user when run as root, else
the caller), `postgres` on 127.0.0.1 and a free port, its socket in that
folder, trust authentication on loopback only (no password anywhere), one
database `postern`. Never the system's cluster: its port, data and socket
are not touched.

    with Cluster() as pg:          # ~1-2 s to start
        pg.conninfo                # "host=127.0.0.1 port=N dbname=postern user=postern"
        pg.restart() / pg.stop() / pg.start()
        pg.psql("SELECT 1")        # runs psql, returns its output

As a script, runs a command with $POSTERN_TEST_PG set to a fresh
cluster's conninfo, then stops the cluster (the unit tests' runner):

    python3 tests/e2e/fixtures_pg.py ./build/asan/unit [filter]

`pg_cluster` (session fixture): one cluster for a whole pytest run,
started on first use; `pg_database` (fixture): a fresh empty database in
it per test, its conninfo returned.
"""
import itertools
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("POSTERN_PG_BIN", "/usr/lib/postgresql/15/bin")
# the cluster of the module being run on PostgreSQL (conftest's
# store_backend), else None: Server and Setup then use a database of it
CURRENT = None
PG_USER = "postern"  # the cluster's superuser, named at initdb


def pg_available():
    return os.path.exists(os.path.join(PG_BIN, "initdb"))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner():
    """The user the server runs as: the caller, or `postgres` (else
    `nobody`) when the caller is root, which postgres refuses to be."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user to run postgres as")


class Cluster:
    def __init__(self, base=None):
        self.owner = _owner()
        self.dir = tempfile.mkdtemp(prefix="postern-pg-", dir=base)
        os.chmod(self.dir, 0o700)
        if self.owner:
            os.chown(self.dir, self.owner.pw_uid, self.owner.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.log = os.path.join(self.dir, "log")
        self.running = False
        self._dbs = itertools.count(1)

    @property
    def conninfo(self):
        return self.conninfo_for("postern")

    def conninfo_for(self, dbname):
        return "host=127.0.0.1 port=%d dbname=%s user=%s connect_timeout=5" % (
            self.port,
            dbname,
            PG_USER,
        )

    def _run(self, argv, check=True, **kw):
        if self.owner:
            argv = ["runuser", "-u", self.owner.pw_name, "--"] + argv
        return subprocess.run(
            argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw
        )

    def init(self):
        self._run(
            [
                os.path.join(PG_BIN, "initdb"),
                "-D",
                self.data,
                "-U",
                PG_USER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )
        # loopback only, the socket in our folder, no durability (tests)
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write(
                "listen_addresses = '127.0.0.1'\nport = %d\n"
                "unix_socket_directories = '%s'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 200\nshared_buffers = 32MB\n" % (self.port, self.dir)
            )
        return self

    def start(self):
        self._run(
            [os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "start"]
        )
        self.running = True
        return self

    def stop(self, mode="fast"):
        if self.running:
            self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"], check=False)
            self.running = False

    def restart(self):
        self.stop()
        self.start()

    def psql(self, sql, dbname="postern"):
        r = subprocess.run(
            [
                os.path.join(PG_BIN, "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.conninfo_for(dbname),
                "-c",
                sql,
            ],
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return r.stdout.strip()

    def createdb(self, name=None, template=None):
        name = name or "t%d" % next(self._dbs)
        self.psql('CREATE DATABASE "%s"%s' % (name, ' TEMPLATE "%s"' % template if template else ""),
                  dbname="postgres")
        return self.conninfo_for(name)

    def migrated_db(self, postern_bin):
        """A new database with postern's schema, as `postern init` leaves
        a SQLite store: copied from a template migrated once by
        `postern store migrate`."""
        if not getattr(self, "_template", None):
            conninfo = self.createdb("migrated")
            conf = os.path.join(self.dir, "migrate.conf")
            with open(conf, "w") as f:
                f.write("[store]\ndriver = postgresql\nconninfo = %s\n" % conninfo)
            subprocess.run([postern_bin, "-c", conf, "store", "migrate"], check=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            self._template = "migrated"
        return self.createdb(template=self._template)

    def __enter__(self):
        self.init().start()
        self.createdb("postern")
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


try:
    import pytest

    @pytest.fixture(scope="session")
    def pg_cluster():
        if not pg_available():
            pytest.skip("PostgreSQL 15 is not installed (Debian: postgresql)")
        with Cluster() as c:
            yield c

    @pytest.fixture
    def pg_database(pg_cluster):
        """The conninfo of a new, empty database for one test."""
        return pg_cluster.createdb()

except ImportError:  # as a script, without pytest
    pass


def configure(conf_set):
    """In a module run on PostgreSQL: a new database of the current
    cluster for one setup, migrated (as `postern init` leaves SQLite), put
    in its config through conf_set(section, key, value); its conninfo.
    None on SQLite."""
    if CURRENT is None:
        return None
    conninfo = CURRENT.migrated_db(os.environ.get("POSTERN_BIN") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "../../postern"))
    conf_set("store", "driver", "postgresql")
    conf_set("store", "conninfo", conninfo)
    return conninfo


def psql_json(conninfo, query):
    """Rows of a query as a list of dicts, as `sqlite3 -json` gives them."""
    r = subprocess.run(
        [os.path.join(PG_BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo,
         "-c", "SELECT coalesce(json_agg(q), '[]') FROM (%s) q" % query],
        check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return json.loads(r.stdout)


def psql(conninfo, sql):
    subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def dump(conninfo):
    """Every row, as sorted lines: what a refused command must not change
    (identity sequences left out: a refused insert may use a number)."""
    r = subprocess.run([os.path.join(PG_BIN, "pg_dump"), "--data-only", "--no-owner", "-d", conninfo],
                       check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    return "\n".join(sorted(l for l in r.stdout.splitlines()
                            if l and not l.startswith(("--", "SELECT pg_catalog.set", "SET ", "\\restrict",
                                                       "\\unrestrict"))))


def main(argv):
    if not pg_available():
        print("fixtures_pg: PostgreSQL 15 not installed: %s" % PG_BIN, file=sys.stderr)
        return subprocess.call(argv)
    t0 = time.time()
    with Cluster() as c:
        print("fixtures_pg: cluster on port %d in %.1fs" % (c.port, time.time() - t0), flush=True)
        env = dict(os.environ, POSTERN_TEST_PG=c.conninfo)
        return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
