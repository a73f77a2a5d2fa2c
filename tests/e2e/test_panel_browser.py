"""
The panel in a real browser: headless Chromium driven by Selenium, one
browser for the module. What an end user does: sign in, accept the terms,
reveal and copy the SMTP password, replace it (and send mail with the new
one while the old one is refused), app passwords, the password link from
the mailbox, two-step sign-in. Every page is saved as a screenshot in the
test's folder (tmp_path).
"""
import base64
import hashlib
import hmac
import plistlib
import re
import smtplib
import socket
import struct
import time

import pytest

from fixtures_delivery import wait_until
from fixtures_http import HttpServer, LOGIN_PASSWORD
from fixtures_smtp import HOSTNAME, _check_binary, tls_client_context

# python3-selenium, chromium and chromium-driver: scripts/deps.sh test
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

TERMS = "Use this service kindly.\nNo spam, ever."


def totp(secret_b32, t):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(t // 30)), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7fffffff) % 1000000)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    _check_binary()
    root = tmp_path_factory.mktemp("panel-browser")
    s = HttpServer(root / "postern", delivery__mode="capture", auth__fail_delay="10",
                   http__login_failures="1000", panel__name="Example Mail",
                   mailbox__dict_socket=str(root / "dict.sock"))
    s.conf_set("panel", "url", "http://127.0.0.1:%d/" % s.ports["http"])
    s.dict_socket = str(root / "dict.sock")
    s.cli("domain", "add", "example.org", "--dkim", "ed25519")
    (root / "tos.txt").write_text(TERMS + "\n")
    s.cli("tos", "set", str(root / "tos.txt"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser(srv, tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--disable-extensions", "--no-first-run"):
        o.add_argument(a)
    o.binary_location = "/usr/bin/chromium"
    o.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                        "download.prompt_for_download": False})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.downloads = downloads
    d.base = "http://127.0.0.1:%d" % srv.ports["http"]
    # the copy buttons write to the clipboard; the test reads it back
    d.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": d.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    yield d
    d.quit()


class Page:
    def __init__(self, d, shots):
        self.d = d
        self.shots = shots
        self.n = 0

    def open(self, path="/"):
        self.d.get(self.d.base + path)

    def el(self, id_):
        return self.d.find_element(By.ID, id_)

    def visible(self, id_, timeout=10):
        return WebDriverWait(self.d, timeout).until(EC.visibility_of_element_located((By.ID, id_)))

    def gone(self, id_, timeout=10):
        WebDriverWait(self.d, timeout).until(EC.invisibility_of_element_located((By.ID, id_)))

    def text_is(self, id_, pred, timeout=10):
        WebDriverWait(self.d, timeout).until(lambda d: pred(d.find_element(By.ID, id_).text))
        return self.el(id_).text

    def type(self, id_, text):
        e = self.visible(id_)
        e.clear()
        e.send_keys(text)

    def click(self, id_):
        self.visible(id_).click()

    def shot(self, name):
        self.n += 1
        path = self.shots / ("%02d-%s.png" % (self.n, name))
        self.d.save_screenshot(str(path))
        return path

    def clipboard(self):
        return self.d.execute_async_script(
            "var done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, function (e) { done('ERR ' + e); });")

    def sign_in(self, addr, password=LOGIN_PASSWORD):
        self.d.delete_all_cookies()
        self.open("/#login")
        self.d.refresh()
        self.type("login-address", addr)
        self.type("login-password", password)
        self.click("login-submit")


@pytest.fixture
def page(browser, tmp_path):
    return Page(browser, tmp_path)


def smtp_login(srv, login, password):
    """AUTH over submissions: None if accepted, else the reply code."""
    s = smtplib.SMTP_SSL("127.0.0.1", srv.ports["submissions"],
                         context=tls_client_context(srv.cert), timeout=15)
    try:
        s.login(login, password)
        return s
    except smtplib.SMTPAuthenticationError as e:
        s.quit()
        return e.smtp_code


def test_sign_in_accept_terms_reveal_copy_and_replace_the_smtp_password(srv, page):
    addr, smtp_pw = srv.user("relay")
    page.open("/")
    page.visible("v-login")
    page.shot("sign-in")
    page.sign_in(addr, "not the password")
    assert "wrong address or password" in page.text_is("login-error", bool)
    page.type("login-password", LOGIN_PASSWORD)
    page.click("login-submit")
    # the terms come first, instead of credentials
    page.visible("relay-terms")
    assert not page.el("relay-creds").is_displayed()
    assert page.el("terms-text").text.strip() == TERMS
    assert page.el("who-address").text == addr
    page.shot("terms")
    page.click("terms-accept")
    page.visible("relay-creds")
    assert srv.api().get("/api/v1/users/" + addr).json["tos_accepted"] is True
    assert page.el("relay-host").text == HOSTNAME
    assert page.el("relay-login").text == addr
    ports = page.el("relay-ports").text
    assert str(srv.ports["submissions"]) in ports and str(srv.ports["submission"]) in ports
    assert set(page.el("smtp-password").text) == {"•"}
    # the eye shows it, and hides it again
    page.click("reveal-smtp")
    assert page.text_is("smtp-password", lambda t: "•" not in t) == smtp_pw
    page.shot("relay-revealed")
    page.click("reveal-smtp")
    page.text_is("smtp-password", lambda t: set(t) == {"•"})
    # copy puts the password on the clipboard without showing it
    page.click("copy-smtp")
    page.visible("copied-smtp")
    assert page.clipboard() == smtp_pw
    assert set(page.el("smtp-password").text) == {"•"}
    assert re.search(r'http\.secret call=smtp-password\.show login="?%s' % re.escape(addr), srv.log())
    # a new one, after a confirmation
    page.click("regen-start")
    page.visible("regen-confirm")
    page.shot("regenerate-confirm")
    page.click("regen-yes")
    page.visible("regen-done")
    new_pw = page.text_is("smtp-password", lambda t: "•" not in t and t != smtp_pw)
    page.shot("regenerated")
    assert len(new_pw) == 20
    # the old one stops at once; the new one sends
    assert smtp_login(srv, addr, smtp_pw) == 535
    s = smtp_login(srv, addr, new_pw)
    assert not isinstance(s, int), "the new password is refused: %s" % s
    try:
        assert s.sendmail(addr, ["friend@remote.test"],
                          b"From: <%s>\r\nSubject: new password\r\n\r\nworks\r\n" % addr.encode()) == {}
    finally:
        s.quit()
    # recent sign-ins show both, the refused one included
    page.open("/#signins")
    page.visible("signin-table")
    rows = page.el("signin-rows").text
    assert "failed" in rows and "ok" in rows and "smtp password" in rows
    page.shot("sign-ins")


def test_create_use_and_revoke_an_app_password(srv, page):
    addr, _ = srv.user("apps")
    srv.cli("tos", "accept", addr)
    page.sign_in(addr)
    page.visible("relay-creds")
    page.d.find_element(By.CSS_SELECTOR, ".side a[data-view=apps]").click()
    page.visible("v-apps")
    assert page.el("app-none").is_displayed()
    page.type("app-label", "Phone")
    page.click("app-create")
    page.visible("app-new")
    pw = page.el("app-new-password").text
    assert page.el("app-new-label").text == "Phone" and len(pw) == 20
    page.text_is("app-rows", lambda t: "Phone" in t and "never" in t)
    page.shot("app-passwords")
    s = smtp_login(srv, addr, pw)
    assert not isinstance(s, int)
    s.quit()
    # revoking asks once more, then the password stops
    btn = page.d.find_element(By.CSS_SELECTOR, "#app-rows button")
    btn.click()
    assert btn.text == "Revoke now?"
    btn.click()
    page.visible("app-none")
    assert smtp_login(srv, addr, pw) == 535


def test_set_up_page_downloads_a_profile_that_sends(srv, page):
    addr, _ = srv.user("setup")
    srv.cli("tos", "accept", addr)
    page.sign_in(addr)
    page.visible("relay-creds")
    page.open("/#setup")
    page.visible("v-setup")
    assert page.el("autoconfig-url").text == "/.well-known/autoconfig/mail/config-v1.1.xml"
    assert page.el("setup-imap-host").text == HOSTNAME
    assert page.el("setup-imap-ports").text == "993 (SSL/TLS) or 143 (STARTTLS)"
    page.type("profile-device", "iPad")
    page.click("profile-download")
    page.visible("profile-done")
    page.shot("set-up")
    want = page.d.downloads / (addr + ".mobileconfig")
    wait_until(lambda: want.exists() and want.stat().st_size > 0, 10, "the downloaded profile")
    mail = plistlib.loads(want.read_bytes())["PayloadContent"][0]
    assert mail["OutgoingMailServerHostName"] == HOSTNAME
    s = smtp_login(srv, mail["OutgoingMailServerUsername"], mail["OutgoingPassword"])
    assert not isinstance(s, int)
    s.quit()


def test_blocked_account_sees_why_and_whom_to_contact(srv, page):
    addr, _ = srv.user("blocked")
    srv.cli("tos", "accept", addr)
    srv.cli("user", "block", addr, "--reason", "spam complaints")
    page.sign_in(addr)
    page.visible("relay-blocked")
    assert page.el("blocked-reason").text == "spam complaints"
    assert page.el("blocked-contact").text == "postmaster@%s" % HOSTNAME
    page.shot("blocked")
    # a phone-sized window: the navigation folds above the content
    page.d.set_window_size(400, 860)
    try:
        page.visible("relay-blocked")
        nav = page.d.find_element(By.CSS_SELECTOR, "nav.side").rect
        body = page.el("relay-blocked").rect
        assert nav["y"] + nav["height"] <= body["y"] and body["width"] <= 400
        page.shot("blocked-narrow")
    finally:
        page.d.set_window_size(1280, 900)


def test_password_link_from_the_mailbox_sets_the_login_password(srv, page):
    addr = "linked%d@example.org" % (time.monotonic_ns() % 100000)
    srv.cli("user", "add", addr)  # no login password
    page.d.delete_all_cookies()
    page.open("/#login")
    page.d.refresh()
    page.click("to-create")
    page.visible("v-forgot")
    assert page.el("forgot-title").text == "Create a local password"
    page.type("forgot-address", addr)
    page.click("forgot-submit")
    assert "If this address has an account" in page.text_is("forgot-sent", bool)
    page.shot("create-password-sent")
    cap = srv.data / "capture"

    def link():
        for p in cap.glob("*.eml") if cap.exists() else []:
            t = p.read_text(errors="replace")
            if "To: <%s>" % addr in t:
                return re.search(r"(http://\S+/#create=\w+)", t).group(1)
        return None
    url = wait_until(link, 15, "the link in the capture folder")
    page.d.get(url)
    page.visible("v-reset")
    # the token leaves the address bar at once
    assert "create=" not in page.d.current_url
    # long enough for the form, too plain for the server
    page.type("reset-password", "aaaaaaaaaaaa")
    page.type("reset-again", "aaaaaaaaaaaa")
    page.click("reset-submit")
    assert "16 characters" in page.text_is("reset-error", bool)
    page.type("reset-password", "Brand new login 77")
    page.type("reset-again", "Brand new login 77")
    page.shot("choose-password")
    page.click("reset-submit")
    page.visible("reset-done")
    page.sign_in(addr, "Brand new login 77")
    page.visible("v-relay")
    assert page.el("who-address").text == addr


def test_two_step_sign_in_enrolment_and_login(srv, page):
    addr, _ = srv.user("twostep")
    srv.cli("tos", "accept", addr)
    page.sign_in(addr)
    page.visible("relay-creds")
    page.open("/#security")
    page.click("totp-start")
    page.visible("totp-enrol")
    qr = page.el("totp-qr")
    WebDriverWait(page.d, 5).until(lambda d: d.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 100", qr))
    secret = page.el("totp-secret").text.replace(" ", "")
    page.shot("totp-enrol")
    t0 = time.time()
    page.type("totp-confirm-code", totp(secret, t0))
    page.click("totp-confirm")
    page.visible("totp-codes")
    codes = [li.text for li in page.d.find_elements(By.CSS_SELECTOR, "#totp-code-list li")]
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes)
    page.shot("totp-recovery-codes")
    # sign out, and in again: the password, then a code
    page.click("logout")
    page.visible("v-login")
    page.type("login-address", addr)
    page.type("login-password", LOGIN_PASSWORD)
    page.click("login-submit")
    page.visible("v-totp")
    page.shot("totp-step")
    page.type("totp-code", totp(secret, t0))  # spent at enrolment
    page.el("totp-code").send_keys(Keys.ENTER)
    assert "not right" in page.text_is("totp-error", bool)
    page.type("totp-code", totp(secret, t0 + 30))
    page.click("totp-submit")
    page.visible("v-relay")
    page.open("/#security")
    page.visible("totp-on")
    assert page.el("totp-left").text == "10"
    page.shot("security")


def test_the_mailbox_quota_and_its_usage_are_shown(srv, page):
    addr, _ = srv.user("mailbox")
    srv.cli("tos", "accept", addr)
    srv.cli("user", "quota", addr, "--mailbox", "2G")
    page.sign_in(addr)
    page.visible("mailbox-card")
    # nothing counted by Dovecot yet: an empty mailbox of 2 GB
    assert page.el("mailbox-used").text == "0 bytes in 0 messages, of 2 GB"
    # Dovecot's quota plugin reports a recount, as its dict client would
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(srv.dict_socket)
        s.sendall(("H3\t2\t0\t\tquota\nB1\t%s\nU1\tpriv/quota/storage\n"
                   "S1\tpriv/quota/storage\t1572864\nS1\tpriv/quota/messages\t3\n"
                   "C1\n" % addr.lower()).encode())
        assert s.recv(64) == b"O1\n"
    page.d.refresh()
    page.visible("mailbox-card")
    assert page.el("mailbox-used").text == "1.5 MB in 3 messages, of 2 GB"
    page.shot("mailbox")
