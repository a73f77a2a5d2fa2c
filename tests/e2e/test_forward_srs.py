"""Bounces to SRS addresses (issue 14): the MX of a hosted domain takes a
message to an SRS0/SRS1 address of its own making (made here with the
secret the test's postern generated, by an independent encoder,
srs_ref.py, on Python's hmac), and relays it to the address it decodes
to, the envelope sender kept (<> for a bounce); a forged or expired SRS
address is refused at RCPT with 550 5.1.1.
"""
import stat
import time

from fixtures_smtp import make_message, queue_id
import srs_ref

ZONE = (
    "sender.test. MX 10 mx.sender.test.",
    "mx.sender.test. A 127.0.0.2",
    "first.test. MX 10 mx.first.test.",
    "mx.first.test. A 127.0.0.3",
)
MAILBOX = {"mailbox__lmtp": "unix:/nonexistent/postern-test-lmtp"}
DAY = 86400


def secret(srv):
    """The SRS secret postern init made: its first line."""
    path = srv.data / "srs.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path.read_text().splitlines()[0].strip()


def outsider(srv):
    c = srv.client("smtp")
    c.ehlo("mx.remote-mta.test")
    return c


def bounce(to):
    return make_message(frm="MAILER-DAEMON@mx.remote-mta.test", to=to,
                        subject="Undelivered Mail Returned to Sender")


def world(delivery):
    mx1 = delivery.mx("127.0.0.2")
    mx2 = delivery.mx("127.0.0.3")
    srv = delivery.server(**MAILBOX)
    delivery.dns.set(*ZONE)
    return srv, mx1, mx2


def test_a_bounce_to_an_srs0_address_reaches_the_original_sender(delivery):
    srv, mx1, _ = world(delivery)
    addr = srs_ref.srs0(secret(srv), "Orig.Sender@sender.test", "example.org",
                        time.time())
    c = outsider(srv)
    r = c.mail("", addr, bounce(addr))
    assert r.code == 250, r
    qid = queue_id(r)
    got = mx1.wait(1, timeout=30)[0]
    assert got.mail_from == "", "the bounce keeps its null sender"
    assert got.rcpt_tos == ["Orig.Sender@sender.test"]
    assert b"Undelivered Mail Returned to Sender" in got.content
    # relayed as mail from outside: never signed as ours
    assert b"DKIM-Signature:" not in got.content.split(b"\r\n\r\n")[0]
    assert "queue=%s" % qid in srv.log()
    assert "result=ok bounce_to=<Orig.Sender@sender.test>" in srv.log()


def test_an_srs_address_changed_in_case_or_separator_still_decodes(delivery):
    srv, mx1, _ = world(delivery)
    addr = srs_ref.srs0(secret(srv), "bob@sender.test", "example.net",
                        time.time() - 20 * DAY)
    local, domain = addr.rsplit("@", 1)
    c = outsider(srv)
    assert c.cmd("MAIL FROM:<>").code == 250
    # a mail system upper-cased it; another one wrote + after SRS0
    for a in (addr.upper(), "SRS0+" + local[5:] + "@" + domain):
        r = c.cmd("RCPT TO:<%s>" % a)
        assert r.code == 250, "RCPT TO:<%s>: %s" % (a, r)
    assert c.data(bounce(addr)).code == 250
    got = mx1.wait(1, timeout=30)[0]
    assert sorted(x.lower() for x in got.rcpt_tos) == ["bob@sender.test"] * 2


def test_a_bounce_to_an_srs1_address_goes_back_to_the_first_forwarder(delivery):
    srv, _, mx2 = world(delivery)
    first = "SRS0=abcd=2W=orig.test=carol@first.test"
    addr = srs_ref.srs1(secret(srv), first, "example.org")
    assert addr.startswith("SRS1=")
    c = outsider(srv)
    r = c.mail("", addr, bounce(addr))
    assert r.code == 250, r
    got = mx2.wait(1, timeout=30)[0]
    assert got.mail_from == ""
    assert got.rcpt_tos == [first]


def test_any_sender_may_write_to_an_srs_address(delivery):
    srv, mx1, _ = world(delivery)
    addr = srs_ref.srs0(secret(srv), "dave@sender.test", "example.org",
                        time.time())
    c = outsider(srv)
    r = c.mail("postmaster@remote-mta.test", addr, bounce(addr))
    assert r.code == 250, r
    got = mx1.wait(1, timeout=30)[0]
    assert got.mail_from == "postmaster@remote-mta.test"
    assert got.rcpt_tos == ["dave@sender.test"]


def test_forged_and_expired_srs_addresses_are_refused_at_rcpt(delivery):
    srv, mx1, _ = world(delivery)
    key = secret(srv)
    good = srs_ref.srs0(key, "erin@sender.test", "example.org", time.time())
    local, domain = good.rsplit("@", 1)
    h = local[5:9]
    forged_hash = "SRS0=%s%s@%s" % ("AAAA" if h.upper() != "AAAA" else "BBBB",
                                    local[9:], domain)
    forged_target = good.replace("=erin@", "=mallory@")
    other_key = srs_ref.srs0("not-the-secret", "erin@sender.test", "example.org",
                             time.time())
    malformed = "SRS0=%s=%s@%s" % (h, "sender.test", domain)
    expired = srs_ref.srs0(key, "erin@sender.test", "example.org",
                           time.time() - 22 * DAY)
    c = outsider(srv)
    assert c.cmd("MAIL FROM:<>").code == 250
    for a in (forged_hash, forged_target, other_key, malformed):
        r = c.cmd("RCPT TO:<%s>" % a)
        assert r.code == 550 and r.enh == "5.1.1", "RCPT TO:<%s>: %s" % (a, r)
        assert "forged or malformed SRS address" in r.text, r
    r = c.cmd("RCPT TO:<%s>" % expired)
    assert r.code == 550 and r.enh == "5.1.1", r
    assert "SRS address expired" in r.text, r
    assert c.cmd("DATA").code == 554
    c.close()
    time.sleep(0.5)
    assert mx1.received == []
    log = srv.log()
    assert log.count("smtp.srs ") == 5 and log.count("result=forged") == 4, log
    assert "to=<%s> result=expired" % expired in log, log
    # the secret is nobody's business: never in the log
    assert key not in log


def test_an_srs_address_at_a_domain_not_hosted_here_is_not_relayed(delivery):
    srv, _, _ = world(delivery)
    addr = srs_ref.srs0(secret(srv), "frank@sender.test", "remote.test",
                        time.time())
    c = outsider(srv)
    assert c.cmd("MAIL FROM:<>").code == 250
    r = c.cmd("RCPT TO:<%s>" % addr)
    assert r.code == 554 and r.enh == "5.7.1", r


def test_queue_list_names_where_an_srs_bounce_goes(delivery):
    srv = delivery.server(**MAILBOX)
    # an MX that does not answer: the bounce waits in the queue
    delivery.dns.set("sender.test. MX 10 mx.sender.test.",
                     "mx.sender.test. A 127.0.0.9")
    addr = srs_ref.srs0(secret(srv), "gina@sender.test", "example.org",
                        time.time())
    c = outsider(srv)
    r = c.mail("", addr, bounce(addr))
    assert r.code == 250, r
    qid = queue_id(r)
    m = [x for x in srv.cli("queue", "list")["queue"] if x["id"] == qid]
    assert m, "%s not in the queue" % qid
    assert m[0]["rcpts"] == [addr]
    assert m[0]["dests"] == ["sender.test"]
    assert m[0]["mailboxes"] == ["gina@sender.test"]
    text = srv.cli("queue", "list", json=False)
    assert "%s (bounce to gina@sender.test via sender.test)" % addr in text, text


def test_an_older_setup_gets_its_srs_secret_at_first_start(delivery):
    """A setup made before the SRS secret existed: serve makes it, 0600,
    and the bounces it decodes are made with it."""
    mx1 = delivery.mx("127.0.0.2")
    srv = delivery.server(start=False, **MAILBOX)
    delivery.dns.set(*ZONE)
    (srv.data / "srs.key").unlink()
    srv.start()
    addr = srs_ref.srs0(secret(srv), "hal@sender.test", "example.org", time.time())
    r = outsider(srv).mail("", addr, bounce(addr))
    assert r.code == 250, r
    assert mx1.wait(1, timeout=30)[0].rcpt_tos == ["hal@sender.test"]


def test_an_srs_secret_readable_by_others_stops_the_start(delivery):
    import os
    import subprocess
    from fixtures_smtp import POSTERN_BIN, env_for_postern
    srv = delivery.server(start=False, **MAILBOX)
    key = srv.data / "srs.key"
    os.chmod(key, 0o644)
    p = subprocess.run([POSTERN_BIN, "-c", str(srv.conf), "serve"], capture_output=True,
                       timeout=20, env=env_for_postern(), stdin=subprocess.DEVNULL)
    out = (p.stdout + p.stderr).decode()
    assert p.returncode != 0, out
    assert "SRS secret" in out and "chmod 600" in out, out
    assert key.read_text().strip() not in out
