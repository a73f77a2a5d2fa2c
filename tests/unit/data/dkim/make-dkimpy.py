#!/usr/bin/python3
# Regenerate the dkimpy fixtures of tests/unit/test_dkim_verify.c: messages
# signed by dkimpy (Debian's python3-dkim), an implementation other than
# postern's, with the public halves of the keys as DNS TXT values. The
# private keys live only while this runs. Run from this folder:
#     /usr/bin/python3 make-dkimpy.py
import base64
import subprocess
import tempfile

import dkim
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DOMAIN = b"dkimpy.example"
MSG = (b"From: Alice Example <alice@dkimpy.example>\r\n"
       b"To: bob@postern.example\r\n"
       b"Subject:   Signed  by dkimpy \r\n"
       b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
       b"Message-ID: <fixture-1@dkimpy.example>\r\n"
       b"\r\n"
       b"Hello Bob,  \r\n"
       b"\r\n"
       b"a line\twith  blanks.\r\n"
       b"\r\n"
       b"\r\n")

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
spki = key.public_key().public_bytes(
    serialization.Encoding.DER,
    serialization.PublicFormat.SubjectPublicKeyInfo)
with open("dkimpy-rsa.txt", "wb") as f:
    f.write(b"v=DKIM1; k=rsa; p=" + base64.b64encode(spki) + b"\n")

ed = nacl.signing.SigningKey.generate()
ed_priv = base64.b64encode(bytes(ed))
with open("dkimpy-ed25519.txt", "wb") as f:
    f.write(b"v=DKIM1; k=ed25519; p=" +
            base64.b64encode(bytes(ed.verify_key)) + b"\n")

cases = [
    ("rsa-relaxed-simple", b"py-rsa", rsa_pem, b"rsa-sha256",
     (b"relaxed", b"simple"), False),
    ("rsa-simple-simple", b"py-rsa", rsa_pem, b"rsa-sha256",
     (b"simple", b"simple"), False),
    ("rsa-relaxed-relaxed-l", b"py-rsa", rsa_pem, b"rsa-sha256",
     (b"relaxed", b"relaxed"), True),
    ("ed25519-relaxed-relaxed", b"py-ed", ed_priv, b"ed25519-sha256",
     (b"relaxed", b"relaxed"), False),
]
for name, sel, priv, alg, c, length in cases:
    sig = dkim.sign(MSG, sel, DOMAIN, priv, canonicalize=c,
                    signature_algorithm=alg, length=length,
                    include_headers=[b"from", b"to", b"subject", b"date",
                                     b"message-id"])
    with open("dkimpy-%s.eml" % name, "wb") as f:
        f.write(sig + MSG)
