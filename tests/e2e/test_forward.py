"""
Forwarding (issue 14): a user's mail forwarded to addresses elsewhere.
A new target gets a confirmation link by mail and nothing until it is
confirmed (a POST, as the panel's page sends it). Then mail that reaches
the user through the MX is sent on to each target's MX with an SRS
envelope sender at the user's domain, its own DKIM signature intact and
an ARC set that verifies; the mailbox keeps a copy or not (the mode);
spam goes to the Junk folder and never leaves; a message that comes back
through the same forwarding is bounced (5.4.6); the copies to one target
domain wait in the queue past [forward] max_per_domain_per_hour.
"""
import base64
import re
import signal
import subprocess
import time

import dkim
import pytest

from fixtures_delivery import attempts, bounces, parse_message, spool_files, wait_until
from fixtures_http import Api
from fixtures_smtp import HOSTNAME, make_message

ZONE = (
    # the world that writes to alice: SPF, a DKIM key (added per test)
    'sender.test. TXT "v=spf1 ip4:127.0.0.1 -all"',
    '_dmarc.sender.test. TXT "v=DMARC1; p=none"',
    # where alice forwards to: a test MX
    "target.test. MX 10 mx.target.test.",
    "mx.target.test. A 127.0.0.2",
    "other.test. MX 10 mx.other.test.",
    "mx.other.test. A 127.0.0.3",
    # where bounces to sender.test go
    "sender.test. MX 10 mx.sender.test.",
    "mx.sender.test. A 127.0.0.4",
    # quar.test: fails DMARC under p=quarantine (junk)
    'quar.test. TXT "v=spf1 -all"',
    '_dmarc.quar.test. TXT "v=DMARC1; p=quarantine"',
)


def rsa_key():
    """(private key PEM, public key base64 for p=), made by openssl."""
    pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem,
                         capture_output=True, check=True).stdout
    return pem, base64.b64encode(der).decode()


class World:
    """postern (example.org with alice, DKIM rsa, the panel on plain
    HTTP) as the MX of example.org, the DNS fixture, a test MX for
    target.test and one for other.test; sender.test signs with a key the
    DNS publishes."""

    def __init__(self, delivery, dovecot=None, **conf):
        self.delivery = delivery
        self.pem, pub = rsa_key()
        self.mx = delivery.mx("127.0.0.2")
        self.other = delivery.mx("127.0.0.3")
        self.sender_mx = delivery.mx("127.0.0.4")
        lmtp = dovecot.lmtp if dovecot else "unix:/nonexistent/postern-test-lmtp"
        self.srv = srv = delivery.server(dkim="rsa", start=False, mailbox__lmtp=lmtp,
                                         http__tls="off", **conf)
        srv.conf_set("panel", "url", "http://127.0.0.1:%d/" % srv.ports["http"])
        srv.start()
        delivery.dns.set(*(ZONE + ('sel._domainkey.sender.test. TXT "v=DKIM1; k=rsa; p=%s"'
                                   % pub,) + tuple(delivery.dkim_records(srv))))

    def api(self, key=None):
        return Api(self.srv.ports["http"])

    def confirmation(self, target, mx=None):
        """The confirmation message mailed to target, and its token."""
        mx = mx or self.mx
        got = wait_until(lambda: [d for d in mx.received if target in d.rcpt_tos
                                  and b"#forward=" in d.content], 20,
                         "a confirmation for %s" % target)
        d = got[-1]
        m = re.search(rb"(http://127\.0\.0\.1:\d+)/#forward=([A-Za-z0-9]+)", d.content)
        assert m, d.content
        return d, m.group(1).decode(), m.group(2).decode()

    def confirm(self, target, mx=None, user="alice@example.org"):
        """Follow the link as the page does: look, then POST."""
        _, base, token = self.confirmation(target, mx)
        api = self.api()
        shown = api.get("/api/v1/forward/confirm?token=" + token)
        assert shown.status == 200, shown.body
        assert shown.json == {"address": user, "target": target}
        r = api.post("/api/v1/forward/confirm", {"token": token})
        assert r.status == 200, r.body
        return token

    def send(self, subject, rcpt="alice@example.org", frm="friend@sender.test", extra=b"",
             sign=True, seal=None):
        """A message from sender.test, DKIM-signed, through the MX."""
        msg = (extra + b"From: Friend <%s>\r\nTo: <%s>\r\nSubject: %s\r\n"
               b"Date: Tue, 01 Oct 2024 10:00:00 +0000\r\n"
               b"Message-ID: <%s.%d@sender.test>\r\n\r\nHello, forwarded world.\r\n"
               % (frm.encode(), rcpt.encode(), subject.encode(),
                  subject.replace(" ", "-").encode(), time.monotonic_ns()))
        sig = dkim.sign(msg, b"sel", b"sender.test", self.pem,
                        include_headers=[b"from", b"to", b"subject", b"date",
                                         b"message-id"]) if sign else b""
        c = self.srv.client("smtp")
        c.ehlo("mail.sender.test")
        assert c.cmd("MAIL FROM:<%s>" % frm).code == 250
        r = c.cmd("RCPT TO:<%s>" % rcpt)
        assert r.code == 250, r
        r = c.data(seal(sig + msg) if seal else sig + msg)
        assert r.code == 250, r
        c.cmd("QUIT")
        return sig + msg


def forwarded(mx, subject, count=1, timeout=20):
    """The copies with this subject at a test MX."""
    return wait_until(lambda: (lambda got: got if len(got) >= count else None)(
        [d for d in mx.received if b"Subject: " + subject.encode() in d.content]),
        timeout, "%d forwarded copies of %r" % (count, subject))


def test_a_target_is_confirmed_by_a_link_before_anything_is_forwarded(delivery):
    w = World(delivery)
    srv = w.srv
    out = srv.cli("user", "forward", "add", "alice@example.org", "friend@target.test")
    assert out["status"] == "pending"
    d, base, token = w.confirmation("friend@target.test")
    # from the user's domain, signed by it, sent with the null sender
    m = parse_message(d.content)
    assert m["From"].endswith("<postmaster@example.org>"), m["From"]
    assert "alice@example.org" in m["Subject"]
    assert d.mail_from == ""
    assert dkim.verify(d.content, dnsfunc=delivery.dns.dkim_dnsfunc())
    assert base == "http://127.0.0.1:%d" % srv.ports["http"]
    listed = srv.cli("user", "forward", "list", "alice@example.org")
    assert [(t["target"], t["status"]) for t in listed["targets"]] == \
        [("friend@target.test", "pending")]
    assert listed["mode"] == "keep"

    # unconfirmed: a message to alice goes to her mailbox only
    w.send("before the confirmation")
    srv.wait_log(r"delivery\.attempt queue=\S+ to=<alice@example.org> .*result=deferred",
                 timeout=20)
    assert not [x for x in w.mx.received if b"before the confirmation" in x.content]

    # a GET shows what the link confirms, and confirms nothing
    api = w.api()
    assert api.get("/api/v1/forward/confirm?token=" + token).status == 200
    assert srv.cli("user", "forward", "list", "alice@example.org")["targets"][0]["status"] \
        == "pending"
    # a wrong token, a malformed one: gone (410)
    assert api.post("/api/v1/forward/confirm", {"token": "x" * 32}).status == 410
    assert api.post("/api/v1/forward/confirm", {"token": "../etc"}).status == 410
    r = api.post("/api/v1/forward/confirm", {"token": token})
    assert r.status == 200 and r.json["status"] == "confirmed", r.body
    # single use
    assert api.post("/api/v1/forward/confirm", {"token": token}).status == 410
    assert api.get("/api/v1/forward/confirm?token=" + token).status == 410
    listed = srv.cli("user", "forward", "list", "alice@example.org")
    assert listed["targets"][0]["status"] == "confirmed"
    assert re.search(r"forward\.confirm user=alice@example.org target=<friend@target.test>",
                     srv.log())
    assert token not in srv.log()


def test_a_forwarded_message_keeps_its_dkim_and_gets_srs_and_arc(delivery):
    w = World(delivery)
    srv = w.srv
    srv.cli("user", "forward", "add", "alice@example.org", "friend@target.test")
    w.confirm("friend@target.test")
    srv.cli("user", "forward", "mode", "alice@example.org", "only")
    original = w.send("forward me")
    (d,) = forwarded(w.mx, "forward me")
    assert d.rcpt_tos == ["friend@target.test"]
    # SRS: the envelope sender is at alice's domain, and names the original
    assert re.match(r"(?i)^SRS0[=+-][^@]+=sender\.test=friend@example\.org$", d.mail_from), \
        d.mail_from
    m = parse_message(d.content)
    assert m["Delivered-To"] == "alice@example.org"
    # the body and the signed header fields are as they were sent
    assert d.content.endswith(original.split(b"\r\n\r\n", 1)[1])
    assert dkim.verify(d.content, dnsfunc=delivery.dns.dkim_dnsfunc()), "DKIM broken"
    # ARC: one set by postern, for example.org, whose chain passes
    assert m["ARC-Seal"] and "i=1" in m["ARC-Seal"] and "d=example.org" in m["ARC-Seal"]
    assert "spf=pass" in m["ARC-Authentication-Results"]
    cv, results, why = dkim.arc_verify(d.content, dnsfunc=delivery.dns.dkim_dnsfunc())
    assert cv == dkim.CV_Pass, (cv, results, why)
    # never signed with DKIM by postern: the sender's signature is the one
    assert len(m.get_all("DKIM-Signature")) == 1
    log = srv.log()
    assert re.search(r"forward\.copy queue=\S+ copy=\S+ user=<alice@example.org> "
                     r"to=<friend@target.test> from=<SRS0", log), log


def inbox_subjects(dovecot, address):
    return [parse_message(raw)["Subject"] for raw in dovecot.inbox(address)]


def test_keep_a_copy_or_forward_only(delivery, dovecot):
    dovecot.add_user("alice@example.org")
    dovecot.start()
    w = World(delivery, dovecot)
    srv = w.srv
    srv.cli("user", "forward", "add", "alice@example.org", "friend@target.test")
    srv.cli("user", "forward", "add", "alice@example.org", "me@other.test")
    w.confirm("friend@target.test")
    w.confirm("me@other.test", mx=w.other)

    # keep (the default): a copy in the INBOX and one at each target
    w.send("kept and forwarded")
    (m,) = dovecot.wait_inbox("alice@example.org", 1)
    assert m["Subject"] == "kept and forwarded"
    # the mailbox copy is the message as it came: no forwarding marks
    assert m["ARC-Seal"] is None and m.get_all("Delivered-To") == ["alice@example.org"]
    assert m["Return-Path"] == "<friend@sender.test>"
    (a,) = forwarded(w.mx, "kept and forwarded")
    (b,) = forwarded(w.other, "kept and forwarded")
    assert a.rcpt_tos == ["friend@target.test"] and b.rcpt_tos == ["me@other.test"]
    assert a.mail_from == b.mail_from and a.mail_from.lower().startswith("srs0")

    # forward only: the targets get it, the INBOX does not
    out = srv.cli("user", "forward", "mode", "alice@example.org", "only")
    assert out["mode"] == "only"
    w.send("forwarded only")
    forwarded(w.mx, "forwarded only")
    forwarded(w.other, "forwarded only")
    srv.wait_log(r"forward\.copy .*to=<me@other.test>", count=2, timeout=20)
    time.sleep(1)
    assert inbox_subjects(dovecot, "alice@example.org") == ["kept and forwarded"]

    # a removed target gets nothing more
    srv.cli("user", "forward", "remove", "alice@example.org", "me@other.test")
    w.send("after the removal")
    forwarded(w.mx, "after the removal")
    time.sleep(1)
    assert not [d for d in w.other.received if b"after the removal" in d.content]


def test_junk_is_never_forwarded_it_stays_in_the_junk_folder(delivery, dovecot):
    dovecot.add_user("alice@example.org")
    dovecot.start()
    w = World(delivery, dovecot)
    srv = w.srv
    srv.cli("user", "forward", "add", "alice@example.org", "friend@target.test")
    w.confirm("friend@target.test")
    srv.cli("user", "forward", "mode", "alice@example.org", "only")
    w.send("suspicious", frm="someone@quar.test", sign=False)
    srv.wait_log(r"forward\.skip queue=\S+ user=<alice@example.org> reason=junk", timeout=20)
    junk = dovecot.maildir("alice@example.org") / ".Junk" / "new"
    wait_until(lambda: junk.exists() and len(list(junk.iterdir())) == 1, 20,
               "the message in alice's Junk folder")
    assert b"Subject: suspicious" in next(junk.iterdir()).read_bytes()
    # a good message after it is forwarded; the junk never was
    w.send("fine")
    forwarded(w.mx, "fine")
    assert not [d for d in w.mx.received if b"suspicious" in d.content]
    assert dovecot.inbox("alice@example.org") == []


def test_a_two_hop_loop_is_stopped_with_a_bounce(delivery, dovecot):
    """alice@example.org forwards to bob@example.com and bob back to
    alice, both on this postern: the message goes round once, and comes
    back to the sender as a DSN (5.4.6), the SRS addresses undone."""
    for u in ("alice@example.org", "bob@example.com"):
        dovecot.add_user(u)
    dovecot.start()
    w = World(delivery, dovecot)
    srv = w.srv
    srv.cli("domain", "add", "example.com", "--dkim", "ed25519")
    srv.cli("user", "add", "bob@example.com")

    def token_in(address):
        msgs = [raw for raw in dovecot.inbox(address) if b"#forward=" in raw]
        assert msgs, "no confirmation in %s's INBOX" % address
        return re.search(rb"#forward=([A-Za-z0-9]+)", msgs[-1]).group(1).decode()

    api = w.api()
    srv.cli("user", "forward", "add", "alice@example.org", "bob@example.com")
    dovecot.wait_inbox("bob@example.com", 1)
    assert api.post("/api/v1/forward/confirm", {"token": token_in("bob@example.com")}).status \
        == 200
    srv.cli("user", "forward", "add", "bob@example.com", "alice@example.org")
    dovecot.wait_inbox("alice@example.org", 1)
    assert api.post("/api/v1/forward/confirm",
                    {"token": token_in("alice@example.org")}).status == 200

    w.send("round and round")
    # the sender hears of the loop, at its own address
    got = wait_until(lambda: [d for d in w.sender_mx.received if d.mail_from == ""], 30,
                     "a DSN at the sender's MX")
    (dsn,) = got
    assert dsn.rcpt_tos == ["friend@sender.test"]
    text = dsn.content.decode(errors="replace")
    assert "5.4.6" in text and "loop" in text, text
    # each mailbox kept one copy; nothing more goes round
    time.sleep(2)
    assert inbox_subjects(dovecot, "alice@example.org").count("round and round") == 1
    assert inbox_subjects(dovecot, "bob@example.com").count("round and round") == 1
    log = srv.log()
    # (the copies of the message, not of the confirmations: from=<>)
    assert len(re.findall(r"forward\.copy .*to=<bob@example.com> from=<SRS0", log)) == 1, log
    assert len(re.findall(r"forward\.copy .*to=<alice@example.org> from=<SRS1", log)) == 1, log
    assert len([d for d in w.sender_mx.received]) == 1


def test_copies_over_the_hourly_limit_per_domain_wait_in_the_queue(delivery):
    w = World(delivery, forward__max_per_domain_per_hour="2")
    srv = w.srv
    srv.cli("user", "forward", "add", "alice@example.org", "friend@target.test")
    w.confirm("friend@target.test")
    for i in range(3):
        w.send("limited %d" % i)
    srv.wait_log(r"delivery\.attempt queue=(\S+) to=<friend@target.test> .*"
                 r"reply=\"451 4\.7\.1 forwarding to target\.test: over 2 copies this hour",
                 timeout=20)
    time.sleep(1)
    got = [d for d in w.mx.received if b"Subject: limited" in d.content]
    assert len(got) == 2, [d.content[:200] for d in got]
    # the third waits in the queue, a forwarded copy, deferred, not dropped
    listed = [m for m in srv.cli("queue", "list")["queue"] if m.get("forwarded_by")]
    assert len(listed) == 1 and listed[0]["forwarded_by"] == "alice@example.org"
    assert listed[0]["rcpts"] == ["friend@target.test"]
    text = srv.cli("queue", "list", json=False)
    assert "(forwarded for alice@example.org)" in text, text
    # another domain has a share of its own; a higher limit lets it go
    srv.conf_set("forward", "max_per_domain_per_hour", "100")
    srv.signal(signal.SIGHUP)
    srv.wait_log(r"server\.reload", timeout=10)
    srv.cli("queue", "flush", json=False)
    forwarded(w.mx, "limited", count=3)


def test_the_operator_api_and_the_cli_manage_forwarding(delivery):
    w = World(delivery)
    srv = w.srv
    srv.cli("api-key", "add", "ops")
    key = srv.cli("api-key", "add", "fwd")["key"]
    api = Api(srv.ports["http"], key=key)
    r = api.post("/api/v1/users/alice@example.org/forward", {"target": "Friend@Target.TEST"})
    assert r.status == 201, r.body
    # the domain in its canonical spelling, the local part as given
    assert r.json["target"] == "Friend@target.test" and r.json["status"] == "pending"
    # the same address again (any case): a new link, still one target
    assert api.post("/api/v1/users/alice@example.org/forward",
                    {"target": "friend@target.test"}).status == 201
    got = api.ok("GET", "/api/v1/users/alice@example.org/forward")
    assert [t["target"] for t in got["targets"]] == ["Friend@target.test"]
    assert got["mode"] == "keep" and got["max_targets"] == 10
    # only the newest link works
    wait_until(lambda: len([d for d in w.mx.received if b"#forward=" in d.content]) == 2, 20,
               "two confirmations")
    first, second = [re.search(rb"#forward=([A-Za-z0-9]+)", d.content).group(1).decode()
                     for d in w.mx.received if b"#forward=" in d.content]
    assert api.post("/api/v1/forward/confirm", {"token": first}).status == 410
    assert api.post("/api/v1/forward/confirm", {"token": second}).status == 200
    assert api.post("/api/v1/users/alice@example.org/forward",
                    {"target": "friend@target.test"}).status == 409
    # refused: the user's own names, not an address, too many
    for bad, status in (("alice@example.net", 400), ("ALICE@example.org", 400), ("nobody@example.org", 400),
                        ("no address", 400), ("a@b@c.test", 400), ("ü@target.test", 400)):
        r = api.post("/api/v1/users/alice@example.org/forward", {"target": bad})
        assert r.status == status, (bad, r.status, r.body)
    for i in range(9):
        assert api.post("/api/v1/users/alice@example.org/forward",
                        {"target": "t%d@target.test" % i}).status == 201
    r = api.post("/api/v1/users/alice@example.org/forward", {"target": "t10@target.test"})
    assert r.status == 409 and "10" in r.json["error"], r.body
    r = api.put("/api/v1/users/alice@example.org/forward/mode", {"mode": "only"})
    assert r.status == 200 and r.json["mode"] == "only", r.body
    assert api.put("/api/v1/users/alice@example.org/forward/mode",
                   {"mode": "sometimes"}).status == 400
    r = api.delete("/api/v1/users/alice@example.org/forward/t3@target.test")
    assert r.status == 200, r.body
    assert api.delete("/api/v1/users/alice@example.org/forward/t3@target.test").status == 404
    assert len(srv.cli("user", "forward", "list", "alice@example.org")["targets"]) == 9
    # the CLI's text
    text = srv.cli("user", "forward", "list", "alice@example.org", json=False)
    assert "mode: only" in text and "target=Friend@target.test  status=confirmed" in text, text
    rc, _, err = srv.cli_run("user", "forward", "mode", "alice@example.org", "sometimes")
    assert rc == 1 and "keep" in err
    # links fill a stranger's mailbox: 20 a day for one user, however
    # they are asked for (11 so far)
    codes = [api.post("/api/v1/users/alice@example.org/forward",
                      {"target": "t0@target.test"}).status for _ in range(10)]
    assert codes == [201] * 9 + [429], codes
    # no session, no key: nothing
    assert Api(srv.ports["http"]).get("/api/v1/users/alice@example.org/forward").status == 401
    # a removed user takes their targets along
    srv.cli("user", "remove", "alice@example.org")
    srv.cli("user", "add", "alice@example.org")
    assert srv.cli("user", "forward", "list", "alice@example.org")["targets"] == []


def test_forwarded_twice_here_the_arc_chain_grows_and_still_passes(delivery, dovecot):
    """alice@example.org forwards to bob@example.com (hosted here too),
    who forwards to friend@target.test: two ARC sets, both ours, the
    second sealing the first with cv=pass; SRS1 names the first hop."""
    dovecot.add_user("bob@example.com")
    dovecot.start()
    w = World(delivery, dovecot)
    srv = w.srv
    srv.cli("domain", "add", "example.com", "--dkim", "rsa")
    srv.cli("user", "add", "bob@example.com")
    delivery.dns.add(*delivery.dkim_records(srv, "example.com"))
    srv.cli("user", "forward", "add", "alice@example.org", "bob@example.com")
    (c,) = dovecot.wait_inbox("bob@example.com", 1)
    token = re.search(r"#forward=([A-Za-z0-9]+)", c.get_payload()).group(1)
    assert w.api().post("/api/v1/forward/confirm", {"token": token}).status == 200
    srv.cli("user", "forward", "add", "bob@example.com", "friend@target.test")
    w.confirm("friend@target.test", user="bob@example.com")
    srv.cli("user", "forward", "mode", "alice@example.org", "only")
    srv.cli("user", "forward", "mode", "bob@example.com", "only")
    w.send("two hops")
    (d,) = forwarded(w.mx, "two hops")
    assert re.match(r"(?i)^SRS1[=+-][^@]+=example\.org==[^@]+@example\.com$", d.mail_from), \
        d.mail_from
    m = parse_message(d.content)
    assert m.get_all("Delivered-To") == ["bob@example.com", "alice@example.org"]
    seals = m.get_all("ARC-Seal")
    assert len(seals) == 2 and "cv=pass" in seals[0].replace(" ", "") and "d=example.com" in seals[0]
    cv, results, why = dkim.arc_verify(d.content, dnsfunc=delivery.dns.dkim_dnsfunc())
    assert cv == dkim.CV_Pass, (cv, results, why)
    assert dkim.verify(d.content, dnsfunc=delivery.dns.dkim_dnsfunc())
    assert dovecot.inbox("bob@example.com")[1:] == []


def test_a_chain_it_came_with_is_sealed_again_with_what_the_mx_found(delivery):
    """A list (sender.test here) sealed the message once; the MX
    validates that chain (arc=pass), and the forwarded copy's set says
    cv=pass: dkimpy verifies the chain of two."""
    from test_inbound_arc import seal
    w = World(delivery)
    srv = w.srv
    srv.cli("user", "forward", "add", "alice@example.org", "friend@target.test")
    w.confirm("friend@target.test")
    w.send("through a list", seal=lambda m: seal(m, w.pem, b"sender.test", b"sel",
                                                 b"spf=pass smtp.mailfrom=sender.test"))
    (d,) = forwarded(w.mx, "through a list")
    m = parse_message(d.content)
    seals = m.get_all("ARC-Seal")
    assert len(seals) == 2, seals
    assert "i=2" in seals[0] and "cv=pass" in seals[0].replace(" ", ""), seals[0]
    assert "arc=pass" in m["ARC-Authentication-Results"]
    cv, results, why = dkim.arc_verify(d.content, dnsfunc=delivery.dns.dkim_dnsfunc())
    assert cv == dkim.CV_Pass, (cv, results, why)
    assert dkim.verify(d.content, dnsfunc=delivery.dns.dkim_dnsfunc())
