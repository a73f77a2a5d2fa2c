"""
The smarthost's certificate is checked before anything is sent to it
(its password above all): chain against [delivery] smarthost_ca (or the
system's CAs) and name against the configured host. A smarthost that
cannot show one gets no AUTH and no mail: the mail is deferred, with a
log line that says why. smarthost_tls = none is the explicit opt-out.
MX delivery stays opportunistic (test_delivery_routing.py).
"""
import os
import subprocess
import time

from fixtures_delivery import attempts, tls_cert_for
from fixtures_smtp import POSTERN_BIN, make_message

LOGIN, SECRET = "relay@isp.test", "up-secret-42"


def smarthost_server(delivery, tmp_path, **conf):
    """A postern sending through 127.0.0.2 with LOGIN/SECRET."""
    srv = delivery.server(start=False)
    pwfile = srv.dir / "smarthost.pw"
    pwfile.write_text(SECRET + "\n")
    os.chmod(pwfile, 0o600)
    srv.conf_set("delivery", "mode", "smarthost")
    srv.conf_set("delivery", "smarthost", "127.0.0.2:%d" % delivery.port)
    srv.conf_set("delivery", "smarthost_user", LOGIN)
    srv.conf_set("delivery", "smarthost_password_file", str(pwfile))
    for key, value in conf.items():
        srv.conf_set("delivery", key, str(value))
    srv.start()
    delivery.dns.set(*delivery.dkim_records(srv))
    return srv


def deferred_and_nothing_sent(srv, smart, qid, why):
    srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, timeout=20)
    time.sleep(1.5)  # a retry or two: still nothing
    a = attempts(srv.log(), qid)
    assert a and all(x["result"] == "deferred" for x in a), a
    assert why in a[0]["reply"] and "nothing sent" in a[0]["reply"], a[0]
    assert smart.logins == [], "AUTH reached an unverified smarthost"
    assert smart.received == []
    assert qid in srv.queue_ids()
    assert SECRET not in srv.log()


def test_an_untrusted_smarthost_certificate_defers_the_mail_and_the_password_is_never_sent(
        delivery, tmp_path):
    ctx, _ = tls_cert_for(tmp_path / "sh", "127.0.0.2")  # self-signed, trusted by nobody
    smart = delivery.mx("127.0.0.2", tls_context=ctx, auth=(LOGIN, SECRET))
    srv = smarthost_server(delivery, tmp_path)
    qid = delivery.submit(srv, ["bob@remote.test"], make_message(subject="untrusted"))
    deferred_and_nothing_sent(srv, smart, qid, "certificate verify failed")


def test_a_trusted_certificate_for_another_name_defers_the_mail_too(delivery, tmp_path):
    ctx, crt = tls_cert_for(tmp_path / "sh", "other.test")
    smart = delivery.mx("127.0.0.2", tls_context=ctx, auth=(LOGIN, SECRET))
    srv = smarthost_server(delivery, tmp_path, smarthost_ca=crt)
    qid = delivery.submit(srv, ["bob@remote.test"], make_message(subject="wrong name"))
    deferred_and_nothing_sent(srv, smart, qid, "certificate verify failed")


def test_the_smarthost_verified_by_smarthost_ca_gets_the_mail_with_auth(delivery, tmp_path):
    ctx, crt = tls_cert_for(tmp_path / "sh", "127.0.0.2")
    smart = delivery.mx("127.0.0.2", tls_context=ctx, auth=(LOGIN, SECRET))
    srv = smarthost_server(delivery, tmp_path, smarthost_ca=crt)
    qid = delivery.submit(srv, ["bob@remote.test"], make_message(subject="verified"))
    got = smart.wait(1, timeout=20)[0]
    srv.wait_log(r"queue\.done queue=%s" % qid)
    assert got.rcpt_tos == ["bob@remote.test"]
    assert smart.logins == [("PLAIN", LOGIN, True)], smart.logins
    assert [x["result"] for x in attempts(srv.log(), qid)] == ["sent"]
    assert SECRET not in srv.log()


def test_a_smarthost_without_starttls_gets_nothing_unless_the_operator_opts_out(
        delivery, tmp_path):
    smart = delivery.mx("127.0.0.2")  # plain SMTP, no credentials asked
    srv = delivery.server(delivery__mode="smarthost",
                          delivery__smarthost="127.0.0.2:%d" % delivery.port)
    delivery.dns.set(*delivery.dkim_records(srv))
    qid = delivery.submit(srv, ["bob@remote.test"], make_message(subject="plain"))
    srv.wait_log(r"delivery\.attempt queue=%s .*result=deferred" % qid, timeout=20)
    a = attempts(srv.log(), qid)
    assert "no STARTTLS offered" in a[0]["reply"], a[0]
    assert smart.received == []
    # smarthost_tls = none: as before, TLS when offered, unchecked
    srv.stop()
    srv.conf_set("delivery", "smarthost_tls", "none")
    srv.start()
    smart.wait(1, timeout=20)
    srv.wait_log(r"queue\.done queue=%s" % qid)


def test_a_smarthost_password_with_unchecked_tls_is_refused_at_start(delivery):
    # smarthost_tls = none would hand the password to whoever answers:
    # postern refuses to start and says what to do instead
    srv = delivery.server(start=False)
    pwfile = srv.dir / "smarthost.pw"
    pwfile.write_text(SECRET + "\n")
    os.chmod(pwfile, 0o600)
    for key, value in (("mode", "smarthost"),
                       ("smarthost", "127.0.0.2:%d" % delivery.port),
                       ("smarthost_user", LOGIN),
                       ("smarthost_password_file", str(pwfile)),
                       ("smarthost_tls", "none")):
        srv.conf_set("delivery", key, value)
    run = subprocess.run([POSTERN_BIN, "-c", str(srv.conf), "serve"],
                         stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                         env=srv._serve_env())
    err = run.stderr.decode()
    assert run.returncode != 0, err[-2000:]
    assert "smarthost_user" in err and "smarthost_ca" in err, err[-2000:]
    assert SECRET not in err
