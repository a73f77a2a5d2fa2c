"""Automatic blocks: a user over quota again and again, or logged in from
too many addresses in an hour, is blocked with a reason; the user and the
operator each get exactly one notice, delivered by postern's own queue to
a test MX; `postern user unblock` restores sending."""
import time

from abuse_helpers import login, send, transaction
from fixtures_delivery import wait_until
from fixtures_smtp import make_message

ZONE = (
    "remote.test. MX 10 mx1.remote.test.",
    "mx1.remote.test. A 127.0.0.2",
    "example.org. MX 10 mx.example.org.",
    "mx.example.org. A 127.0.0.2",
    "operator.test. MX 10 mx.operator.test.",
    "mx.operator.test. A 127.0.0.2",
)


def notices(mx):
    """Block notices (not DSNs): null sender, auto-generated."""
    return [d for d in mx.received
            if d.mail_from == "" and b"Auto-Submitted: auto-generated" in d.content]


def check_notices(mx, srv, reason_part):
    """Exactly one notice to alice and one to the operator, from the null
    sender, and none more a moment later."""
    wait_until(lambda: len(notices(mx)) >= 2, 30,
               lambda: "two notices at the MX (events %r)" % mx.events)
    time.sleep(1.5)
    got = notices(mx)
    assert sorted(r for d in got for r in d.rcpt_tos) == [
        "alice@example.org", "ops@operator.test"], got
    for d in got:
        text = d.content.decode("utf-8", "replace")
        assert "From: Postmaster <postmaster@mail.example.test>" in text
        assert "Auto-Submitted: auto-generated" in text
        assert "alice@example.org" in text and reason_part in text, text
    user = [d for d in got if d.rcpt_tos == ["alice@example.org"]][0]
    assert "Outgoing mail of alice@example.org is blocked" in user.content.decode()
    assert srv.log().count("abuse.block user=alice@example.org") == 1


def test_repeated_excess_blocks_the_user_with_one_notice_each_and_unblock_restores(delivery):
    mx = delivery.mx("127.0.0.2")
    srv = delivery.server(dkim="ed25519", abuse__quota_excess_blocks="3",
                          abuse__notify="ops@operator.test")
    delivery.dns.set(*ZONE)
    srv.cli("user", "quota", "alice@example.org", "--messages-per-hour", "1")
    assert send(srv, "alice@example.org").queued
    s = login(srv, "alice@example.org")
    for _ in range(3):
        r = transaction(s, "alice@example.org")
        assert (r.stage, r.code) == ("mail", 451), r
    # blocked now, in this session too, and at the next login
    r = transaction(s, "alice@example.org")
    assert (r.stage, r.code) == ("mail", 550) and "blocked" in r.text, r
    r = send(srv, "alice@example.org")
    assert r.code == 550 and "refused over quota 3 times in one day" in r.text, r
    check_notices(mx, srv, "refused over quota 3 times in one day")
    shown = srv.cli("user", "show", "alice@example.org")
    assert shown["blocked"] == "refused over quota 3 times in one day"

    srv.cli("user", "unblock", "alice@example.org")
    assert srv.cli("user", "show", "alice@example.org")["blocked"] is None
    # the counters that caused it start again: she may send
    r = send(srv, "alice@example.org")
    assert r.queued, r
    assert len(notices(mx)) == 2


def test_logins_from_too_many_addresses_in_an_hour_block_the_user(delivery):
    mx = delivery.mx("127.0.0.2")
    srv = delivery.server(dkim="ed25519", abuse__distinct_ips_per_hour="3",
                          abuse__notify="ops@operator.test")
    delivery.dns.set(*ZONE)
    for i in range(3):
        assert send(srv, "alice@example.org", src="127.0.0.%d" % (11 + i)).queued
    # a fourth address: the login still succeeds, sending does not
    r = send(srv, "alice@example.org", src="127.0.0.14")
    assert (r.stage, r.code) == ("mail", 550), r
    assert "logins from more than 3 addresses in one hour" in r.text, r
    check_notices(mx, srv, "logins from more than 3 addresses in one hour")
    # more logins from more addresses: still one notice each
    assert send(srv, "alice@example.org", src="127.0.0.15").code == 550
    time.sleep(1)
    assert len(notices(mx)) == 2
    srv.cli("user", "unblock", "alice@example.org")
    assert send(srv, "alice@example.org", src="127.0.0.16").queued


def test_a_high_share_of_refused_recipients_blocks_the_user(smtp_server_factory):
    srv = smtp_server_factory(abuse__rejected_recipient_share="50",
                              abuse__rejected_recipient_min="3")
    s = login(srv, "alice@example.org")
    assert s.mail("alice@example.org")[0] == 250
    assert s.rcpt("bob@remote.test")[0] == 250
    for bad in ("a@-bad-.test", "b@-bad-.test", "c@-bad-.test"):
        assert s.rcpt(bad)[0] == 553
    wait_until(lambda: srv.cli("user", "show", "alice@example.org")["blocked"], 10,
               "alice blocked")
    assert srv.cli("user", "show", "alice@example.org")["blocked"] == \
        "a high share of refused recipients"
    s.rset()
    r = transaction(s, "alice@example.org")
    assert (r.stage, r.code) == ("mail", 550), r


def test_a_block_stops_smtp_only_and_the_domain_is_never_blocked(smtp_server_factory):
    srv = smtp_server_factory(abuse__quota_excess_blocks="1")
    pw = srv.cli("smtp-password", "generate", "example.org")["password"]
    srv.cli("domain", "quota", "example.org", "--self", "--messages-per-hour", "1")
    assert send(srv, "example.org", frm="x@example.org", password=pw).queued
    for _ in range(3):
        assert send(srv, "example.org", frm="x@example.org", password=pw).code == 451
    # over quota, deferred, but a domain is not blocked (there is no one
    # to lift it for): its users go on
    assert send(srv, "alice@example.org").queued
    assert "abuse.block" not in srv.log()


def test_recipients_refused_by_their_servers_count_toward_the_refused_share(delivery):
    refused = ["nobody%d@remote.test" % i for i in range(4)]
    mx = delivery.mx("127.0.0.2", refuse={a: "550 5.1.1 <%s>: User unknown" % a
                                          for a in refused})
    srv = delivery.server(dkim="ed25519", abuse__rejected_recipient_share="60",
                          abuse__rejected_recipient_min="3",
                          abuse__notify="ops@operator.test")
    delivery.dns.set(*ZONE)
    # 1 of 5 delivered, 4 refused by the MX: 80% of the day's recipients
    delivery.submit(srv, ["bob@remote.test"] + refused,
                    make_message(to="bob@remote.test"))
    wait_until(lambda: srv.cli("user", "show", "alice@example.org")["blocked"], 30,
               "alice blocked")
    assert srv.cli("user", "show", "alice@example.org")["blocked"] == \
        "a high share of refused recipients"
    # notices: one to alice, one to the operator (and the DSN of the 4)
    check_notices(mx, srv, "a high share of refused recipients")
