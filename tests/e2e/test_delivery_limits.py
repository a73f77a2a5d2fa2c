"""
How many outbound connections postern opens: [delivery]
connections_per_destination and connections, seen from the MX side.
"""
from fixtures_delivery import wait_until
from fixtures_smtp import make_message

SENDER_MX = ("example.org. MX 10 mx.example.org.", "mx.example.org. A 127.0.0.6")


def most_at_once(events):
    """The most DATA transactions an MX had open at the same time."""
    now = top = 0
    for e in events:
        if e[0] == "DATA" and e[1] == "waiting":
            now += 1
            top = max(top, now)
        elif e[0] == "DATA" and e[1] == "250":
            now -= 1
    return top


def test_connections_per_destination_caps_parallel_deliveries_to_one_domain(delivery):
    mx = delivery.mx("127.0.0.2", data_delay=0.6)
    srv = delivery.server(delivery__connections_per_destination="2")
    delivery.dns.set("remote.test. MX 10 mx.remote.test.", "mx.remote.test. A 127.0.0.2",
                     *SENDER_MX)
    for i in range(6):
        delivery.submit(srv, "bob%d@remote.test" % i, make_message(subject="n%d" % i))
    got = mx.wait(6, timeout=30)
    assert sorted(r for d in got for r in d.rcpt_tos) == ["bob%d@remote.test" % i
                                                          for i in range(6)]
    # two at a time: the limit, and used
    assert most_at_once(mx.events) == 2, mx.events


def test_at_the_limit_in_all_an_idle_connection_is_closed_for_another_destination(
        delivery):
    a = delivery.mx("127.0.0.2")
    b = delivery.mx("127.0.0.4")
    srv = delivery.server(delivery__connections="1")
    delivery.dns.set("a.test. MX 10 mx.a.test.", "mx.a.test. A 127.0.0.2",
                     "b.test. MX 10 mx.b.test.", "mx.b.test. A 127.0.0.4", *SENDER_MX)
    delivery.submit(srv, "bob@a.test", make_message(to="bob@a.test", subject="to a"))
    first = a.wait(1, timeout=20)[0]
    delivery.submit(srv, "carol@b.test", make_message(to="carol@b.test", subject="to b"))
    second = b.wait(1, timeout=20)[0]
    # the connection to a.test stays open idle for 5 s; the message to
    # b.test must not wait for that: the idle one is closed to make room
    assert second.at - first.at < 4, (first.at, second.at)
    wait_until(lambda: srv.log().count("delivery.attempt") >= 2, 10, "two attempt lines")
