"""Several nodes on one store: two `postern serve`, one on 127.0.0.2 and one
on 127.0.0.3, each with its own spool, sharing one store (and master key).
What is changed through one node holds at the other: passwords, blocks
(within 5 s), quotas (passed by at most (nodes - 1) x [quota] node_batch),
failed-login counters; the authentication log of both is one table with the
node named; the API of either lists both queues. Without the store a node
answers 451 4.3.0 to new logins and keeps delivering what it queued.

The store is a SQLite file both nodes open (WAL mode serves several
processes on one machine): the code above the db layer is the same as on
PostgreSQL. "The store goes away" is a process holding the SQLite file's
WAL locks (bytes 120-127 of its -shm file), so that no query can run."""
import contextlib
import fcntl
import os
import threading
import time

import pytest

import fixtures_pg
from abuse_helpers import auth_plain, transaction
from fixtures_delivery import Mx
from fixtures_http import Api
from fixtures_smtp import (Server, SmtpClient, _open_clients,
                           free_port, make_message, queue_id, tls_client_context)

# each test on the shared SQLite file, and again on PostgreSQL if installed
STORE_BACKENDS = ("sqlite", "postgresql") if fixtures_pg.pg_available() else ("sqlite",)

HOSTS = ("127.0.0.2", "127.0.0.3")
NAMES = ("node-a", "node-b")


class NodeApi(Api):
    """The JSON API of a node that listens on another loopback address."""

    def __init__(self, host, port, key):
        super().__init__(port, key=key)
        self.host = host

    def connect(self):
        import http.client
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)


class Node(Server):
    """A postern node on its own loopback address; with `store_of`, the
    store and master key of another node's setup."""

    def __init__(self, root, host, name, store_of=None, **conf):
        conf.setdefault("http__tls", "off")
        super().__init__(root, **conf)
        self.host = host
        self.name = name
        for k, p in self.ports.items():
            self.conf_set("listen", k, "%s:%d" % (host, p))
        self.conf_set("server", "node_name", name)
        if store_of is not None:
            self.conf_set("server", "master_key", str(store_of.data / "master.key"))
            if store_of.pg:  # the other node's PostgreSQL database
                self.pg = store_of.pg
                self.conf_set("store", "conninfo", store_of.pg)
            else:
                self.conf_set("store", "path", str(store_of.data / "postern.db"))
        self.db = (store_of or self).data / "postern.db"

    def client(self, kind="submission", **kw):
        c = SmtpClient(self.ports[kind], host=self.host, implicit_tls=(kind == "submissions"),
                       cafile=self.cert, **kw)
        assert c.greeting.code == 220, "greeting: %s" % c.greeting
        return c

    def smtplib(self, kind="submission", src=None):
        import smtplib
        ctx = tls_client_context(self.cert)
        s = smtplib.SMTP(self.host, self.ports["submission"], timeout=30,
                         source_address=(src, 0) if src else None)
        s.ehlo("client.example.test")
        s.starttls(context=ctx)
        s.ehlo("client.example.test")
        _open_clients.append(s)
        return s

    def api(self, key):
        return NodeApi(self.host, self.ports["http"], key)


@pytest.fixture
def cluster(tmp_path, store_backend):
    """make(**conf): two started nodes on one store, example.org with
    alice@example.org provisioned, and an operator API key."""
    made = []

    def make(**conf):
        a = Node(tmp_path / "node-a", HOSTS[0], NAMES[0], **conf)
        b = Node(tmp_path / "node-b", HOSTS[1], NAMES[1], store_of=a, **conf)
        made.extend([a, b])
        a.cli("domain", "add", "example.org", "--dkim", "ed25519")
        a.alice_pw = a.cli("user", "add", "alice@example.org")["smtp_password"]
        a.passwords["alice@example.org"] = b.passwords["alice@example.org"] = a.alice_pw
        a.key = a.cli("api-key", "add", "ops")["key"]
        a.start()
        b.start()
        # each has seen the other (its quota counts are exchanged after
        # node_batch messages from then on; a node alone keeps them)
        for n in (a, b):
            n.wait_log(r"nodes\.peers node=\S+ others=1", timeout=10)
        return a, b

    yield make
    for n in made:
        n.stop()


def auth(node, login, password, src=None):
    s = node.smtplib(src=src)
    code, text = auth_plain(s, login, password)
    s.close()
    return code, text


def test_a_password_changed_through_one_node_works_at_the_other_at_once(cluster):
    a, b = cluster()
    old = a.alice_pw
    assert auth(b, "alice@example.org", old)[0] == 235
    # a session opened at node-b with the old password, before the change
    open_b = b.smtplib()
    assert auth_plain(open_b, "alice@example.org", old)[0] == 235
    r = a.api(a.key).post("/api/v1/users/alice@example.org/smtp-password")
    assert r.status in (200, 201), r
    new = r.json["password"]
    # at once: no cache on the other node
    assert auth(b, "alice@example.org", new)[0] == 235
    code, _ = auth(b, "alice@example.org", old)
    assert code == 535
    assert auth(a, "alice@example.org", new)[0] == 235
    # the session the old password opened ends at its next MAIL (within
    # the 5 s a session's credential is trusted, as on one node)
    time.sleep(5.2)
    code, text = open_b.mail("alice@example.org")
    assert code == 421 and b"replaced or revoked" in text, (code, text)


def test_an_api_key_revoked_through_one_node_is_refused_at_the_other_at_once(cluster):
    a, b = cluster()
    key = a.api(a.key).post("/api/v1/api-keys", {"name": "tooling"}).json["key"]
    assert b.api(key).get("/api/v1/users").status == 200
    assert a.api(a.key).call("DELETE", "/api/v1/api-keys/tooling").status == 200
    assert b.api(key).get("/api/v1/users").status == 401
    # a user removed through node-b: node-a refuses its login at once
    bob = a.cli("user", "add", "bob@example.org")["smtp_password"]
    assert auth(a, "bob@example.org", bob)[0] == 235
    assert b.api(a.key).call("DELETE", "/api/v1/users/bob@example.org").status == 200
    assert auth(a, "bob@example.org", bob)[0] == 535


def test_a_block_set_on_one_node_stops_sending_on_the_other_within_5_seconds(cluster):
    a, b = cluster()
    s = b.smtplib()
    assert auth_plain(s, "alice@example.org", a.alice_pw)[0] == 235
    assert transaction(s, "alice@example.org").queued
    r = a.api(a.key).post("/api/v1/users/alice@example.org/block", {"reason": "stolen password"})
    assert r.status == 200, r
    t0 = time.monotonic()
    while True:
        code, text = s.mail("alice@example.org")
        if code != 250:
            break
        s.rset()
        assert time.monotonic() - t0 < 5, "node-b still takes mail 5 s after the block"
        time.sleep(0.1)
    took = time.monotonic() - t0
    assert code == 550 and b"blocked" in text, (code, text)
    assert took < 5, took
    # a new login at node-b is refused at MAIL too, with the reason
    s2 = b.smtplib()
    assert auth_plain(s2, "alice@example.org", a.alice_pw)[0] == 235
    code, text = s2.mail("alice@example.org")
    assert code == 550 and b"stolen password" in text, (code, text)
    # lifted on node-b: node-a takes mail again
    assert b.api(a.key).call("DELETE", "/api/v1/users/alice@example.org/block").status == 200
    s3 = a.smtplib()
    assert auth_plain(s3, "alice@example.org", a.alice_pw)[0] == 235
    assert transaction(s3, "alice@example.org").queued


QUOTA = 20
BATCH = 3


def test_a_quota_spread_over_both_nodes_is_passed_by_at_most_the_stated_bound(cluster):
    a, b = cluster(quota__messages_per_hour=str(QUOTA), quota__node_batch=str(BATCH),
                   abuse__quota_excess_blocks="0")
    accepted = {}

    def send(node):
        s = node.smtplib()
        assert auth_plain(s, "alice@example.org", a.alice_pw)[0] == 235
        n = 0
        refused = 0
        while refused < 3:  # until the quota says no, several times
            o = transaction(s, "alice@example.org", msg=make_message(subject="q%d" % n))
            if o.queued:
                n += 1
            else:
                assert o.code in (451, 452) and "Quota" in o.text, o
                refused += 1
        accepted[node.name] = n
        s.quit()

    threads = [threading.Thread(target=send, args=(n,)) for n in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    total = sum(accepted.values())
    overshoot = total - QUOTA
    print("quota %d, node_batch %d, accepted %r, overshoot %d (bound %d)"
          % (QUOTA, BATCH, accepted, overshoot, (2 - 1) * BATCH))
    assert accepted[NAMES[0]] > 0 and accepted[NAMES[1]] > 0, accepted
    assert QUOTA <= total <= QUOTA + (2 - 1) * BATCH, accepted
    # the spooled messages are what was accepted: each node its own
    assert len(a.queue_ids()) + len(b.queue_ids()) == total
    # and once the counts are exchanged, neither node takes one more
    time.sleep(1.5)
    for node in (a, b):
        s = node.smtplib()
        assert auth_plain(s, "alice@example.org", a.alice_pw)[0] == 235
        o = transaction(s, "alice@example.org")
        assert not o.queued and "Quota" in o.text, o
        s.quit()


FAIL_DELAY = 0.2
SLOW = 0.3


def timed(node, password, src):
    s = node.smtplib(src=src)
    t = time.monotonic()
    code, text = auth_plain(s, "alice@example.org", password)
    took = time.monotonic() - t
    s.close()
    return code, took


def test_brute_force_spread_over_both_nodes_is_slowed_and_refused_as_if_one(cluster):
    a, b = cluster(auth__ip_slow_after="3", auth__ip_refuse_after="6",
                   auth__refuse_time="60s", auth__login_slow_after="1000",
                   auth__slow_delay=str(int(SLOW * 1000)), auth__slow_max="1200",
                   limits__auth_failures_per_session="100")
    attacker = "127.0.0.21"
    # three failures, two at node-a and one at node-b: neither alone saw 3
    for node in (a, b, a):
        code, took = timed(node, "guess", attacker)
        assert code == 535 and took < FAIL_DELAY + SLOW - 0.05, (code, took)
    time.sleep(2.5)  # the counts go round: each second
    # the fourth, at node-b (which saw one): slowed as the third failure's
    code, took = timed(b, "guess", attacker)
    assert code == 535 and took >= FAIL_DELAY + SLOW - 0.02, took
    time.sleep(2.5)
    code, took = timed(a, "guess", attacker)
    assert code == 535 and took >= FAIL_DELAY + 2 * SLOW - 0.02, took
    code, took = timed(b, "guess", attacker)  # the sixth: refused from now
    assert code == 535
    time.sleep(2.5)
    for node in (a, b):
        code, _ = timed(node, a.alice_pw, attacker)
        assert code == 454, (node.name, code)
    # alice from her own address: at once, at either node
    for node in (a, b):
        code, took = timed(node, a.alice_pw, "127.0.0.22")
        assert code == 235 and took < FAIL_DELAY, (code, took)


def test_the_auth_log_of_both_nodes_is_one_table_with_the_node_named(cluster):
    a, b = cluster()
    assert auth(a, "alice@example.org", a.alice_pw)[0] == 235
    assert auth(b, "alice@example.org", "wrong")[0] == 535
    deadline = time.monotonic() + 5
    while True:
        events = a.cli("log", "auth", "alice@example.org")["events"]
        if len(events) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    got = {(e["node"], e["outcome"]) for e in events}
    assert (NAMES[0], "ok") in got and (NAMES[1], "failed") in got, events


def test_the_api_of_one_node_lists_both_nodes_queues_by_name(cluster):
    a, b = cluster()
    for node, n in ((a, 2), (b, 1)):
        s = node.smtplib()
        assert auth_plain(s, "alice@example.org", a.alice_pw)[0] == 235
        for _ in range(n):
            assert transaction(s, "alice@example.org").queued
        s.quit()
    api = b.api(a.key)
    deadline = time.monotonic() + 6
    while True:
        r = api.get("/api/v1/queue")
        assert r.status == 200, r
        nodes = {n["node"]: n for n in r.json["nodes"]}
        if (nodes.get(NAMES[0], {}).get("queued") == 2
                and nodes.get(NAMES[1], {}).get("queued") == 1):
            break
        assert time.monotonic() < deadline, r.json
        time.sleep(0.3)
    assert r.json["node"] == NAMES[1] and nodes[NAMES[1]]["this"] is True
    assert nodes[NAMES[0]]["this"] is False and nodes[NAMES[0]]["age"] <= 5
    # node-b's own messages are listed in full; node-a's stay on its disk
    assert len(r.json["queue"]) == 1
    # `postern queue list` on a node: its own
    assert len(a.cli("queue", "list")["queue"]) == 2


@contextlib.contextmanager
def store_away(node):
    """PostgreSQL stopped, or the SQLite file's WAL locks held: every
    query of every process fails (SQLITE_PROTOCOL / BUSY) until the block
    ends."""
    if node.pg:
        fixtures_pg.CURRENT.stop()
        try:
            yield
        finally:
            fixtures_pg.CURRENT.start()
        return
    fd = os.open(str(node.db) + "-shm", os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX, 8, 120)
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN, 8, 120)
        os.close(fd)


def test_without_the_store_auth_gets_451_queued_mail_is_delivered_and_it_comes_back(cluster):
    port = free_port()
    a, b = cluster(delivery__smarthost="127.0.0.4:%d" % port, delivery__smarthost_tls="none",
                   delivery__retry_first="1", delivery__retry_max_interval="2",
                   store__timeout="1s", store__stale_after="4s")
    mx = Mx("127.0.0.4", port)
    # sessions logged in while the store is there; messages queued at
    # node-a with no MX up yet (deferred, retried every 1-2 s)
    s = a.smtplib()
    assert auth_plain(s, "alice@example.org", a.alice_pw)[0] == 235
    ids = []
    for i in range(3):
        o = transaction(s, "alice@example.org", msg=make_message(subject="before%d" % i))
        assert o.queued
        ids.append(queue_id(o.text))
    acked = list(ids)
    stop = threading.Event()
    under_load = []

    def load():
        # a client that keeps submitting through the outage: whatever got
        # 250 must be delivered
        c = b.smtplib()
        assert auth_plain(c, "alice@example.org", a.alice_pw)[0] == 235
        n = 0
        while not stop.is_set():
            try:
                o = transaction(c, "alice@example.org", msg=make_message(subject="load%d" % n))
            except Exception:
                break
            n += 1
            if o.queued:
                under_load.append(queue_id(o.text))
            time.sleep(0.05)

    loader = threading.Thread(target=load)
    loader.start()
    time.sleep(1)
    try:
        with store_away(a):
            t0 = time.monotonic()
            code, text = auth(a, "alice@example.org", a.alice_pw)
            assert code == 451 and text.startswith(b"4.3.0"), (code, text)
            # SQLite retries a WAL lock for about 10 s before it gives up
            # (PostgreSQL gone: a refused connection, at once)
            assert time.monotonic() - t0 < 15
            code, text = auth(b, "alice@example.org", a.alice_pw)
            assert code == 451 and text.startswith(b"4.3.0"), (code, text)
            # past stale_after, an open session gets 451 at MAIL too
            time.sleep(5)
            code, text = s.mail("alice@example.org")
            assert code == 451 and text.startswith(b"4.3.0"), (code, text)
            # what was queued before still leaves
            mx.start()
            mx.wait(3, timeout=60)
    finally:
        stop.set()
        loader.join(30)
    # back: new logins and mail again, on both nodes, without a restart
    # (on PostgreSQL each worker's connection is found broken at its next
    # use and made again: a first answer may still be 451)
    deadline = time.monotonic() + 30
    for node in (a, b):
        while auth(node, "alice@example.org", a.alice_pw)[0] != 235:
            assert time.monotonic() < deadline, node.name
            time.sleep(0.3)
    s2 = a.smtplib()
    assert auth_plain(s2, "alice@example.org", a.alice_pw)[0] == 235
    while True:
        o = transaction(s2, "alice@example.org", msg=make_message(subject="after"))
        if o.queued or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert o.queued, o
    acked.append(queue_id(o.text))
    # every message that got 250, before, during and after: delivered
    total = len(acked) + len(under_load)
    got = mx.wait(total, timeout=60)
    subjects = [d.content.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0] for d in got]
    for i in range(3):
        assert ("before%d" % i).encode() in subjects
    assert b"after" in subjects
    assert len(got) >= total
    # signed as ever: the keys the store named last are used while it is away
    unsigned = [subj for subj, d in zip(subjects, got) if b"DKIM-Signature:" not in d.content]
    assert not unsigned, unsigned
    for node in (a, b):  # each node said so, once each way
        node.wait_log(r"store\.lost node=%s" % node.name, timeout=30)
        node.wait_log(r"store\.back node=%s" % node.name, timeout=30)
    # the attempts answered 451 are in the authentication log all the
    # same, written once the store was back
    deadline = time.monotonic() + 30
    while True:
        events = a.cli("log", "auth", "alice@example.org")["events"]
        away = {e["node"] for e in events if e.get("reason") == "store unavailable"}
        if away == set(NAMES) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert away == set(NAMES), events
    mx.stop()


def test_logins_from_many_addresses_spread_over_both_nodes_block_as_if_one(cluster):
    a, b = cluster(abuse__distinct_ips_per_hour="3")
    # two addresses at each node: neither node alone saw more than 3
    for node, src in ((a, "127.0.0.31"), (a, "127.0.0.32"), (b, "127.0.0.33"),
                      (b, "127.0.0.34")):
        assert auth(node, "alice@example.org", a.alice_pw, src=src)[0] == 235
    deadline = time.monotonic() + 5
    while not a.cli("user", "show", "alice@example.org").get("blocked"):
        assert time.monotonic() < deadline, "not blocked"
        time.sleep(0.2)
    time.sleep(2)  # the block goes round
    for node in (a, b):
        s = node.smtplib()
        assert auth_plain(s, "alice@example.org", a.alice_pw)[0] == 235
        o = transaction(s, "alice@example.org")
        assert o.code == 550 and "blocked" in o.text, (node.name, o)
        s.quit()
