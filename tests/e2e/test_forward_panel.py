"""
The panel's Forwarding page in headless Chromium (issue 14): a user adds
a forwarding address, sees it waiting for confirmation, the link mailed
to it opens a page that asks before it confirms, and the user's page then
shows it confirmed; the mode (keep a copy or not) is a choice saved at
once; an address is removed with a second click. Screenshots of every
step are saved in the test's folder.
"""
import re

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from fixtures_delivery import wait_until
from fixtures_http import LOGIN_PASSWORD
from test_forward import World
from test_panel_browser import Page


@pytest.fixture
def browser(tmp_path):
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,900", "--disable-extensions", "--no-first-run"):
        o.add_argument(a)
    o.binary_location = "/usr/bin/chromium"
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    yield d
    d.quit()


def test_the_forwarding_page_adds_confirms_and_removes_an_address(delivery, browser, tmp_path):
    w = World(delivery)
    srv = w.srv
    srv.cli("user", "password", "alice@example.org", "--stdin", stdin=LOGIN_PASSWORD + "\n")
    browser.base = "http://127.0.0.1:%d" % srv.ports["http"]
    p = Page(browser, tmp_path)
    p.sign_in("alice@example.org")
    p.visible("who-address")
    p.open("/#forward")
    p.visible("fwd-none")
    assert p.el("fwd-keep").is_selected()
    p.type("fwd-target", "friend@target.test")
    p.click("fwd-add")
    p.text_is("fwd-sent", lambda t: "friend@target.test" in t)
    p.text_is("fwd-rows", lambda t: "waiting for confirmation" in t)
    p.shot("forward-pending")

    # the link, opened where the target reads mail (no session there)
    _, base, token = w.confirmation("friend@target.test")
    main = browser.current_window_handle
    browser.switch_to.new_window("window")
    browser.delete_all_cookies()
    browser.get("%s/#forward=%s" % (base, token))
    p.text_is("fwdc-ask", lambda t: "alice@example.org" in t and "friend@target.test" in t)
    # the token left the address bar; opening the page confirmed nothing
    assert token not in browser.current_url
    assert srv.cli("user", "forward", "list", "alice@example.org")["targets"][0]["status"] \
        == "pending"
    p.shot("confirm-ask")
    p.click("fwdc-submit")
    p.text_is("fwdc-done", lambda t: "friend@target.test" in t)
    p.shot("confirm-done")
    browser.close()
    browser.switch_to.window(main)

    # back as alice: confirmed; forward only, saved at once
    p.sign_in("alice@example.org")
    p.visible("who-address")
    p.open("/#forward")
    p.text_is("fwd-rows", lambda t: "confirmed" in t and "waiting" not in t)
    p.click("fwd-only")
    p.visible("fwd-mode-saved")
    assert srv.cli("user", "forward", "list", "alice@example.org")["mode"] == "only"
    p.shot("forward-confirmed")
    shot = p.shot("forward-page")
    assert shot.stat().st_size > 10000

    # forwarding to one's own address is refused, with the reason
    p.type("fwd-target", "Alice@Example.ORG")
    p.click("fwd-add")
    p.text_is("fwd-error", lambda t: "own address" in t)

    # removing takes a second click
    remove = browser.find_element("css selector", "#fwd-rows button")
    remove.click()
    assert remove.text == "Remove now?"
    remove.click()
    p.visible("fwd-none")
    assert srv.cli("user", "forward", "list", "alice@example.org")["targets"] == []
    wait_until(lambda: re.search(r"forward\.remove user=alice@example.org "
                                 r"target=<friend@target.test> actor=panel", srv.log()), 5,
               "the removal in the log")
