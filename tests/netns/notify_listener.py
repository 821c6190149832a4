#!/usr/bin/python3
"""notify_listener.py - a fake service manager for the readiness test.

    notify_listener.py NAME OUT URL

Binds a datagram socket at NAME ('@' first: an abstract name, in this
network namespace; else a path) and writes each sd_notify(3) message it
receives to OUT as one line, its newlines written as '|'. Right after the
first message holding READY=1 it fetches URL and writes "http=STATUS"
(or "http=error ..."): a unit ordered after igdd starts at that moment,
so it must already be answered. Stops after a message holding STOPPING=1,
or after labtime.LIFETIME.
"""
import os
import socket
import sys
import time
import urllib.request

from labtime import LIFETIME, SAFETY


def main():
    name, out, url = sys.argv[1:4]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name[1:] if name.startswith("@") else name)
    end = time.monotonic() + LIFETIME
    fetched = False
    with open(out, "a", buffering=1) as f:
        f.write("listening\n")
        while time.monotonic() < end:
            s.settimeout(max(0.1, end - time.monotonic()))
            try:
                msg = s.recv(4096).decode("utf-8", "replace")
            except socket.timeout:
                break
            lines = msg.split("\n")
            f.write("|".join(lines) + "\n")
            if "READY=1" in lines and not fetched:
                fetched = True
                try:
                    with urllib.request.urlopen(url, timeout=SAFETY) as r:
                        f.write("http=%d\n" % r.status)
                except Exception as e:      # noqa: BLE001 - written for the test to see
                    f.write("http=error %s\n" % e)
            if "STOPPING=1" in lines:
                break
    if not name.startswith("@"):
        os.unlink(name)


if __name__ == "__main__":
    main()
