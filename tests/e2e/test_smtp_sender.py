"""Who may send as whom: the example of the service's documentation,
verbatim, at MAIL FROM and in the From: header; and a domain's login.

  alice@example.org has the alias alice_lastname; example.net is an
  alias of example.org. Logged in as alice@example.org she may send as
  alice@example.org, alice@example.net, alice_lastname@example.org and
  alice_lastname@example.net, not as bob@example.org nor as
  alice_lastname@gmail.com.
"""
import pytest

from fixtures_smtp import make_message, queue_id

ALLOWED = ["alice@example.org", "alice@example.net", "alice_lastname@example.org",
           "alice_lastname@example.net"]
REFUSED = ["bob@example.org", "alice_lastname@gmail.com"]


@pytest.fixture
def alice(smtp_server):
    return smtp_server.session("alice@example.org", smtp_server.alice_pw)


@pytest.mark.parametrize("sender", ALLOWED)
def test_alice_may_use_her_addresses_and_aliases_in_mail_from(smtp_server, alice, sender):
    r = alice.cmd("MAIL FROM:<%s>" % sender)
    assert r.code == 250, r
    assert alice.cmd("RCPT TO:<bob@remote.test>").code == 250
    r = alice.data(make_message(frm=sender, subject="as " + sender))
    assert r.code == 250, r
    env = smtp_server.spool(queue_id(r)).env
    assert env["from"] == "<%s>" % sender
    assert env["auth"] == "alice@example.org"


@pytest.mark.parametrize("sender", ["ALICE@Example.ORG", "Alice_Lastname@EXAMPLE.NET"])
def test_the_sender_rule_ignores_case(alice, sender):
    r = alice.cmd("MAIL FROM:<%s>" % sender)
    assert r.code == 250, r


@pytest.mark.parametrize("sender", REFUSED)
def test_alice_may_not_use_other_addresses_in_mail_from(alice, sender):
    r = alice.cmd("MAIL FROM:<%s>" % sender)
    assert r.code == 553 and r.enh == "5.7.1", r
    assert "alice@example.org" in r.text, "the reply does not name the login: %s" % r
    assert sender in r.text, "the reply does not name the refused address: %s" % r
    # no transaction was opened
    assert alice.cmd("RCPT TO:<bob@remote.test>").code == 503


@pytest.mark.parametrize("header_from", ALLOWED)
def test_alice_may_use_her_addresses_in_the_from_header(smtp_server, alice, header_from):
    r = alice.mail("alice@example.org", "bob@remote.test",
                   make_message(frm=header_from, subject="header " + header_from))
    assert r.code == 250, r


@pytest.mark.parametrize("header_from", REFUSED)
def test_alice_may_not_use_other_addresses_in_the_from_header(smtp_server, alice, header_from):
    before = smtp_server.queue_ids()
    r = alice.mail("alice@example.org", "bob@remote.test",
                   make_message(frm=header_from, subject="header " + header_from))
    assert r.code == 550 and r.enh == "5.7.1", r
    assert "alice@example.org" in r.text and header_from in r.text, r
    assert smtp_server.queue_ids() == before
    # the session is still usable
    r = alice.mail("alice@example.org", "bob@remote.test", make_message(subject="after"))
    assert r.code == 250, r


@pytest.mark.parametrize("from_field", [
    b"From: Alice <alice@example.org>, Bob <bob@example.org>",
    b"From: \"alice@example.org\" <bob@example.org>",
    b"From: alice@example.org (alice_lastname@gmail.com)\r\nFrom: bob@example.org",
], ids=["two-mailboxes", "display-name-trick", "two-from-fields"])
def test_a_from_header_hiding_a_foreign_address_is_refused(smtp_server, alice, from_field):
    msg = make_message(subject="tricky from")
    msg = msg.replace(b"From: <alice@example.org>", from_field)
    r = alice.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1", r


def test_a_message_without_from_header_is_refused(smtp_server, alice):
    msg = make_message(subject="no from").replace(b"From: <alice@example.org>\r\n", b"")
    r = alice.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1", r


# --- a domain's login ---------------------------------------------------------


@pytest.fixture(scope="module")
def domain_password(smtp_server):
    smtp_server.cli("domain", "add", "example.com")
    smtp_server.cli("user", "add", "carol@example.com")
    return smtp_server.cli("smtp-password", "generate", "example.org")["password"]


@pytest.mark.parametrize("sender", ["alice@example.org", "anyone@example.org",
                                    "no-such-user@example.net", "alice_lastname@example.net"])
def test_the_domain_login_sends_from_any_address_of_its_domain(smtp_server, domain_password,
                                                                 sender):
    c = smtp_server.session("example.org", domain_password)
    r = c.mail(sender, "bob@remote.test", make_message(frm=sender, subject="domain login"))
    assert r.code == 250, r
    assert smtp_server.spool(queue_id(r)).env["auth"] == "example.org"


@pytest.mark.parametrize("sender", ["carol@example.com", "someone@gmail.com",
                                    "alice@example.org.evil.test", "alice@sub.example.org"])
def test_the_domain_login_does_not_send_from_another_domain(smtp_server, domain_password,
                                                              sender):
    c = smtp_server.session("example.org", domain_password)
    r = c.cmd("MAIL FROM:<%s>" % sender)
    assert r.code == 553 and r.enh == "5.7.1", r
    assert "example.org" in r.text and sender in r.text, r
    # nor in the From: header
    r = c.mail("anyone@example.org", "bob@remote.test", make_message(frm=sender))
    assert r.code == 550 and r.enh == "5.7.1", r


def test_a_user_password_is_not_a_domain_login(smtp_server, domain_password):
    c = smtp_server.client("submissions")
    c.ehlo()
    r = c.auth_plain("example.org", smtp_server.alice_pw)
    assert r.code == 535, r
    r = c.auth_plain("alice@example.org", domain_password)
    assert r.code == 535, r


# --- a relay network: its From: stays at its own domain -----------------------
#
# Two tenants: tenant-a.example (ceo) and tenant-b.example (carol, the
# domain alias tenant-b-alias.example), whose relay network holds
# 127.0.0.1. What comes from B's network may use any address at B's
# names in From:, and nothing else: DMARC would pass for A.


@pytest.fixture(scope="module")
def tenants(smtp_server):
    smtp_server.cli("domain", "add", "tenant-a.example")
    smtp_server.cli("user", "add", "ceo@tenant-a.example")
    smtp_server.cli("domain", "add", "tenant-b.example")
    smtp_server.cli("user", "add", "carol@tenant-b.example")
    smtp_server.cli("domain", "alias", "add", "tenant-b-alias.example", "tenant-b.example")
    smtp_server.cli("relay-net", "add", "tenant-b.example", "127.0.0.1/32")
    return smtp_server


def relay_client(srv):
    c = srv.client("smtp")
    c.ehlo()
    return c


@pytest.mark.parametrize("header_from", [
    "ceo@tenant-a.example",
    "Carol <carol@tenant-b.example>, ceo@tenant-a.example",
    "someone@gmail.example",
    "carol@tenant-b.example.evil.test",
    "alice@example.net",
], ids=["other-tenant", "second-address-other-tenant", "unrelated", "look-alike",
        "other-tenant-alias"])
def test_relay_network_mail_from_one_tenant_may_not_use_another_tenants_from(tenants,
                                                                               header_from):
    before = tenants.queue_ids()
    c = relay_client(tenants)
    msg = make_message(frm="carol@tenant-b.example", subject="as another tenant")
    msg = msg.replace(b"From: <carol@tenant-b.example>", b"From: " + header_from.encode())
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 550 and r.enh.startswith("5.7."), r
    assert "tenant-b.example" in r.text, r
    assert tenants.queue_ids() == before
    # the session goes on: the same network's own mail is still relayed
    r = c.mail("carol@tenant-b.example", "bob@remote.test",
               make_message(frm="carol@tenant-b.example", subject="after"))
    assert r.code == 250, r


@pytest.mark.parametrize("header_from", [
    "carol@tenant-b.example", "newsletter@tenant-b.example", "carol@tenant-b-alias.example",
    "CAROL@Tenant-B.Example",
])
def test_relay_network_mail_may_use_any_address_at_its_domain_and_its_aliases(tenants,
                                                                                 header_from):
    c = relay_client(tenants)
    r = c.mail("carol@tenant-b.example", "bob@remote.test",
               make_message(frm=header_from, subject="from " + header_from))
    assert r.code == 250, r
    env = tenants.spool(queue_id(r)).env
    assert env["auth"] == "-"
    # what the signer may sign for: the relay network's domain
    assert env["domain"] == "tenant-b.example"


def test_relay_network_mail_without_a_from_header_is_refused(tenants):
    c = relay_client(tenants)
    msg = make_message(frm="carol@tenant-b.example").replace(
        b"From: <carol@tenant-b.example>\r\n", b"")
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1", r


def test_the_envelope_records_the_login_domain_for_the_signer(smtp_server, alice):
    r = alice.mail("alice@example.net", "bob@remote.test",
                   make_message(frm="alice@example.net", subject="domain recorded"))
    assert r.code == 250, r
    assert smtp_server.spool(queue_id(r)).env["domain"] == "example.org"


# --- From:, Sender:, Resent-From: are read as every mail program reads them ---
#
# The issue's attacks: alice, logged in, writes a From: that an address
# parser of her own reads as alice, while Python's email package (and
# the mail programs and DMARC verifiers that parse the same way) reads
# the CEO of another company. The strict RFC 5322 grammar refuses both.

ATTACKS = [
    "ceo@victim.example:alice@example.org",
    "ceo@victim.example <alice@example.org>",
    "ceo@victim.example Alice <alice@example.org>",
    "Friends: alice@example.org",
]


def python_reads(field_value):
    """The addresses Python's email package reads in a From: value."""
    import email
    import email.policy
    m = email.message_from_bytes(b"From: " + field_value.encode() + b"\r\n\r\nx",
                                 policy=email.policy.default)
    return [a.addr_spec for a in m["From"].addresses]


def with_field(msg, name, value):
    """msg with its From: replaced (name "From") or a field added."""
    if name == "From":
        return msg.replace(b"From: <alice@example.org>", b"From: " + value.encode())
    return msg.replace(b"\r\n\r\n", ("\r\n%s: %s\r\n\r\n" % (name, value)).encode(), 1)


@pytest.mark.parametrize("value", ATTACKS[:2], ids=["colon", "address-as-display-name"])
def test_the_issues_from_attacks_would_be_read_as_the_ceo(value):
    assert python_reads(value) == ["ceo@victim.example"]


@pytest.mark.parametrize("name", ["From", "Sender", "Resent-From"])
@pytest.mark.parametrize("value", ATTACKS, ids=["colon", "address-as-display-name",
                                                "at-in-display-name", "group-without-semicolon"])
def test_an_originator_field_read_differently_by_mail_programs_is_refused(smtp_server, alice,
                                                                           name, value):
    before = smtp_server.queue_ids()
    msg = with_field(make_message(subject="ambiguous " + name), name, value)
    r = alice.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1", r
    assert ("%s:" % name) in r.text and "RFC 5322" in r.text, r
    assert smtp_server.queue_ids() == before


@pytest.mark.parametrize("value", [
    '"Lastname, Alice" <alice@example.org>',
    "=?utf-8?q?Al=C3=AFce_Lastname?= <alice@example.org>",
    "alice@example.org (Alice Lastname)",
    '"alice"@example.org',
    "Alice Q. Lastname <alice_lastname@example.net>",
    '"Alice\r\n Lastname"\r\n\t<alice@example.org>',
], ids=["quoted-comma", "encoded-word", "comment", "quoted-local-part", "obs-phrase-dot",
        "folded"])
def test_the_usual_from_forms_of_mail_programs_are_accepted(smtp_server, alice, value):
    msg = with_field(make_message(subject="usual form"), "From", value)
    r = alice.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 250, r


def test_a_group_in_from_is_refused_even_with_its_semicolon(alice):
    msg = with_field(make_message(), "From", "Friends: alice@example.org;")
    r = alice.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1" and "group" in r.text, r


@pytest.mark.parametrize("name", ["Sender", "Resent-From", "Resent-Sender"])
def test_sender_and_resent_from_follow_the_sender_rule(smtp_server, alice, name):
    msg = with_field(make_message(subject="own " + name), name, "Alice <alice@example.net>")
    r = alice.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 250, r
    before = smtp_server.queue_ids()
    msg = with_field(make_message(subject="foreign " + name), name, "Bob <bob@example.org>")
    r = alice.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1", r
    assert ("%s: <bob@example.org>" % name) in r.text, r
    assert smtp_server.queue_ids() == before


def test_two_sender_fields_are_refused(smtp_server, alice):
    msg = with_field(make_message(), "Sender", "alice@example.org")
    msg = with_field(msg, "Sender", "alice@example.net")
    r = alice.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1" and "Sender:" in r.text, r


def test_a_sender_field_with_two_mailboxes_is_refused(alice):
    msg = with_field(make_message(), "Sender", "alice@example.org, alice@example.net")
    r = alice.mail("alice@example.org", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1", r


@pytest.mark.parametrize("value", ["ceo@tenant-a.example <carol@tenant-b.example>",
                                   "ceo@tenant-a.example:carol@tenant-b.example"])
def test_a_relay_network_cannot_hide_another_tenant_in_its_from_either(tenants, value):
    before = tenants.queue_ids()
    c = relay_client(tenants)
    msg = make_message(frm="carol@tenant-b.example", subject="hidden tenant")
    msg = msg.replace(b"From: <carol@tenant-b.example>", b"From: " + value.encode())
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1", r
    assert tenants.queue_ids() == before


@pytest.mark.parametrize("lead", [b" From: ceo@victim.example\r\n",
                                  b"From\x0b: ceo@victim.example\r\n"],
                         ids=["first-line-folded", "vertical-tab"])
def test_a_field_that_a_lenient_program_may_take_for_from_is_refused(smtp_server, alice, lead):
    """postern's scan skips these, and so does Python's parser; a
    lenient mail program may show them as the From:."""
    before = smtp_server.queue_ids()
    r = alice.mail("alice@example.org", "bob@remote.test", lead + make_message())
    assert r.code == 550 and r.enh == "5.7.1" and "From:" in r.text, r
    assert smtp_server.queue_ids() == before


# --- what lenient programs take for white space -------------------------------
#
# Programs that decode a header line as text and then treat every Unicode
# white space as a blank (postal-mime, behind many inbound-mail services:
# a line starting with JavaScript's \s continues the field before it,
# runs of \s become one space, the name is trimmed, the last From: wins)
# read a From: where postern's scan sees none: "From<NBSP>:" is From:,
# and a line starting with <VT> or <NBSP> right after From: is part of
# it. Relayed for tenant B, signed d=tenant-b, shown as tenant A's CEO.

JS_SPACE = ("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
            "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")


def lenient_from_value(message):
    """The From: value such a program reads in message (bytes)."""
    import re
    head = message.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    fields = []
    for line in head.split("\r\n"):
        if fields and line[:1] and line[:1] in JS_SPACE:
            fields[-1] += "\n" + line
        else:
            fields.append(line)
    froms = []
    for f in fields:
        f = re.sub("[%s]+" % re.escape(JS_SPACE), " ", f)
        name, sep, value = f.partition(":")
        if sep and name.strip(JS_SPACE).lower() == "from":
            froms.append(value.strip(JS_SPACE))
    return froms[-1] if froms else ""


@pytest.mark.parametrize("old,new", [
    (b"\r\n\r\n", "\r\nFrom\u00a0: ceo@tenant-a.example\r\n\r\n"),
    (b"\r\n\r\n", "\r\nFrom\u3000: ceo@tenant-a.example\r\n\r\n"),
    (b"\r\n\r\n", "\r\nSender\u2007: ceo@tenant-a.example\r\nFrom\u202f:ceo@tenant-a.example"
                  "\r\n\r\n"),
    (b"From: <carol@tenant-b.example>",
     "From: carol@tenant-b.example\r\n\x0b<ceo@tenant-a.example>"),
    (b"From: <carol@tenant-b.example>",
     "From: carol@tenant-b.example\r\n\u00a0<ceo@tenant-a.example>"),
    (b"From: <carol@tenant-b.example>",
     "From: carol@tenant-b.example\r\n\x0c<ceo@tenant-a.example>"),
], ids=["nbsp-before-colon", "ideographic-space", "figure-space-sender", "vt-fold", "nbsp-fold",
        "ff-fold"])
def test_unicode_blanks_cannot_hide_another_tenant_in_from(tenants, old, new):
    before = tenants.queue_ids()
    msg = make_message(frm="carol@tenant-b.example", subject="unicode blanks")
    msg = msg.replace(old, new.encode(), 1)
    # what the attack is for: a lenient program's From: holds the other
    # tenant (alone, or after the address postern would check)
    assert "ceo@tenant-a.example" in lenient_from_value(msg), lenient_from_value(msg)
    c = relay_client(tenants)
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1", r
    assert tenants.queue_ids() == before
    # the same network's own mail is still relayed
    r = c.mail("carol@tenant-b.example", "bob@remote.test",
               make_message(frm="carol@tenant-b.example", subject="after"))
    assert r.code == 250, r


def test_eight_bit_text_in_header_values_is_still_accepted(tenants):
    """Only names and line starts are judged: UTF-8 in a value (RFC 6532)
    and in a folded Subject: goes through."""
    msg = make_message(frm="carol@tenant-b.example", subject="Gr\u00fc\u00dfe",
                       extra=["X-Note: caf\u00e9\u00a0au lait",
                              "Comments: a\r\n \u00a0folded line"])
    msg = msg.replace(b"From: <carol@tenant-b.example>",
                      "From: Ca\u00efrol\u00a0B <carol@tenant-b.example>".encode())
    c = relay_client(tenants)
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 250, r


# --- comments that end early for a tokenizer that does not nest them --------
#
# RFC 5322 comments nest and hold quoted-pairs; postal-mime's address
# tokenizer (and other simple ones) ends a comment at its first ")",
# escaped or nested alike, and reads the rest as address text: its
# "<ceo@tenant-a.example>" becomes the From: address.


def flat_comment_reading(value):
    """value with its comments removed by a tokenizer that ends each at
    its first ')' (no nesting, no quoted-pairs)."""
    import re
    return re.sub(r"\([^)]*\)", " ", value)


@pytest.mark.parametrize("value", [
    "carol@tenant-b.example (a (b) <ceo@tenant-a.example>)",
    "carol@tenant-b.example (\\) <ceo@tenant-a.example>)",
    "Carol (x (y) <ceo@tenant-a.example> z) <carol@tenant-b.example>",
], ids=["nested", "quoted-pair", "nested-in-display-name"])
def test_a_comment_that_ends_early_for_simple_tokenizers_is_refused(tenants, value):
    assert "<ceo@tenant-a.example>" in flat_comment_reading(value)
    before = tenants.queue_ids()
    msg = make_message(frm="carol@tenant-b.example", subject="early comment end")
    msg = msg.replace(b"From: <carol@tenant-b.example>", b"From: " + value.encode())
    c = relay_client(tenants)
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1" and "comment" in r.text, r
    assert tenants.queue_ids() == before
    # a flat comment, as mail programs write one, still goes
    r = c.mail("carol@tenant-b.example", "bob@remote.test",
               make_message(frm="carol@tenant-b.example", subject="flat comment").replace(
                   b"From: <carol@tenant-b.example>",
                   b"From: carol@tenant-b.example (Carol, Sales)"))
    assert r.code == 250, r


@pytest.mark.parametrize("value", [
    "Carol <(ceo@tenant-a.example>) carol@tenant-b.example>",
    "<(ceo@tenant-a.example>)carol@tenant-b.example>",
], ids=["with-a-display-name", "alone"])
def test_a_comment_inside_angle_brackets_is_refused(tenants, value):
    """Inside < > postal-mime's tokenizer knows no comment: the address
    is whatever comes before the first '>', here holding tenant A."""
    inside = value[value.index("<") + 1:value.index(">")]
    assert inside.strip("( ") == "ceo@tenant-a.example", inside
    before = tenants.queue_ids()
    msg = make_message(frm="carol@tenant-b.example", subject="comment in angle")
    msg = msg.replace(b"From: <carol@tenant-b.example>", b"From: " + value.encode())
    c = relay_client(tenants)
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1" and "comment" in r.text, r
    assert tenants.queue_ids() == before


# --- encoded-words that decode to an address ---------------------------------
#
# Many programs decode a field's encoded-words first and parse the text
# after (Python's getaddresses(str(make_header(decode_header(v)))), a
# common idiom; some webmail and ticket systems): a display name that
# decodes to "<ceo@tenant-a.example>," becomes the first address.


def decode_first_reads(value):
    import email.header
    import email.utils
    text = str(email.header.make_header(email.header.decode_header(value)))
    return [a for _, a in email.utils.getaddresses([text])]


def b64w(charset, text):
    import base64
    return "=?%s?b?%s?=" % (charset, base64.b64encode(text.encode(charset)).decode())


@pytest.mark.parametrize("name", [
    "=?utf-8?q?=3Cceo=40tenant-a.example=3E=2C?=",
    b64w("utf-8", "ceo@tenant-a.example,"),
    "Carol " + b64w("utf-8", "<ceo@tenant-a.example>,")[:-3].rstrip("=") + "?=",
    "=?iso-8859-1?Q?=3Cceo=40tenant-a.example=3E=2C?=",
    "=?utf-7?q?+ADw-ceo+AEA-tenant-a.example+AD4-+ACw-?=",
    "=?iso-2022-jp?q?=1B=28B=3Cceo=40tenant-a.example=3E=2C?=",
    "=?iso-2022-kr?q?=1B=24=29C=3Cceo=40tenant-a.example=3E=2C?=",
], ids=["q", "b", "b-unpadded", "latin1", "utf-7", "iso-2022-jp-ascii",
        "iso-2022-kr-after-designation"])
def test_a_display_name_that_decodes_to_an_address_is_refused(tenants, name):
    value = name + " <carol@tenant-b.example>"
    assert decode_first_reads(value)[0] == "ceo@tenant-a.example", decode_first_reads(value)
    before = tenants.queue_ids()
    msg = make_message(frm="carol@tenant-b.example", subject="encoded address")
    msg = msg.replace(b"From: <carol@tenant-b.example>", b"From: " + value.encode())
    c = relay_client(tenants)
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1" and "encoded-word" in r.text, r
    assert tenants.queue_ids() == before


@pytest.mark.parametrize("name", [
    "=?utf-8?q?M=C3=BCller=2C_J=C3=B6rg?=",
    b64w("iso-2022-jp", "\u58f0\u5e2b"),  # JIS bytes '@<' and others
    b64w("shift_jis", "\u30a1\u30a2"),    # a trail byte '@'
    '"=?utf-8?q?Carol_Sales?="',
    "=?windows-1252?q?J=F6rg?=",
    b64w("iso-2022-kr", "\uac00"),
], ids=["comma-in-a-name", "iso-2022-jp-kanji", "shift-jis-trail-byte", "quoted",
        "windows-1252", "iso-2022-kr"])
def test_display_names_in_other_scripts_and_charsets_still_go(tenants, name):
    c = relay_client(tenants)
    msg = make_message(frm="carol@tenant-b.example", subject="charset name").replace(
        b"From: <carol@tenant-b.example>",
        b"From: " + name.encode() + b" <carol@tenant-b.example>")
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 250, r


@pytest.mark.parametrize("value", [
    "Carol (=?utf-8?q?=29_=3Cceo=40tenant-a.example=3E=2C_=28?=) <carol@tenant-b.example>",
    "Carol (=?utf-8?q?=29?= <ceo@tenant-a.example>, =?utf-8?q?=28?=) <carol@tenant-b.example>",
], ids=["decodes-to-an-address", "decodes-to-parentheses-around-one"])
def test_an_encoded_word_in_a_comment_cannot_let_an_address_out(tenants, value):
    """A decoder that decodes comments too turns the comment's text into
    a closing parenthesis, another tenant's address, and an opening one."""
    assert decode_first_reads(value)[0] == "ceo@tenant-a.example", decode_first_reads(value)
    before = tenants.queue_ids()
    msg = make_message(frm="carol@tenant-b.example", subject="encoded comment")
    msg = msg.replace(b"From: <carol@tenant-b.example>", b"From: " + value.encode())
    c = relay_client(tenants)
    r = c.mail("carol@tenant-b.example", "bob@remote.test", msg)
    assert r.code == 550 and r.enh == "5.7.1" and "encoded-word" in r.text, r
    assert tenants.queue_ids() == before
    r = c.mail("carol@tenant-b.example", "bob@remote.test",
               make_message(frm="carol@tenant-b.example", subject="plain comment").replace(
                   b"From: <carol@tenant-b.example>",
                   b"From: carol@tenant-b.example (=?utf-8?q?J=C3=B6rg=2C_Sales?=)"))
    assert r.code == 250, r
