"""Sending quotas: per hour, per day, per message, for users, domain logins
and relay networks, set with `postern user quota` / `postern domain quota`,
seen by real smtplib clients. Over quota the transaction is deferred with
a reply that names the quota and when it resets, and nothing of it is
queued."""
import smtplib
import threading
import time

from abuse_helpers import client, login, resets_at, send, transaction
from fixtures_smtp import make_message


def quota_server(factory, **conf):
    # misuse rules out of the way: these tests are about the quotas
    conf.setdefault("abuse__quota_excess_blocks", "0")
    return factory(**conf)


def test_messages_per_hour_quota_defers_the_next_message_saying_which_and_when(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    out = srv.cli("user", "quota", "alice@example.org", "--messages-per-hour", "2")
    assert out["quota"]["messages_per_hour"] == 2
    assert out["quota"]["messages_per_day"] == "inherit"
    before = len(srv.queue_ids())
    assert send(srv, "alice@example.org").queued
    assert send(srv, "alice@example.org").queued
    third = send(srv, "alice@example.org")
    assert (third.stage, third.code) == ("mail", 451), third
    assert third.text.startswith("4.7.1 "), third
    assert "alice@example.org may send 2 messages per hour" in third.text, third
    # fixed windows: the clock hour
    assert resets_at(third.text) == ((time.gmtime().tm_hour + 1) % 24, 0)
    assert len(srv.queue_ids()) == before + 2


def test_domain_default_applies_to_its_users_and_a_user_quota_overrides_it(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    bob, _ = srv.new_user("bob")
    out = srv.cli("domain", "quota", "example.org", "--messages-per-day", "1")
    assert out["quota"]["messages_per_day"] == 1
    assert send(srv, bob).queued
    r = send(srv, bob)
    assert (r.stage, r.code) == ("mail", 451) and "1 messages per day" in r.text, r
    assert resets_at(r.text) == (0, 0)
    # alice has her own: 2 a day
    srv.cli("user", "quota", "alice@example.org", "--messages-per-day", "2")
    assert send(srv, "alice@example.org").queued
    assert send(srv, "alice@example.org").queued
    assert send(srv, "alice@example.org").code == 451
    # back to the domain's default, and unlimited with 0
    srv.cli("user", "quota", "alice@example.org", "--messages-per-day", "inherit")
    assert send(srv, "alice@example.org").code == 451
    srv.cli("user", "quota", "alice@example.org", "--messages-per-day", "0")
    assert send(srv, "alice@example.org").queued


def test_config_default_applies_when_neither_user_nor_domain_sets_one(smtp_server_factory):
    srv = quota_server(smtp_server_factory, quota__messages_per_hour="1")
    assert send(srv, "alice@example.org").queued
    r = send(srv, "alice@example.org")
    assert r.code == 451 and "1 messages per hour" in r.text, r
    shown = srv.cli("user", "show", "alice@example.org")["quota"]["messages_per_hour"]
    assert shown["limit"] == 1 and shown["from"] == "config"


def test_recipients_per_message_refuses_the_extra_recipient_and_the_rest_is_sent(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    srv.cli("user", "quota", "alice@example.org", "--recipients-per-message", "2")
    s = login(srv, "alice@example.org")
    assert s.mail("alice@example.org")[0] == 250
    assert s.rcpt("a@remote.test")[0] == 250
    assert s.rcpt("b@remote.test")[0] == 250
    code, text = s.rcpt("c@remote.test")
    assert code == 452 and text.startswith(b"4.5.3 "), (code, text)
    assert b"2 recipients per message" in text
    code, text = s.data(make_message(to="a@remote.test"))
    assert code == 250, text
    qid = text.decode().split()[-1]
    assert len(srv.spool(qid).env["rcpt"]) == 2


def test_recipients_per_day_counts_accepted_recipients_across_messages(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    srv.cli("user", "quota", "alice@example.org", "--recipients-per-day", "3")
    assert send(srv, "alice@example.org", to=("a@remote.test", "b@remote.test")).queued
    s = login(srv, "alice@example.org")
    assert s.mail("alice@example.org")[0] == 250
    assert s.rcpt("c@remote.test")[0] == 250
    code, text = s.rcpt("d@remote.test")
    assert code == 452 and text.startswith(b"4.7.1 "), (code, text)
    assert b"3 recipients per day" in text and b"resets at 00:00 UTC" in text
    assert s.data(make_message(to="c@remote.test"))[0] == 250
    # the day's recipients are used up: the next MAIL is deferred
    r = transaction(s, "alice@example.org")
    assert (r.stage, r.code) == ("mail", 451) and "recipients per day" in r.text, r
    show = srv.cli("user", "show", "alice@example.org")
    # written behind within about a second
    deadline = time.monotonic() + 5
    while show["quota"]["recipients_per_day"]["used"] != 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        show = srv.cli("user", "show", "alice@example.org")
    assert show["quota"]["recipients_per_day"] == {
        "limit": 3, "used": 3, "from": "user",
        "resets": show["quota"]["recipients_per_day"]["resets"]}
    assert show["quota"]["messages_per_day"]["used"] == 2


def test_domain_login_has_the_domains_own_quota(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    pw = srv.cli("smtp-password", "generate", "example.org")["password"]
    # the users' default does not apply to the domain login, --self does
    srv.cli("domain", "quota", "example.org", "--messages-per-hour", "1")
    out = srv.cli("domain", "quota", "example.org", "--self", "--messages-per-hour", "2")
    assert out["applies_to"] == "the domain login and relay networks"
    for _ in range(2):
        assert send(srv, "example.org", frm="anyone@example.org", password=pw).queued
    r = send(srv, "example.org", frm="other@example.org", password=pw)
    assert r.code == 451 and "example.org may send 2 messages per hour" in r.text, r


def test_relay_networks_share_their_domains_own_quota(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    srv.cli("relay-net", "add", "example.org", "127.0.0.0/8")
    srv.cli("domain", "quota", "example.org", "--self", "--messages-per-hour", "1")
    results = []
    for src in ("127.0.0.1", "127.0.0.9"):
        s = smtplib.SMTP("127.0.0.1", srv.ports["smtp"], timeout=30, source_address=(src, 0))
        try:
            s.ehlo("relay.example.test")
            results.append(transaction(s, "alice@example.org"))
        finally:
            s.close()
    assert results[0].queued, results
    assert results[1].code == 451, results
    assert "the relay networks of example.org may send 1 messages per hour" in results[1].text


def test_two_concurrent_clients_of_one_user_cannot_together_exceed_the_quota(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    srv.cli("user", "quota", "alice@example.org", "--messages-per-hour", "3")
    before = srv.queue_ids()
    clients = [login(srv, "alice@example.org") for _ in range(6)]
    # every one passes MAIL and RCPT: nothing is used yet
    for s in clients:
        assert s.mail("alice@example.org")[0] == 250
        assert s.rcpt("bob@remote.test")[0] == 250
    results = [None] * len(clients)
    go = threading.Barrier(len(clients))

    def data(i, s):
        go.wait()
        results[i] = s.data(make_message(subject="race %d" % i))

    threads = [threading.Thread(target=data, args=(i, s)) for i, s in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(r[0] for r in results)
    assert codes == [250, 250, 250, 451, 451, 451], results
    assert all(b"3 messages per hour" in r[1] for r in results if r[0] == 451)
    # nothing half-accepted: exactly the three in the queue
    assert len(srv.queue_ids() - before) == 3


def test_usage_survives_a_restart(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    srv.cli("user", "quota", "alice@example.org", "--messages-per-hour", "2")
    assert send(srv, "alice@example.org").queued
    assert send(srv, "alice@example.org").queued
    srv.stop()
    used = srv.cli("user", "show", "alice@example.org")["quota"]["messages_per_hour"]
    assert (used["used"], used["limit"]) == (2, 2)
    text = srv.cli("user", "show", "alice@example.org", json=False)
    assert "messages_per_hour: 2 of 2" in text
    srv.start()
    r = send(srv, "alice@example.org")
    assert r.code == 451 and "2 messages per hour" in r.text, r


def test_a_quota_changed_while_the_server_runs_applies_at_the_next_login(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    assert send(srv, "alice@example.org").queued
    srv.cli("user", "quota", "alice@example.org", "--messages-per-hour", "1")
    assert send(srv, "alice@example.org").code == 451
    srv.cli("user", "quota", "alice@example.org", "--clear")
    assert send(srv, "alice@example.org").queued


def test_bad_quota_values_are_refused_and_change_nothing(smtp_server_factory):
    srv = smtp_server_factory(start=False)
    rc, _, err = srv.cli_run("user", "quota", "alice@example.org", "--messages-per-day", "lots")
    assert rc == 1 and "messages_per_day" in err and "inherit" in err
    rc, _, err = srv.cli_run("domain", "quota", "nowhere.test", "--messages-per-day", "1")
    assert rc == 1 and "no domain nowhere.test" in err
    show = srv.cli("user", "show", "alice@example.org")["quota"]
    assert show["messages_per_day"] == {"limit": 0, "from": "config", "used": 0,
                                        "resets": show["messages_per_day"]["resets"]}
    # a bare `user quota` shows what is set
    assert srv.cli("user", "quota", "alice@example.org")["quota"]["messages_per_day"] == "inherit"


def test_a_quota_changed_while_the_server_runs_reaches_open_sessions_within_seconds(
        smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    s = login(srv, "alice@example.org")
    assert transaction(s, "alice@example.org").queued
    srv.cli("user", "quota", "alice@example.org", "--messages-per-hour", "1")
    t = time.monotonic()
    while True:  # the open session resolves its limits again after 5 s
        r = transaction(s, "alice@example.org")
        if not r.queued or time.monotonic() - t > 10:
            break
        time.sleep(0.5)
    assert (r.stage, r.code) == ("mail", 451), r
    assert time.monotonic() - t <= 7


def wait_used(srv, user, quota, want, timeout=5):
    """The stored usage of user's quota once it is want (written behind
    about once a second), else what it is at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        used = srv.cli("user", "show", user)["quota"][quota]["used"]
        if used == want or time.monotonic() > deadline:
            return used
        time.sleep(0.2)


def test_deleting_a_user_who_sent_mail_leaves_the_others_usage_stored(smtp_server_factory):
    srv = quota_server(smtp_server_factory)
    gone, _ = srv.new_user("gone")
    # the user to be deleted sends from a session opened before the delete
    s = login(srv, gone)
    srv.cli("user", "remove", gone)
    assert transaction(s, gone).queued
    s.close()
    assert send(srv, "alice@example.org").queued
    assert send(srv, "alice@example.org").queued
    assert wait_used(srv, "alice@example.org", "messages_per_hour", 2) == 2
    assert "FOREIGN KEY" not in srv.log()
    # and it stays counted across a restart
    srv.cli("user", "quota", "alice@example.org", "--messages-per-hour", "2")
    srv.stop()
    srv.start()
    r = send(srv, "alice@example.org")
    assert r.code == 451 and "2 messages per hour" in r.text, r
