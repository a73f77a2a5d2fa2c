#!/usr/bin/python3
"""bench_sink: an SMTP server that accepts and discards every message
(aiosmtpd), as the smarthost the queue bench opens: bench_sink.py PORT.
Counts what it took in a line on stdout every second."""
import asyncio
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    n = 0

    async def handle_DATA(self, server, session, envelope):
        Sink.n += 1
        return "250 OK"


def main():
    port = int(sys.argv[1])
    c = Controller(Sink(), hostname="127.0.0.1", port=port)
    c.start()
    try:
        while True:
            time.sleep(1)
            print("received=%d" % Sink.n, flush=True)
    finally:
        c.stop()


if __name__ == "__main__":
    main()
