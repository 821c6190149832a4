#!/usr/bin/python3
"""A GUPnP 1.6 control point (python3-gi, gir1.2-gupnp-1.6) for the namespace tests.

It finds WANIPConnection:2 by SSDP through GUPnP's own control point, then
runs ROUNDS rounds on GUPnP's own service proxy: a fresh subscription (GUPnP
sends SUBSCRIBE with its own CALLBACK and handles the NOTIFYs in its own
server), the initial event, AddPortMapping through GUPnP's action call, the
change event, DeletePortMapping, the change event, unsubscribe.

Every event the application sees is a PortMappingNumberOfEntries /
SystemUpdateID notification GUPnP passed on; an event GUPnP dropped (a
NOTIFY it took before it had the SID) never shows. One JSON line per round:

  {"round": i, "initial": bool, "initial_update_id": n, "events": [[entries, update_id], ...],
   "lost": [...], "ok": bool}

--stall S blocks GUPnP's main loop for S seconds right after it has
written a SUBSCRIBE (libsoup's wrote-body), as a loaded machine or a slow
link would: the response, and a NOTIFY sent right behind it, then wait
together for GUPnP's next poll, where GUPnP serves the NOTIFY first. It
makes the race of svc/gena.h happen every time instead of now and then.

Waits end when the awaited event arrives; WAIT seconds (by default the
tests' safety timeout, labtime.SAFETY) is only their bound (test mode:
the run stops at the first failed round), or, with --measure, the time
granted before a round counts as a miss (every round runs; the figures
in svc/gena.h were taken so, --wait 3: a measurement, never a test).
"""
import argparse
import json
import sys
import time

import gi

gi.require_version("GUPnP", "1.6")
gi.require_version("GSSDP", "1.6")
gi.require_version("Soup", "3.0")
from gi.repository import GLib, GObject, GSSDP, GUPnP, Soup  # noqa: E402,F401

from labtime import SAFETY  # noqa: E402

SVC = "urn:schemas-upnp-org:service:WANIPConnection:2"


class Client:
    def __init__(self, iface):
        self.ctx = GUPnP.Context.new_full(iface, None, 0, GSSDP.UDAVersion.VERSION_1_0)
        self.loop_ctx = GLib.MainContext.default()
        self.cp = GUPnP.ControlPoint.new(self.ctx, SVC)
        self.proxy = None
        self.events = []        # (entries, update_id) as GUPnP hands them on
        self.partial = {}
        self.lost = []
        self.cp.connect("service-proxy-available", self._available)
        self.cp.set_active(True)
        self.stall = 0.0
        self.ctx.get_session().connect("request-queued", self._queued)

    def _queued(self, session, msg):
        if msg.get_method() == "SUBSCRIBE":
            msg.connect("wrote-body", self._wrote_subscribe)

    def _wrote_subscribe(self, msg):
        # The SUBSCRIBE is on the wire: keep GUPnP's loop busy for a while,
        # as a loaded machine would. The response (and any NOTIFY sent
        # right after it) then wait together for the next poll.
        if self.stall:
            time.sleep(self.stall)

    def _available(self, cp, proxy):
        if self.proxy is None:
            self.proxy = proxy
            proxy.add_notify("PortMappingNumberOfEntries", GObject.TYPE_UINT, self._notify, None)
            proxy.add_notify("SystemUpdateID", GObject.TYPE_UINT, self._notify, None)
            proxy.connect("subscription-lost", self._lost)

    def _notify(self, proxy, variable, value, user_data):
        # Both variables come in one event (WANIPConnection:2 2.4.4); GUPnP
        # calls back once per variable, in document order.
        self.partial[variable] = value
        if len(self.partial) == 2:
            self.events.append((self.partial["PortMappingNumberOfEntries"],
                                self.partial["SystemUpdateID"]))
            self.partial = {}

    def _lost(self, proxy, error):
        self.lost.append(str(error))

    def wait(self, pred, seconds):
        """Run GUPnP's main loop until pred() or seconds have passed."""
        end = time.monotonic() + seconds
        fired = []
        while not pred():
            left = end - time.monotonic()
            if left <= 0:
                return False
            src = GLib.timeout_add(max(1, int(min(left, 0.5) * 1000)), lambda: fired.append(1) or False)
            self.loop_ctx.iteration(True)
            GLib.source_remove(src) if not fired else None
            fired.clear()
        return True

    def call(self, action, names, values):
        done = []
        act = GUPnP.ServiceProxyAction.new_from_list(action, names, values)

        def cb(proxy, res, _data):
            try:
                proxy.call_action_finish(res)
                ok, _ = act.get_result_list([], [])
                done.append(("ok", None))
            except GLib.Error as e:         # a UPnPError fault or a transport error
                done.append(("error", e.message))

        self.proxy.call_action_async(act, None, cb, None)
        return done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", default="eth0")
    ap.add_argument("--client", required=True, help="this host's address (NewInternalClient)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--port", type=int, default=40000, help="first external port")
    ap.add_argument("--wait", type=float, default=SAFETY,
                    help="bound of each wait for an awaited event (s; the safety timeout)")
    ap.add_argument("--stall", type=float, default=0.0,
                    help="block GUPnP's main loop this long once a SUBSCRIBE is written (s)")
    ap.add_argument("--stall-every", type=int, default=1,
                    help="stall in every Nth round only (rounds N-1, 2N-1, ...)")
    ap.add_argument("--measure", action="store_true",
                    help="a round whose initial event does not come within --wait is a miss; go on")
    a = ap.parse_args()

    c = Client(a.iface)
    if not c.wait(lambda: c.proxy is not None, SAFETY):
        print(json.dumps({"error": "no WANIPConnection:2 found by GUPnP"}), flush=True)
        return 2
    failed = 0
    for i in range(a.rounds):
        rec = {"round": i}
        c.stall = a.stall if (i + 1) % a.stall_every == 0 else 0.0
        if c.stall:
            rec["stall"] = c.stall
        c.events.clear()
        c.partial = {}
        c.lost.clear()
        c.proxy.set_subscribed(True)
        got = c.wait(lambda: len(c.events) >= 1, a.wait)
        rec["initial"] = got
        rec["initial_update_id"] = c.events[0][1] if got else None
        port = a.port + i
        step_ok = got
        if got or a.measure:
            base = c.events[0][1] if got else None
            for action, names, values, want_entries in (
                ("AddPortMapping",
                 ["NewRemoteHost", "NewExternalPort", "NewProtocol", "NewInternalPort",
                  "NewInternalClient", "NewEnabled", "NewPortMappingDescription",
                  "NewLeaseDuration"],
                 ["", port, "TCP", port, a.client, True, "gupnp", 600], 1),
                ("DeletePortMapping", ["NewRemoteHost", "NewExternalPort", "NewProtocol"],
                 ["", port, "TCP"], 0)):
                n = len(c.events)
                done = c.call(action, names, values)
                if not c.wait(lambda: done, a.wait) or done[0][0] != "ok":
                    rec["action_error"] = [action, done[0][1] if done else "no answer"]
                    step_ok = False
                    break
                if not c.wait(lambda: len(c.events) > n, a.wait):
                    rec.setdefault("missed", []).append(action)
                    step_ok = False
                    continue
                ev = c.events[-1]
                if base is not None and ev[1] != base + (1 if want_entries else 2):
                    rec.setdefault("unexpected", []).append([action, ev])
                    step_ok = False
        rec["events"] = c.events[:]
        rec["lost"] = c.lost[:]
        # Exactly one initial event and one per change: a resubscription
        # (GUPnP's answer to a SEQ gap) would show as an extra initial event.
        if got and len(c.events) != 3:
            step_ok = False
        rec["ok"] = bool(step_ok and not c.lost)
        failed += 0 if rec["ok"] else 1
        print(json.dumps(rec), flush=True)
        c.proxy.set_subscribed(False)
        if failed and not a.measure:
            break           # a test stops at the first failed round
        # Let GUPnP send its UNSUBSCRIBE before the next round's SUBSCRIBE.
        c.wait(lambda: False, 0.05)
    print(json.dumps({"rounds": i + 1, "failed": failed}), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
