"""Brute-force defence: failed AUTH counted per client address and per
login. An address that keeps failing is slowed, then refused (454 4.7.0);
a login attacked from many addresses slows only those addresses, so its
owner logs in from a clean one at normal speed; and no reply, by text or
by time, tells a known login from an unknown one."""
import statistics
import time

from abuse_helpers import auth_plain, client

FAIL_DELAY = 0.2  # the fixture's [auth] fail_delay
SLOW = 0.3        # [auth] slow_delay below


def timed_auth(srv, user, password, src):
    """(code, reply, seconds) of one AUTH PLAIN on a fresh TLS session."""
    s = client(srv, src)
    t = time.monotonic()
    code, text = auth_plain(s, user, password)
    took = time.monotonic() - t
    s.close()
    return code, text, took


def bf_server(factory, **conf):
    settings = dict(auth__ip_slow_after="3", auth__ip_refuse_after="6",
                    auth__refuse_time="60s", auth__login_slow_after="5",
                    auth__slow_delay=str(int(SLOW * 1000)), auth__slow_max="1200",
                    limits__auth_failures_per_session="100")
    settings.update(conf)
    return factory(**settings)


def test_failures_from_one_address_are_slowed_then_refused_and_the_user_elsewhere_logs_in(
        smtp_server_factory):
    srv = bf_server(smtp_server_factory)
    attacker = "127.0.0.21"
    times = []
    for i in range(6):
        code, text, took = timed_auth(srv, "alice@example.org", "guess%d" % i, attacker)
        assert code == 535, (code, text)
        times.append(took)
    # three at the normal delay, then 0.3 s more, 0.6, 1.2 (the cap)
    for t in times[:3]:
        assert FAIL_DELAY - 0.02 <= t < FAIL_DELAY + SLOW - 0.05, times
    for t, extra in zip(times[3:], (0.3, 0.6, 1.2)):
        assert t >= FAIL_DELAY + extra - 0.02, times
    # the sixth failure: refused for a while, even with the right password,
    # answered no faster than a failure
    code, text, took = timed_auth(srv, "alice@example.org", srv.alice_pw, attacker)
    assert code == 454 and text.startswith(b"4.7.0 "), (code, text)
    assert FAIL_DELAY - 0.02 <= took < FAIL_DELAY + SLOW, took
    # alice from her own address: at once
    code, text, took = timed_auth(srv, "alice@example.org", srv.alice_pw, "127.0.0.22")
    assert code == 235 and took < FAIL_DELAY, (code, text, took)
    # and the refusal is in the log
    events = srv.cli("log", "auth", "alice@example.org")["events"]
    assert events[1]["outcome"] == "refused" and events[1]["ip"] == attacker, events[:2]


def test_a_login_attacked_from_many_addresses_slows_only_those_addresses(smtp_server_factory):
    srv = bf_server(smtp_server_factory)
    for i in range(6):  # one failure each: no address is slowed by itself
        code, _, took = timed_auth(srv, "alice@example.org", "nope", "127.0.0.%d" % (31 + i))
        assert code == 535 and took < FAIL_DELAY + SLOW - 0.05, took
    # an address that failed it is slowed now ...
    code, _, took = timed_auth(srv, "alice@example.org", "nope", "127.0.0.31")
    assert code == 535 and took >= FAIL_DELAY + SLOW - 0.02, took
    # ... the owner from an address that never failed is not
    code, _, took = timed_auth(srv, "alice@example.org", srv.alice_pw, "127.0.0.40")
    assert code == 235 and took < FAIL_DELAY, took
    # nor is anyone else's login from the attacking addresses
    bob, bob_pw = srv.new_user("bob")
    code, _, took = timed_auth(srv, bob, bob_pw, "127.0.0.32")
    assert code == 235 and took < FAIL_DELAY, took


def test_known_and_unknown_logins_fail_alike_in_text_and_in_time(smtp_server_factory):
    # counters out of the way: only the fixed failure delay is measured
    srv = bf_server(smtp_server_factory, auth__ip_slow_after="1000",
                    auth__ip_refuse_after="1000", auth__login_slow_after="1000")
    known, unknown, texts = [], [], set()
    for i in range(15):
        for user, out in (("alice@example.org", known), ("nobody%d@example.org" % i, unknown)):
            code, text, took = timed_auth(srv, user, "wrong-password-%d" % i, "127.0.0.50")
            assert code == 535
            texts.add(text)
            out.append(took)
    assert texts == {b"5.7.8 Authentication credentials invalid"}, texts
    print("known   %s" % " ".join("%.3f" % t for t in sorted(known)))
    print("unknown %s" % " ".join("%.3f" % t for t in sorted(unknown)))
    for dist in (known, unknown):
        assert min(dist) >= FAIL_DELAY - 0.01, dist
    # medians and quartiles: robust to the odd scheduling hiccup of a
    # loaded machine, and a store look-up would shift all of them
    qk, qu = statistics.quantiles(known, n=4), statistics.quantiles(unknown, n=4)
    for a, b in zip(qk, qu):
        assert abs(a - b) < 0.025, (qk, qu)
