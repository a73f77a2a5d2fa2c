"""An independent SRS encoder (libsrs2's scheme, from its description):
HMAC-SHA1 of the lower-cased fields, base64 of the first 3 bytes with
'-' and '_', the day number mod 1024 in base32. Used to check postern's
addresses from outside."""
import base64
import hmac

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def srs_hash(secret, *fields):
    data = "".join(fields).encode().lower()
    mac = hmac.new(secret.encode(), data, "sha1").digest()
    return base64.b64encode(mac[:3]).decode().replace("+", "-").replace("/", "_")


def srs_stamp(now):
    days = int(now) // 86400
    return B32[(days >> 5) & 31] + B32[days & 31]


def srs0(secret, sender, fwd_domain, now):
    local, domain = sender.rsplit("@", 1)
    stamp = srs_stamp(now)
    h = srs_hash(secret, stamp, domain, local)
    return f"SRS0={h}={stamp}={domain}={local}@{fwd_domain}"


def srs1(secret, srs_addr, fwd_domain):
    """An SRS0 address forwarded again; or an SRS1 one (its first
    forwarder and the rest kept, the hash made anew)."""
    local, domain = srs_addr.rsplit("@", 1)
    if local[3] == "1":
        _, domain, rest = local[5:].split("=", 2)
    else:
        rest = local[4:]
    h = srs_hash(secret, domain, rest)
    return f"SRS1={h}={domain}={rest}@{fwd_domain}"


if __name__ == "__main__":
    # postsrsd's own test: secret tops3cr3t, 2020-01-01 00:01:00 UTC
    print(srs0("tops3cr3t", "test@otherdomain.com", "example.com", 1577836860))
