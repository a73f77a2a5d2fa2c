"""
The HTTP server under slow and many connections: at most [http]
connections_per_ip open from one client address (more are closed at
once), and a whole request within [http] request_timeout however slowly
its bytes come (a client dripping one header byte at a time is closed),
while other clients are served.
"""
import http.client
import select
import socket
import time

SLOW_HEAD = b"GET /api/v1/about HTTP/1.1\r\nHost: mail.example.test\r\nX-Slow: " + b"a" * 200


def closed(s):
    """Has the server closed s (EOF or reset)? Never blocks (a socket
    with a timeout would wait in recv whatever the flags say)."""
    if not select.select([s], [], [], 0)[0]:
        return False
    try:
        return s.recv(4096, socket.MSG_PEEK) == b""
    except OSError:
        return True


def about_from(port, src):
    """GET /api/v1/about from the loopback address src: the status."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(src, 0))
    try:
        c.request("GET", "/api/v1/about")
        return c.getresponse().status
    finally:
        c.close()


def test_slow_connections_from_one_address_are_capped_and_closed_at_the_deadline(
        http_server_factory):
    cap, deadline, extra = 5, 2, 3
    srv = http_server_factory(http__connections_per_ip=str(cap),
                              http__request_timeout="%ds" % deadline)
    port = srv.ports["http"]
    start = time.monotonic()
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5)
             for _ in range(cap + extra)]
    gone = {}  # index -> seconds after start when the server closed it
    i = 0
    served_meanwhile = None
    while len(gone) < len(socks) and time.monotonic() - start < deadline + 4:
        for k, s in enumerate(socks):
            if k in gone:
                continue
            if closed(s):
                gone[k] = time.monotonic() - start
                continue
            try:  # one more byte of the head
                s.send(SLOW_HEAD[i % len(SLOW_HEAD):i % len(SLOW_HEAD) + 1])
            except OSError:
                gone[k] = time.monotonic() - start
        if served_meanwhile is None and time.monotonic() - start > 0.5:
            # another address is served while 127.0.0.1 is at its cap
            served_meanwhile = about_from(port, "127.0.0.2")
        i += 1
        time.sleep(0.25)
    for s in socks:
        s.close()
    early = sorted(t for t in gone.values() if t < deadline - 0.5)
    late = sorted(t for t in gone.values() if t >= deadline - 0.5)
    assert len(gone) == cap + extra, "still open after %.1f s: %s" % (
        time.monotonic() - start, sorted(set(range(len(socks))) - set(gone)))
    assert len(early) == extra, gone      # over the cap: closed at once
    assert len(late) == cap and late[-1] < deadline + 2, gone  # the deadline
    assert served_meanwhile == 200
    log = srv.log()
    assert log.count("http.refused ip=127.0.0.1 reason=connection_limit") == extra
    assert log.count("http.close ip=127.0.0.1 reason=request_timeout") == cap
    # and 127.0.0.1 is served again afterwards
    assert about_from(port, "127.0.0.1") == 200


def test_kept_alive_connection_gets_a_new_deadline_for_each_request(http_server_factory):
    srv = http_server_factory(http__request_timeout="2s")
    c = http.client.HTTPConnection("127.0.0.1", srv.ports["http"], timeout=10)
    try:
        for _ in range(3):  # 3 requests 1.2 s apart: 3.6 s on one connection
            c.request("GET", "/api/v1/about")
            r = c.getresponse()
            r.read()
            assert r.status == 200
            time.sleep(1.2)
        sock = c.sock
        assert sock is not None and not closed(sock)
        time.sleep(1.5)  # idle past the deadline since the last answer
        assert closed(sock)
    finally:
        c.close()


def test_over_https_a_silent_handshake_is_capped_and_closed_at_the_deadline(
        http_server_factory):
    srv = http_server_factory(tls=True, http__connections_per_ip="2",
                              http__request_timeout="2s")
    port = srv.ports["http"]
    start = time.monotonic()
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
    gone = {}
    while len(gone) < 3 and time.monotonic() - start < 6:
        for k, s in enumerate(socks):
            if k not in gone and closed(s):
                gone[k] = time.monotonic() - start
        time.sleep(0.1)
    for s in socks:
        s.close()
    times = sorted(gone.values())
    assert len(times) == 3 and times[0] < 1 and 1.5 <= times[1] <= times[2] < 4, gone
    assert srv.api(key=None).get("/api/v1/about").status == 200
