"""Postern as attackers and careless clients meet it (issue 11): weak TLS
suites, bad SASL base64, unbounded BDAT from nobody, clients that talk
before the greeting or never finish a handshake, 8-bit EHLO names in the
Received: header, and IPv6 clients that own a whole /64.
"""
import os
import re
import socket
import ssl
import subprocess
import sys
import time

import pytest

from fixtures_smtp import (HOSTNAME, Server, SmtpClient, b64, make_message, plain_ir,
                           provision_documentation_example, queue_id, split_header,
                           tls_client_context)

HERE = os.path.dirname(os.path.abspath(__file__))


# --- TLS suites (item 17) ---------------------------------------------------


def s_client(port, *args, data=b"Q\n", timeout=20):
    """openssl s_client against 127.0.0.1:port; (returncode, output)."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-servername", HOSTNAME] + list(args),
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def negotiated_cipher(out):
    m = re.search(r"Cipher is (\S+)", out)
    return m.group(1) if m else None


def make_rsa_cert(srv):
    """Replace the setup's ECDSA certificate by an RSA one (as an operator
    with a CA's RSA certificate would)."""
    key = srv.data / "tls" / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(srv.cert), "-days", "2",
                    "-subj", "/CN=" + HOSTNAME], check=True, capture_output=True)
    os.chmod(key, 0o600)


@pytest.mark.parametrize("keytype", ["ecdsa", "rsa"])
@pytest.mark.parametrize("port", ["submissions", "http"])
def test_tls_refuses_cbc_sha1_suites_and_accepts_aead_ones(smtp_server_factory, keytype, port):
    srv = smtp_server_factory(start=False)
    if keytype == "rsa":
        make_rsa_cert(srv)
    srv.start()
    sig = "ECDSA" if keytype == "ecdsa" else "RSA"
    for weak in ("ECDHE-%s-AES128-SHA" % sig, "ECDHE-%s-AES256-SHA" % sig,
                 "ECDHE-%s-AES128-SHA256" % sig):
        rc, out = s_client(srv.ports[port], "-tls1_2", "-cipher", weak)
        assert negotiated_cipher(out) in (None, "(NONE)"), \
            "%s on %s accepted %s:\n%s" % (keytype, port, weak, out[-2000:])
        assert rc != 0, out[-2000:]
    for good in ("ECDHE-%s-AES128-GCM-SHA256" % sig, "ECDHE-%s-CHACHA20-POLY1305" % sig):
        rc, out = s_client(srv.ports[port], "-tls1_2", "-cipher", good)
        assert negotiated_cipher(out) == good, out[-2000:]
    rc, out = s_client(srv.ports[port], "-tls1_3")
    assert "TLSv1.3" in out and negotiated_cipher(out), out[-2000:]
