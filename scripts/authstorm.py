#!/usr/bin/python3
"""authstorm: a login storm, measured from the client's side.

N clients arrive evenly over --over seconds (a network comes back and
every client reconnects); each connects, reads the greeting, EHLO,
STARTTLS (full handshake, certificate not checked), EHLO, AUTH PLAIN,
and holds its session until every client has had its turn (plus
--hold seconds), then QUIT. Prints one line: how many were served,
how many failed and where, and the latency of AUTH (the AUTH line sent
to the 235 read) and of the whole login (connect to 235), p50/p99/max.

Loopback only; every client is bounded by --timeout. One process, one
asyncio loop (smtpload's thread per session does not scale to 10,000
in one process): its own CPU is printed beside the figures.

    authstorm.py --port 10587 --auth user@example.org:PASSWORD \\
                 --n 10000 --over 20
"""
import argparse
import asyncio
import base64
import ipaddress
import resource
import ssl
import sys
import time


class Failed(Exception):
    def __init__(self, stage, why):
        super().__init__("%s: %s" % (stage, why))
        self.stage = stage


async def reply(reader, stage, want):
    """One SMTP reply (multi-line joined); Failed unless its code is want."""
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise Failed(stage, "connection closed")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            break
    code = lines[-1][:3]
    if code != want:
        raise Failed(stage, lines[-1].decode(errors="replace").strip())


async def client(args, ctx, start_at, end_at, auth_line, out):
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    t0 = time.monotonic()
    writer = None
    stage = "connect"
    try:
        async with asyncio.timeout(args.timeout):
            reader, writer = await asyncio.open_connection(args.host, args.port)
            stage = "greeting"
            await reply(reader, stage, b"220")
            stage = "ehlo"
            writer.write(b"EHLO authstorm.test\r\n")
            await reply(reader, stage, b"250")
            stage = "starttls"
            writer.write(b"STARTTLS\r\n")
            await reply(reader, stage, b"220")
            await writer.start_tls(ctx)
            stage = "ehlo2"
            writer.write(b"EHLO authstorm.test\r\n")
            await reply(reader, stage, b"250")
            stage = "auth"
            t1 = time.monotonic()
            writer.write(auth_line)
            await reply(reader, stage, b"235")
            t2 = time.monotonic()
        out["auth"].append(t2 - t1)
        out["login"].append(t2 - t0)
        await asyncio.sleep(max(0.0, end_at - time.monotonic()))
        stage = "quit"
        async with asyncio.timeout(args.timeout):
            writer.write(b"QUIT\r\n")
            await reply(reader, stage, b"221")
    except Failed as e:
        out["failed"][e.stage] = out["failed"].get(e.stage, 0) + 1
        out["why"].setdefault(e.stage, str(e))
    except (TimeoutError, asyncio.TimeoutError):
        out["failed"][stage] = out["failed"].get(stage, 0) + 1
        out["why"].setdefault(stage, "%s: timed out" % stage)
    except (OSError, ssl.SSLError) as e:
        out["failed"][stage] = out["failed"].get(stage, 0) + 1
        out["why"].setdefault(stage, "%s: %s" % (stage, e))
    finally:
        if writer is not None:
            writer.close()


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100.0))]


async def main(args):
    user, _, password = args.auth.partition(":")
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
    auth_line = b"AUTH PLAIN " + token + b"\r\n"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = {"auth": [], "login": [], "failed": {}, "why": {}}
    t0 = time.monotonic() + 0.5
    end_at = t0 + args.over + args.hold
    tasks = [asyncio.create_task(client(args, ctx, t0 + i * args.over / args.n,
                                        end_at, auth_line, out))
             for i in range(args.n)]
    await asyncio.gather(*tasks)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--auth", required=True, help="user:password")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--over", type=float, default=20.0)
    ap.add_argument("--hold", type=float, default=5.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    if not ipaddress.ip_address(args.host).is_loopback:
        sys.exit("authstorm: loopback addresses only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    w0 = time.monotonic()
    out = asyncio.run(main(args))
    ru = resource.getrusage(resource.RUSAGE_SELF)
    served = len(out["auth"])
    failed = sum(out["failed"].values())
    ms = lambda v: "%.0f" % (v * 1000)
    print("authstorm: n=%d served=%d failed=%d%s auth_p50_ms=%s auth_p99_ms=%s "
          "auth_max_ms=%s login_p50_ms=%s login_p99_ms=%s login_max_ms=%s "
          "secs=%.1f client_cpu_s=%.1f" % (
              args.n, served, failed,
              "".join(" failed_%s=%d" % kv for kv in sorted(out["failed"].items())),
              ms(pct(out["auth"], 50)), ms(pct(out["auth"], 99)),
              ms(max(out["auth"], default=float("nan"))),
              ms(pct(out["login"], 50)), ms(pct(out["login"], 99)),
              ms(max(out["login"], default=float("nan"))),
              time.monotonic() - w0, ru.ru_utime + ru.ru_stime))
    for why in out["why"].values():
        print("  first failure: %s" % why, file=sys.stderr)
    sys.exit(0 if served == args.n else 1)
