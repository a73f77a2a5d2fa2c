"""The MX checks what it receives (issue 13): SPF of MAIL FROM (of the HELO
name for the null sender), every DKIM signature (signed here by dkimpy,
keys in a DNS server on loopback), DMARC with alignment and the sender
domain's policy. The results go into one Authentication-Results field
named after this server, any such field a sender forged in its name is
removed, p=reject failures get 550 5.7.1 at the end of DATA and
p=quarantine failures go to the Junk folder.
"""
import base64
import subprocess

import dkim
import pytest

from fixtures_delivery import DnsServer
from fixtures_smtp import HOSTNAME, Server, _check_binary, provision_documentation_example, queue_id

AR = b"Authentication-Results: " + HOSTNAME.encode() + b";"


def rsa_key():
    """(private key PEM, public key base64 for p=), made by openssl."""
    pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True,
                         check=True).stdout
    der = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=pem,
                         capture_output=True, check=True).stdout
    return pem, base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    _check_binary()
    root = tmp_path_factory.mktemp("inbound")
    dns = DnsServer(root / "dns").start()
    pem, pub = rsa_key()
    dns.set(
        # sender.test: SPF, a DKIM key, DMARC reject
        'sender.test. TXT "v=spf1 ip4:127.0.0.1 -all"',
        'sel._domainkey.sender.test. TXT "v=DKIM1; k=rsa; p=%s"' % pub,
        '_dmarc.sender.test. TXT "v=DMARC1; p=reject"',
        # strict.test: nobody may send, and failures are rejected
        'strict.test. TXT "v=spf1 -all"',
        '_dmarc.strict.test. TXT "v=DMARC1; p=reject"',
        # quar.test: failures to the Junk folder
        'quar.test. TXT "v=spf1 -all"',
        '_dmarc.quar.test. TXT "v=DMARC1; p=quarantine"',
        # helo.test: the HELO name's own SPF
        'mail.helo.test. TXT "v=spf1 ip4:127.0.0.1 -all"',
        # plain.test: no SPF, no DMARC
        'plain.test. A 192.0.2.1',
    )
    srv = Server(root / "postern", mailbox__lmtp="unix:/nonexistent/postern-test-lmtp",
                 delivery__dns_servers=dns.address)
    provision_documentation_example(srv)
    srv.start()
    yield srv, dns, pem
    srv.stop()
    dns.stop()


def message(frm, subject="checked", extra=b""):
    return (extra + b"From: <%s>\r\nTo: <alice@example.org>\r\nSubject: %s\r\n"
            b"Message-ID: <%s@test>\r\n\r\nHello, world.\r\n"
            % (frm.encode(), subject.encode(), subject.encode().replace(b" ", b"-")))


def sign(msg, pem, domain="sender.test", selector="sel"):
    sig = dkim.sign(msg, selector.encode(), domain.encode(), pem,
                    include_headers=[b"from", b"to", b"subject"])
    return sig + msg


def send(srv, mail_from, msg, helo="mail.sender.test"):
    c = srv.client("smtp")
    c.ehlo(helo)
    r = c.cmd("MAIL FROM:<%s>" % mail_from)
    assert r.code == 250, r
    r = c.cmd("RCPT TO:<alice@example.org>")
    assert r.code == 250, r
    return c.data(msg)


def authres(srv, reply):
    """The Authentication-Results field of a queued message, unfolded."""
    sp = srv.spool(queue_id(reply))
    head = sp.message.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(AR), head[:300]
    field = head.split(b"\r\nReceived:", 1)[0]
    return b" ".join(field.split()).decode(), sp


def test_spf_dkim_and_dmarc_pass(world):
    srv, _, pem = world
    r = send(srv, "friend@sender.test", sign(message("friend@sender.test"), pem))
    assert r.code == 250, r
    ar, sp = authres(srv, r)
    assert "spf=pass" in ar and 'smtp.mailfrom=friend@sender.test' in ar, ar
    assert "dkim=pass" in ar and "header.d=sender.test header.s=sel" in ar, ar
    assert "dmarc=pass" in ar and "header.from=sender.test" in ar, ar
    assert sp.env.get("junk") is None


def test_a_broken_signature_fails_but_aligned_spf_passes_dmarc(world):
    srv, _, pem = world
    signed = sign(message("friend@sender.test", "tampered"), pem)
    r = send(srv, "friend@sender.test", signed.replace(b"Hello, world.", b"Hello, w0rld."))
    assert r.code == 250, r
    ar, _ = authres(srv, r)
    assert "dkim=fail" in ar and "spf=pass" in ar and "dmarc=pass" in ar, ar


def test_dmarc_reject_is_refused_at_the_end_of_data(world):
    srv, _, _ = world
    before = srv.queue_ids()
    r = send(srv, "someone@strict.test", message("someone@strict.test", "forged"))
    assert r.code == 550 and r.enh == "5.7.1", r
    assert "DMARC" in r.text and "strict.test" in r.text
    assert srv.queue_ids() == before


def test_a_spoofed_from_with_a_good_envelope_is_refused_too(world):
    """SPF passes for the envelope, but From: claims a domain whose DMARC
    asks for reject and that nothing aligned with authenticates."""
    srv, _, _ = world
    r = send(srv, "friend@sender.test", message("ceo@strict.test", "spoof"))
    assert r.code == 550 and r.enh == "5.7.1", r


def test_dmarc_quarantine_goes_to_the_junk_folder(world):
    srv, _, _ = world
    r = send(srv, "someone@quar.test", message("someone@quar.test", "suspicious"))
    assert r.code == 250, r
    ar, sp = authres(srv, r)
    assert "spf=fail" in ar and "dmarc=fail" in ar and "header.from=quar.test" in ar, ar
    assert sp.env.get("junk") == "1"


def test_no_policies_at_all(world):
    srv, _, _ = world
    r = send(srv, "someone@plain.test", message("someone@plain.test", "plain"))
    assert r.code == 250, r
    ar, sp = authres(srv, r)
    assert "spf=none" in ar and "dkim=none" in ar and "dmarc=none" in ar, ar
    assert sp.env.get("junk") is None


def test_the_null_sender_is_checked_by_its_helo_name(world):
    srv, _, _ = world
    r = send(srv, "", message("mailer-daemon@plain.test", "bounce"), helo="mail.helo.test")
    assert r.code == 250, r
    ar, _ = authres(srv, r)
    assert "spf=pass" in ar and "smtp.helo=mail.helo.test" in ar, ar


def test_forged_authentication_results_in_our_name_are_removed(world):
    srv, _, pem = world
    forged = (b"Authentication-Results: " + HOSTNAME.upper().encode() +
              b"; dkim=pass header.d=bank.test\r\n"
              b"Authentication-Results: other.test; spf=pass\r\n")
    msg = sign(message("friend@sender.test", "forged results", extra=forged), pem)
    r = send(srv, "friend@sender.test", msg)
    assert r.code == 250, r
    _, sp = authres(srv, r)
    assert b"bank.test" not in sp.message
    assert sp.message.count(b"Authentication-Results:") == 2  # ours, and other.test's
    assert b"Authentication-Results: other.test; spf=pass" in sp.message
