"""
The panel's own routes, called as the panel and mail programs call them:
autoconfiguration (Thunderbird, Outlook), the Apple profile (its
password sends mail), two-step sign-in, and the login password by
e-mailed link (the mail read from the capture folder).
"""
import base64
import hashlib
import hmac
import plistlib
import re
import smtplib
import struct
import time
import xml.etree.ElementTree as ET

import pytest

from fixtures_delivery import wait_until
from fixtures_http import HttpServer, LOGIN_PASSWORD, session_cookie
from fixtures_smtp import HOSTNAME, _check_binary, tls_client_context

TB = {"n": ""}  # Thunderbird's clientConfig has no namespace
AD_RESP = "{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}"
AD_REQUEST = """<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>%s</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>"""


def totp(secret_b32, t=None):
    """RFC 6238 code (SHA-1, 6 digits, 30 s) computed here, not by postern."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if t is None else t) // 30)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    _check_binary()
    srv = HttpServer(tmp_path_factory.mktemp("panel") / "postern",
                     delivery__mode="capture", panel__name="Example Mail",
                     auth__fail_delay="10", http__login_failures="1000")
    srv.conf_set("panel", "url", "http://127.0.0.1:%d/" % srv.ports["http"])
    srv.cli("domain", "add", "example.org", "--dkim", "ed25519")
    srv.start()
    yield srv
    srv.stop()


def signed_in(srv, prefix="user"):
    addr, smtp_pw = srv.user(prefix)
    api = srv.api(key=None)
    r = api.login(addr)
    assert r.status == 200, r.body
    return addr, smtp_pw, api


def test_thunderbird_autoconfig_names_the_servers_with_the_documented_elements(panel):
    api = panel.api(key=None)
    for path in ("/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"):
        r = api.get(path + "?emailaddress=someone%40example.org")
        assert r.status == 200, r.body
        assert r.header("Content-Type").startswith("application/xml")
        root = ET.fromstring(r.body)
        assert root.tag == "clientConfig" and root.get("version") == "1.1"
        prov = root.find("emailProvider")
        assert prov.get("id") == "example.org"
        assert prov.findtext("domain") == "example.org"
        assert prov.findtext("displayName") == "Example Mail"
        out = prov.findall("outgoingServer")
        assert [(o.get("type"), o.findtext("hostname"), int(o.findtext("port")),
                 o.findtext("socketType"), o.findtext("authentication"),
                 o.findtext("username")) for o in out] == [
            ("smtp", HOSTNAME, panel.ports["submissions"], "SSL", "password-cleartext",
             "%EMAILADDRESS%"),
            ("smtp", HOSTNAME, panel.ports["submission"], "STARTTLS", "password-cleartext",
             "%EMAILADDRESS%"),
        ]
        inc = prov.find("incomingServer")
        assert inc.get("type") == "imap" and inc.findtext("port") == "993"
        assert inc.findtext("socketType") == "SSL"
    # a domain this server does not serve, and no address at all
    assert api.get("/mail/config-v1.1.xml?emailaddress=a%40elsewhere.test").status == 404
    assert api.get("/mail/config-v1.1.xml").status == 400


def test_outlook_autodiscover_answers_the_request_schema(panel):
    api = panel.api(key=None)
    r = api.call("POST", "/autodiscover/autodiscover.xml", raw=(AD_REQUEST % "Bob@Example.org").encode(),
                 headers={"Content-Type": "text/xml"})
    assert r.status == 200, r.body
    root = ET.fromstring(r.body)
    acct = root.find(AD_RESP + "Response/" + AD_RESP + "Account")
    assert acct.findtext(AD_RESP + "Action") == "settings"
    protos = {p.findtext(AD_RESP + "Type"): p for p in acct.findall(AD_RESP + "Protocol")}
    smtp = protos["SMTP"]
    assert smtp.findtext(AD_RESP + "Server") == HOSTNAME
    assert int(smtp.findtext(AD_RESP + "Port")) == panel.ports["submissions"]
    assert smtp.findtext(AD_RESP + "LoginName") == "Bob@example.org"
    assert smtp.findtext(AD_RESP + "SSL") == "on"
    assert "IMAP" in protos
    # junk, markup in the address, and a foreign domain
    bad = api.call("POST", "/autodiscover/autodiscover.xml", raw=b"<Request>nothing</Request>")
    assert bad.status == 400 and "EMailAddress" in bad.json["error"]
    bad = api.call("POST", "/autodiscover/autodiscover.xml", raw=(AD_REQUEST % "a&lt;b@example.org").encode())
    assert bad.status == 400
    assert api.call("POST", "/autodiscover/autodiscover.xml",
                    raw=(AD_REQUEST % "a@elsewhere.test").encode()).status == 404


def test_apple_profile_is_a_plist_whose_password_sends_mail(panel):
    addr, _, api = signed_in(panel, "mac")
    r = api.post("/api/v1/me/profile", {"device": "MacBook"})
    assert r.status == 200, r.body
    assert r.header("Content-Type") == "application/x-apple-aspen-config"
    prof = plistlib.loads(r.body)
    assert prof["PayloadType"] == "Configuration"
    (mail,) = prof["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAddress"] == addr
    assert mail["OutgoingMailServerHostName"] == HOSTNAME
    assert mail["OutgoingMailServerPortNumber"] == panel.ports["submissions"]
    assert mail["OutgoingMailServerUseSSL"] is True
    assert mail["OutgoingMailServerUsername"] == addr
    assert mail["IncomingMailServerHostName"] == HOSTNAME
    assert mail["IncomingMailServerPortNumber"] == 993
    assert mail["OutgoingPasswordSameAsIncomingPassword"] is False
    # the profile's password is a new app password of this device ...
    apps = api.get("/api/v1/me/app-passwords").json["app_passwords"]
    assert [a["label"] for a in apps] == ["MacBook"]
    # ... and it sends mail, over the port the profile names
    s = smtplib.SMTP_SSL("127.0.0.1", mail["OutgoingMailServerPortNumber"],
                         context=tls_client_context(panel.cert), timeout=15)
    try:
        s.login(mail["OutgoingMailServerUsername"], mail["OutgoingPassword"])
        refused = s.sendmail(addr, ["friend@remote.test"],
                             b"From: <%s>\r\nSubject: from the profile\r\n\r\nhi\r\n" % addr.encode())
        assert refused == {}
    finally:
        s.quit()
    # the same device name again is refused, and nobody else gets one
    assert api.post("/api/v1/me/profile", {"device": "MacBook"}).status == 409
    assert panel.api(key=None).post("/api/v1/me/profile", {"device": "X"}).status == 401


def test_the_set_up_files_name_the_configured_imap_server(http_server_factory):
    # [panel] imap_host and ports: the demo's Dovecot, say, on high ports
    srv = http_server_factory(panel__imap_host="imap.example.org", panel__imap_port="2993",
                              panel__imap_starttls_port="2143")
    addr, _, api = signed_in(srv, "imap")
    prov = ET.fromstring(api.get("/mail/config-v1.1.xml?emailaddress=" + addr).body).find(
        "emailProvider")
    assert [(i.get("type"), i.findtext("hostname"), i.findtext("port"), i.findtext("socketType"),
             i.findtext("username")) for i in prov.findall("incomingServer")] == [
        ("imap", "imap.example.org", "2993", "SSL", "%EMAILADDRESS%"),
        ("imap", "imap.example.org", "2143", "STARTTLS", "%EMAILADDRESS%")]
    assert {o.findtext("hostname") for o in prov.findall("outgoingServer")} == {HOSTNAME}
    r = api.call("POST", "/autodiscover/autodiscover.xml", raw=(AD_REQUEST % addr).encode())
    protos = {p.findtext(AD_RESP + "Type"): p for p in ET.fromstring(r.body).iter(AD_RESP + "Protocol")}
    assert protos["IMAP"].findtext(AD_RESP + "Server") == "imap.example.org"
    assert protos["IMAP"].findtext(AD_RESP + "Port") == "2993"
    assert protos["IMAP"].findtext(AD_RESP + "SSL") == "on"
    assert protos["SMTP"].findtext(AD_RESP + "Server") == HOSTNAME
    r = api.post("/api/v1/me/profile", {"device": "Phone"})
    (mail,) = plistlib.loads(r.body)["PayloadContent"]
    assert mail["IncomingMailServerHostName"] == "imap.example.org"
    assert mail["IncomingMailServerPortNumber"] == 2993
    assert mail["IncomingMailServerUseSSL"] is True
    assert mail["OutgoingMailServerHostName"] == HOSTNAME
    sv = api.get("/api/v1/me/servers").json
    assert (sv["imap_host"], sv["imap_port"], sv["imap_starttls_port"]) == (
        "imap.example.org", 2993, 2143)


def test_the_set_up_files_default_to_the_hostname_and_993_and_143(panel):
    addr, _, api = signed_in(panel, "imapdef")
    sv = api.get("/api/v1/me/servers").json
    assert (sv["imap_host"], sv["imap_port"], sv["imap_starttls_port"]) == (HOSTNAME, 993, 143)
    prov = ET.fromstring(api.get("/mail/config-v1.1.xml?emailaddress=" + addr).body).find(
        "emailProvider")
    assert [(i.findtext("hostname"), i.findtext("port"), i.findtext("socketType"))
            for i in prov.findall("incomingServer")] == [
        (HOSTNAME, "993", "SSL"), (HOSTNAME, "143", "STARTTLS")]


def test_two_step_sign_in_needs_a_fresh_code_after_the_password(panel):
    addr, _, api = signed_in(panel, "totp")
    assert api.get("/api/v1/me/totp").json == {"enabled": False, "since": 0, "recovery_left": 0}
    r = api.post("/api/v1/me/totp")
    assert r.status == 200, r.body
    secret = r.json["secret"]
    assert r.json["uri"].startswith("otpauth://totp/Example%%20Mail:%s?secret=%s&" % (addr, secret))
    svg = r.json["qr_svg"]
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg
    # a wrong code does not turn it on; the right one does, once
    assert api.post("/api/v1/me/totp/confirm", {"code": "000000" if totp(secret) != "000000" else "111111"}).status == 400
    t0 = time.time()
    r = api.post("/api/v1/me/totp/confirm", {"code": totp(secret, t0)})
    assert r.status == 200, r.body
    codes = r.json["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert api.get("/api/v1/me/totp").json["recovery_left"] == 10

    # the password alone gives no session, only a ticket for the code step
    other = panel.api(key=None)
    r = other.call("POST", "/api/v1/session", body={"address": addr, "password": LOGIN_PASSWORD})
    assert r.status == 200 and r.json["totp_required"] is True
    assert not r.cookies() and "csrf_token" not in r.json
    ticket = r.json["ticket"]
    assert other.get("/api/v1/me").status == 401
    bad = other.call("POST", "/api/v1/session/totp", body={"ticket": ticket, "code": "12345x"})
    assert bad.status == 401
    # the code used to confirm is spent; the next step's code is accepted
    spent = other.call("POST", "/api/v1/session/totp", body={"ticket": ticket, "code": totp(secret, t0)})
    assert spent.status == 401, spent.body
    nxt = totp(secret, t0 + 30)
    r = other.call("POST", "/api/v1/session/totp", body={"ticket": ticket, "code": nxt})
    assert r.status == 200, r.body
    other.sid, other.csrf = session_cookie(r), r.json["csrf_token"]
    assert other.get("/api/v1/me").json["address"] == addr
    # the ticket is used up, and so is the code
    again = panel.api(key=None).call("POST", "/api/v1/session/totp", body={"ticket": ticket, "code": nxt})
    assert again.status == 401
    third = panel.api(key=None)
    t2 = third.call("POST", "/api/v1/session", body={"address": addr, "password": LOGIN_PASSWORD}).json["ticket"]
    assert third.call("POST", "/api/v1/session/totp", body={"ticket": t2, "code": nxt}).status == 401
    # a recovery code works once, typed as people type it
    r = third.call("POST", "/api/v1/session/totp", body={"ticket": t2, "code": codes[0].upper().replace("-", " ")})
    assert r.status == 200, r.body
    t3 = panel.api(key=None).call("POST", "/api/v1/session", body={"address": addr, "password": LOGIN_PASSWORD}).json["ticket"]
    assert panel.api(key=None).call("POST", "/api/v1/session/totp", body={"ticket": t3, "code": codes[0]}).status == 401
    assert other.get("/api/v1/me/totp").json["recovery_left"] == 9
    # turning it off needs a code too; then the password is enough again
    assert other.post("/api/v1/me/totp/disable", {"code": "999999"}).status == 401
    assert other.post("/api/v1/me/totp/disable", {"code": codes[1]}).status == 200
    assert panel.api(key=None).login(addr).json.get("csrf_token")
    assert secret not in panel.log() and codes[2] not in panel.log()


def test_a_ticket_ends_after_five_wrong_codes(panel):
    addr, _, api = signed_in(panel, "tries")
    secret = api.post("/api/v1/me/totp").json["secret"]
    assert api.post("/api/v1/me/totp/confirm", {"code": totp(secret)}).status == 200
    c = panel.api(key=None)
    ticket = c.call("POST", "/api/v1/session", body={"address": addr, "password": LOGIN_PASSWORD}).json["ticket"]
    wrong = "%06d" % ((int(totp(secret, time.time() + 30)) + 1) % 1000000)
    for _ in range(5):
        assert c.call("POST", "/api/v1/session/totp", body={"ticket": ticket, "code": wrong}).status == 401
    r = c.call("POST", "/api/v1/session/totp", body={"ticket": ticket, "code": totp(secret, time.time() + 30)})
    assert r.status == 401 and "start again" in r.json["error"]


def captured_links(srv, addr, with_text=False):
    """The password links mailed to addr, oldest first (with the whole
    captured message if with_text)."""
    out = []
    cap = srv.data / "capture"
    if not cap.exists():
        return out
    for p in sorted(cap.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        text = p.read_text(errors="replace")
        if ("To: <%s>" % addr) in text:
            token = re.search(r"https?://[^/\s]+/#(create|reset)=(\w+)", text).group(2)
            out.append((token, text) if with_text else token)
    return out


def test_password_link_sets_a_login_password_once(panel):
    addr = "nopass%d@example.org" % (time.monotonic_ns() % 100000)
    smtp_pw = panel.cli("user", "add", addr)["smtp_password"]
    anon = panel.api(key=None)
    assert anon.login(addr).status == 401  # no login password yet
    r = anon.post("/api/v1/password/link", {"address": addr, "purpose": "create"})
    assert r.status == 200, r.body
    unknown = anon.post("/api/v1/password/link", {"address": "ghost@example.org", "purpose": "create"})
    assert (unknown.status, unknown.json) == (r.status, r.json)
    wait_until(lambda: captured_links(panel, addr), 15, "the link in the capture folder")
    ((token, mail),) = captured_links(panel, addr, with_text=True)
    assert "X-Postern-Envelope-From: <postmaster@%s>" % HOSTNAME in mail
    assert 'From: "Example Mail" <postmaster@%s>' % HOSTNAME in mail
    assert "Subject: Create your login password" in mail
    assert "Auto-Submitted: auto-generated" in mail
    assert "http://127.0.0.1:%d/#create=%s" % (panel.ports["http"], token) in mail
    # the token is in no log; a weak password and the SMTP password are refused
    assert token not in panel.log()
    weak = anon.post("/api/v1/password/reset", {"token": token, "password": "short"})
    assert weak.status == 400 and "10 characters" in weak.json["error"]
    same = anon.post("/api/v1/password/reset", {"token": token, "password": smtp_pw})
    assert same.status == 400 and "SMTP password" in same.json["error"]
    ok = anon.post("/api/v1/password/reset", {"token": token, "password": "a new Login pass 42"})
    assert ok.status == 200, ok.body
    assert anon.login(addr, "a new Login pass 42").status == 200
    # single use
    again = anon.post("/api/v1/password/reset", {"token": token, "password": "another Login pass 43"})
    assert again.status == 410
    assert anon.post("/api/v1/password/reset", {"token": "x" * 32, "password": "another Login pass 43"}).status == 410


def test_password_links_are_limited_per_account_and_per_client_without_telling(http_server_factory):
    srv = http_server_factory(delivery__mode="capture", panel__links_per_account="2",
                              panel__links_per_client="4")
    addr, _ = srv.user("limited")
    anon = srv.api(key=None)
    replies = [anon.post("/api/v1/password/link", {"address": addr}) for _ in range(3)]
    # the third ask is over the account's limit (2): not sent, same answer
    assert all(r.status == 200 and r.json == replies[0].json for r in replies)
    wait_until(lambda: len(captured_links(srv, addr)) >= 2, 15, "two links")
    time.sleep(0.5)
    assert len(captured_links(srv, addr)) == 2
    assert "result=limited" in srv.log()
    # this client has asked 3 times of its 4: one more is fine, the next
    # is refused whatever the address
    assert anon.post("/api/v1/password/link", {"address": "ghost2@example.org"}).status == 200
    r = anon.post("/api/v1/password/link", {"address": "ghost3@example.org"})
    assert r.status == 429 and "too many" in r.json["error"]


def test_forgot_password_link_ends_the_old_sessions(panel):
    addr, _, api = signed_in(panel, "forgot")
    assert api.get("/api/v1/me").status == 200
    anon = panel.api(key=None)
    assert anon.post("/api/v1/password/link", {"address": addr.upper()}).status == 200
    (token,) = wait_until(lambda: captured_links(panel, addr), 15, "the link")
    r = anon.post("/api/v1/password/reset", {"token": token, "password": "Forgot it, new one 9"})
    assert r.status == 200, r.body
    # whoever held the old session is out; the old password no longer works
    assert api.get("/api/v1/me").status == 401
    assert panel.api(key=None).login(addr).status == 401
    assert panel.api(key=None).login(addr, "Forgot it, new one 9").status == 200


def test_operator_turns_two_step_sign_in_off_for_a_locked_out_user(panel):
    addr, _, api = signed_in(panel, "lost")
    secret = api.post("/api/v1/me/totp").json["secret"]
    assert api.post("/api/v1/me/totp/confirm", {"code": totp(secret)}).status == 200
    first = panel.api(key=None).call("POST", "/api/v1/session",
                                     body={"address": addr, "password": LOGIN_PASSWORD})
    assert "ticket" in first.json
    # not something a user session may do, even to itself
    assert api.delete("/api/v1/users/%s/totp" % addr).status in (401, 403)
    r = panel.api().delete("/api/v1/users/%s/totp" % addr)
    assert r.status == 200 and r.json == {"address": addr, "two_step": False}
    assert panel.api(key=None).login(addr).json.get("csrf_token")
    r = panel.api().delete("/api/v1/users/%s/totp" % addr)
    assert r.status == 409 and "no two-step sign-in" in r.json["error"]
    # the same operation from the command line (a pending enrolment too)
    assert api.post("/api/v1/me/totp").status == 200
    assert panel.cli("user", "totp", "off", addr)["two_step"] is False
    assert api.get("/api/v1/me/totp").json["enabled"] is False
    rc, _, err = panel.cli_run("user", "totp", "off", addr)
    assert rc == 1 and "no two-step sign-in" in err
