"""
Delivery to the recipient's MX, signed: a client submits (STARTTLS + AUTH
with the SMTP password of `postern user add --json`), postern finds the MX
of remote.test in the test DNS, delivers, and dkimpy verifies the
signatures with the TXT records printed by `postern domain dns`, served by
the same DNS server.
"""
import os
import random
import re
import time

import dkim
import pytest

from fixtures_delivery import attempts, mx_tls_context, parse_message, spool_files
from fixtures_smtp import HOSTNAME, make_message

REMOTE_ZONE = ("remote.test. MX 10 mx1.remote.test.", "mx1.remote.test. A 127.0.0.2")


def dkim_tags(raw):
    """The tags of each DKIM-Signature of a message, in order."""
    msg = parse_message(raw)
    out = []
    for v in msg.get_all("DKIM-Signature") or []:
        v = re.sub(r"\s+", "", v)
        out.append(dict(t.split("=", 1) for t in v.split(";") if "=" in t))
    return out


def verify_each(raw, dns):
    """dkimpy's verdict on every DKIM-Signature of raw (a list of bools),
    keys looked up in the test DNS server."""
    out = []
    for i in range(len(dkim_tags(raw))):
        try:
            out.append(dkim.DKIM(raw, minkey=1024).verify(idx=i, dnsfunc=dns.dkim_dnsfunc()))
        except dkim.DKIMException:
            out.append(False)
    return out


@pytest.mark.parametrize("mode,frm,domain,algs", [
    ("rsa", "alice@example.org", "example.org", ["rsa-sha256"]),
    ("ed25519", "alice@example.org", "example.org", ["ed25519-sha256"]),
    ("dual", "alice@example.org", "example.org", ["ed25519-sha256", "rsa-sha256"]),
    ("rsa", "alice@example.net", "example.net", ["rsa-sha256"]),
], ids=["rsa", "ed25519", "dual", "domain-alias"])
def test_a_submitted_message_reaches_the_mx_with_dkim_signatures_that_verify(
        delivery, mode, frm, domain, algs):
    mx = delivery.mx("127.0.0.2")
    srv = delivery.server(dkim=mode)
    published = delivery.dkim_records(srv)
    delivery.dns.set(*REMOTE_ZONE, *published)
    msg = make_message(frm=frm, to="bob@remote.test", subject="signed " + mode)
    qid = delivery.submit(srv, "bob@remote.test", msg, frm=frm)
    got = mx.wait(1, timeout=20)[0]
    srv.wait_log(r"queue\.done queue=%s" % qid)

    # the envelope and the message as submitted, plus our trace
    assert got.mail_from == frm
    assert got.rcpt_tos == ["bob@remote.test"]
    assert not got.tls  # this MX offers no STARTTLS
    m = parse_message(got.content)
    assert m["Subject"] == "signed " + mode
    assert got.content.endswith(b"Hello Bob.\r\n")
    assert "ESMTPSA" in (m["Received"] or "")

    # signed by the From: domain with the keys of the domain's mode,
    # selectors that `postern domain dns` published
    tags = dkim_tags(got.content)
    assert sorted(t["a"] for t in tags) == algs, tags
    assert all(t["d"] == domain for t in tags), tags
    assert {t["s"] for t in tags} <= {l.split(".", 1)[0] for l in published}
    assert verify_each(got.content, delivery.dns) == [True] * len(algs)
    # and the verification means something: a changed body fails
    altered = got.content.replace(b"Hello Bob.", b"Hello Eve.")
    assert verify_each(altered, delivery.dns) == [False] * len(algs)

    a = attempts(srv.log(), qid)
    assert [(x["to"], x["host"], x["tls"], x["result"]) for x in a] == [
        ("bob@remote.test", "mx1.remote.test", "none", "sent")], a
    assert a[0]["reply"].startswith("250")
    assert spool_files(srv) == []


def test_the_mx_connection_uses_starttls_when_the_mx_offers_it(delivery):
    srv = delivery.server()
    mx = delivery.mx("127.0.0.2", tls_context=mx_tls_context(srv))
    delivery.dns.set(*REMOTE_ZONE, *delivery.dkim_records(srv))
    qid = delivery.submit(srv, "bob@remote.test", make_message(subject="over tls"))
    got = mx.wait(1, timeout=20)[0]
    assert got.tls, "the MX saw the message outside TLS"
    srv.wait_log(r"queue\.done queue=%s" % qid)
    a = attempts(srv.log(), qid)
    assert len(a) == 1 and a[0]["result"] == "sent", a
    assert re.fullmatch(r"TLSv1\.3/\S+", a[0]["tls"]), a[0]["tls"]
    assert verify_each(got.content, delivery.dns) == [True]


# --- the signer signs only for the domain the sender was allowed ------------
#
# A signature with d=D says "D sent this": DMARC passes on it. So the
# queue signs only when the From: domain is the domain the envelope says
# the client was allowed to use (the login's, or the relay network's),
# whatever the session let through, and for files queued before that
# was recorded.


def relay_submit(srv, frm, to, msg):
    """A message relayed by IP on the smtp listener; its queue id."""
    from fixtures_smtp import queue_id
    c = srv.client("smtp")
    c.ehlo()
    r = c.mail(frm, to, msg)
    assert r.code == 250, r
    return queue_id(r)


def test_a_relay_network_message_with_its_own_domain_in_from_is_signed_by_that_domain(delivery):
    mx = delivery.mx("127.0.0.2")
    srv = delivery.server(dkim="rsa")
    srv.cli("relay-net", "add", "example.org", "127.0.0.1/32")
    delivery.dns.set(*REMOTE_ZONE, *delivery.dkim_records(srv))
    qid = relay_submit(srv, "alice@example.org", "bob@remote.test",
                       make_message(frm="alice@example.org", subject="relayed"))
    got = mx.wait(1, timeout=20)[0]
    srv.wait_log(r"queue\.done queue=%s" % qid)
    tags = dkim_tags(got.content)
    assert [t["d"] for t in tags] == ["example.org"], tags
    assert verify_each(got.content, delivery.dns) == [True]


def plant(srv, frm, msg, auth="-", domain=None):
    """A spool file as a server wrote it (with no `domain` line: as
    before the line existed); its queue id."""
    qid = "%08x%012x" % (int(time.time()), random.getrandbits(48))
    env = ["POSTERN-SPOOL 1", "id " + qid, "time %d" % int(time.time()),
           "from <%s>" % frm, "auth " + auth, "ip 127.0.0.1", "body 8BITMIME",
           "smtputf8 0"]
    if domain is not None:
        env.append("domain " + domain)
    env += ["rcpt <bob@remote.test> notify=- orcpt=-", "size %d" % len(msg)]
    srv.queue_dir.mkdir(parents=True, exist_ok=True)
    tmp = srv.queue_dir.parent / ("planted-" + qid)
    tmp.write_bytes(("\n".join(env) + "\n\n").encode() + msg)
    os.rename(tmp, srv.queue_dir / qid)
    return qid


@pytest.mark.parametrize("frm,auth,domain,header_from,signed", [
    # the attack, queued by a server from before the fix
    ("carol@tenant-b.example", "-", None, "ceo@example.org", []),
    # the same written with the envelope's domain line
    ("carol@tenant-b.example", "-", "tenant-b.example", "ceo@example.org", []),
    # a login of B, with a second foreign From: address
    ("carol@tenant-b.example", "carol@tenant-b.example", "tenant-b.example",
     "carol@tenant-b.example, ceo@example.org", []),
    # the domain line wins over the login and MAIL FROM
    ("alice@example.org", "alice@example.org", "tenant-b.example", "alice@example.org", []),
    # old files of the rightful sender are still signed, aliases too
    ("alice@example.org", "alice@example.org", None, "alice@example.net", ["example.net"]),
    ("alice@example.org", "-", None, "alice@example.org", ["example.org"]),
    ("carol@tenant-b.example", "-", "tenant-b.example", "x@tenant-b.example",
     ["tenant-b.example"]),
    # postern's own messages (notices, DSNs: the null sender) sign for
    # the host name, and only for it
    ("", "-", None, "Postmaster <postmaster@%s>" % HOSTNAME, [HOSTNAME]),
    ("", "-", None, "ceo@example.org", []),
    # queued before the session refused them: a From: hidden from the
    # scan (a no-break space before the colon) or read differently
    ("carol@tenant-b.example", "-", "tenant-b.example",
     "x@tenant-b.example\r\nFrom\u00a0: ceo@example.org", []),
    ("carol@tenant-b.example", "-", "tenant-b.example",
     "=?utf-8?q?=3Cceo=40example.org=3E=2C?= <x@tenant-b.example>", []),
], ids=["old-relay-file-foreign-from", "relay-foreign-from", "second-from-foreign",
        "domain-line-wins", "old-login-file", "old-relay-file", "own-domain",
        "own-notice", "null-sender-foreign-from", "nbsp-from-queued-before",
        "encoded-word-queued-before"])
def test_the_queue_never_signs_for_a_domain_the_sender_was_not_allowed(
        delivery, frm, auth, domain, header_from, signed):
    mx = delivery.mx("127.0.0.2")
    srv = delivery.server(dkim="rsa", start=False)
    srv.cli("domain", "add", "tenant-b.example", "--dkim", "rsa")
    srv.cli("domain", "add", HOSTNAME, "--dkim", "rsa")
    delivery.dns.set(*REMOTE_ZONE, *delivery.dkim_records(srv),
                     *delivery.dkim_records(srv, "tenant-b.example"),
                     *delivery.dkim_records(srv, HOSTNAME))
    msg = make_message(frm="x", subject="planted").replace(
        b"From: <x>", b"From: " + header_from.encode())
    qid = plant(srv, frm, msg, auth=auth, domain=domain)
    srv.start()
    got = mx.wait(1, timeout=20)[0]
    srv.wait_log(r"queue\.done queue=%s" % qid)
    assert got.content.endswith(msg)
    tags = dkim_tags(got.content)
    assert [t["d"] for t in tags] == signed, tags
    assert verify_each(got.content, delivery.dns) == [True] * len(signed)
    if not signed:
        assert re.search(r"dkim\.skip queue=%s " % qid, srv.log()), "no dkim.skip line"
