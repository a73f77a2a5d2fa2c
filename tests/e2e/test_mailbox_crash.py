"""kill -9 of postern under inbound load (issue 13): every message that got
250 from the MX reaches its mailbox once postern is back (a crash between
Dovecot's reply and the queue's record may deliver one more copy, never
none)."""
import email
import os
import threading
import time

from fixtures_delivery import DnsServer
from fixtures_dovecot import Dovecot
from fixtures_smtp import Server, SmtpClient, _check_binary, make_message, \
    provision_documentation_example

SENDERS = 4
LOAD_SECONDS = 1.5  # of load before the kill, bounded
MAX_PER_SENDER = 200


def maildir_subjects(dv, addr):
    out = []
    for sub in ("new", "cur"):
        d = dv.maildir(addr) / sub
        if d.exists():
            for name in os.listdir(d):
                with open(d / name, "rb") as f:
                    out.append(email.message_from_binary_file(f)["Subject"])
    return out


def test_every_message_that_got_250_reaches_the_mailbox_after_kill_9(tmp_path):
    _check_binary()
    dv = Dovecot()
    dv.add_user("alice@example.org")
    dns = DnsServer(tmp_path / "dns").start()
    srv = Server(tmp_path / "postern", mailbox__lmtp=dv.lmtp,
                 delivery__dns_servers=dns.address)
    provision_documentation_example(srv)
    try:
        dv.start()
        srv.start()
        port = srv.ports["smtp"]
        accepted, lock = [], threading.Lock()
        stop = threading.Event()

        def sender(n):
            for i in range(MAX_PER_SENDER):
                if stop.is_set():
                    return
                subject = "crash-%d-%d" % (n, i)
                try:
                    c = SmtpClient(port, timeout=5)
                    c.ehlo("mail.sender.test")
                    r = c.mail("friend@sender.test", "alice@example.org",
                               make_message(frm="friend@sender.test",
                                            to="alice@example.org", subject=subject))
                    if r.code == 250:
                        with lock:
                            accepted.append(subject)
                    c.close()
                except Exception:  # noqa: BLE001 (any way a killed server ends it)
                    return  # the server went away under us

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(SENDERS)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + LOAD_SECONDS
        while time.monotonic() < deadline and len(accepted) < 40:
            time.sleep(0.02)
        time.sleep(0.2)
        srv.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        assert len(accepted) >= 10, "too little load before the kill: %d" % len(accepted)
        print("accepted before the kill: %d" % len(accepted))
        srv.start()  # the queue takes up what the crash left
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = maildir_subjects(dv, "alice@example.org")
            if set(accepted) <= set(got):
                break
            time.sleep(0.1)
        got = maildir_subjects(dv, "alice@example.org")
        missing = sorted(set(accepted) - set(got))
        assert not missing, "acknowledged but never delivered: %s\n%s" % (
            missing[:20], srv.log()[-3000:])
        # at most one extra copy of a message, and only of one in flight
        extra = {s: got.count(s) for s in set(got) if got.count(s) > 1}
        assert all(n == 2 for n in extra.values()), extra
        assert len(extra) <= SENDERS * 2, extra
    finally:
        srv.stop()
        dv.close()
        dns.stop()
