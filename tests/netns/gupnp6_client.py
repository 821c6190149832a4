#!/usr/bin/python3
"""gupnp6_client.py - GUPnP 1.6 (python3-gi, gir1.2-gupnp-1.6) as an IPv6
control point for the namespace tests.

GUPnP's context manager makes one context per IPv6 address of the host
(link-local, ULA, global). The context of the kind asked for (--context
link-local|ula|global) runs a control point for WANIPConnection:2: its
search goes to ff02::c from the link-local context, to ff0e::c from the
others (GSSDP counts only fec0::/10 as site-local). Once GUPnP offers the
service proxy, the client

  - reads GetExternalIPAddress (a read action an IPv6 control point may use),
  - asks AddPortMapping for an IPv4 internal client (--map-client; the
    gateway must refuse: 606),
  - subscribes through GUPnP's own SUBSCRIBE (its CALLBACK names the
    context's own address: link-local for the link-local context, while
    the connection comes from the address the kernel picks for the
    description's host) and waits for the initial event
    (ExternalIPAddress).

One JSON object per line on stdout:
  {"found": LOCATION, "control": URL, "context": address}
  {"action": "GetExternalIPAddress", "ok": bool, "value": ..., "error": code}
  {"action": "AddPortMapping", "ok": bool, "error": code}
  {"event": "ExternalIPAddress", "value": ...}
  {"done": true, "ok": bool}
The client ends once the initial event has come; the whole run is bounded
by --wait seconds (default the tests' safety timeout, labtime.SAFETY).
Until the service is found, the control points search again every 2 s
(a search or its answer missed on a loaded machine only delays it).
"""
import argparse
import json
import sys

import gi

gi.require_version("GUPnP", "1.6")
gi.require_version("GSSDP", "1.6")
from gi.repository import Gio, GLib, GObject, GSSDP, GUPnP  # noqa: E402

from labtime import SAFETY  # noqa: E402

SVC = "urn:schemas-upnp-org:service:WANIPConnection:2"


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def kind_of(addr):
    a = addr.lower()
    if a.startswith("fe80"):
        return "link-local"
    if a.startswith("fc") or a.startswith("fd"):
        return "ula"
    if a == "::1":
        return "loopback"
    return "global"


class Client:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.keep = []
        self.proxy = None
        self.result = {"get": False, "map": False, "event": False}
        self.cm = GUPnP.ContextManager.create_full(GSSDP.UDAVersion.VERSION_1_1,
                                                   Gio.SocketFamily.IPV6, 0)
        self.cm.connect("context-available", self.on_context)

    def on_context(self, cm, ctx):
        addr = ctx.get_host_ip()
        if kind_of(addr) != self.args.context or (self.args.iface and
                                                  ctx.get_interface() != self.args.iface):
            return
        cp = GUPnP.ControlPoint.new(ctx, SVC)
        cp.connect("service-proxy-available", self.on_service, addr)
        cp.set_active(True)
        cm.manage_control_point(cp)
        self.keep.append(cp)

    def on_service(self, cp, proxy, addr):
        if self.proxy is not None:
            return
        self.proxy = proxy
        emit({"found": proxy.get_location(), "control": proxy.get_control_url(), "context": addr})
        self.get_external()
        self.add_mapping()
        proxy.add_notify("ExternalIPAddress", GObject.TYPE_STRING, self.on_notify, None)
        proxy.set_subscribed(True)

    def call(self, name, in_names, in_values):
        a = GUPnP.ServiceProxyAction.new_from_list(name, in_names, in_values)
        try:
            self.proxy.call_action(a, None)
            return a, None
        except GLib.Error as e:
            return a, e.code

    def get_external(self):
        a, err = self.call("GetExternalIPAddress", [], [])
        value = None
        if err is None:
            ok, vals = a.get_result_list(["NewExternalIPAddress"], [GObject.TYPE_STRING])
            value = vals[0] if ok else None
        self.result["get"] = err is None and value is not None
        emit({"action": "GetExternalIPAddress", "ok": err is None, "value": value, "error": err})

    def add_mapping(self):
        _, err = self.call("AddPortMapping",
                           ["NewRemoteHost", "NewExternalPort", "NewProtocol", "NewInternalPort",
                            "NewInternalClient", "NewEnabled", "NewPortMappingDescription",
                            "NewLeaseDuration"],
                           ["", 24680, "TCP", 24680, self.args.map_client, True, "gupnp6", 600])
        self.result["map"] = err == 606
        emit({"action": "AddPortMapping", "ok": err is None, "error": err})

    def on_notify(self, proxy, variable, value, user_data):
        emit({"event": variable, "value": value})
        self.result["event"] = True
        self.loop.quit()

    def rescan(self):
        if self.proxy is not None:
            return False
        for cp in self.keep:
            cp.rescan()
        return True

    def run(self):
        GLib.timeout_add(int(self.args.wait * 1000), self.loop.quit)
        GLib.timeout_add(2000, self.rescan)
        self.loop.run()
        ok = all(self.result.values())
        emit({"done": True, "ok": ok, "result": self.result})
        return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description="GUPnP IPv6 control point")
    p.add_argument("--context", choices=("link-local", "ula", "global"), default="link-local")
    p.add_argument("--iface", default="", help="only contexts on this interface")
    p.add_argument("--map-client", default="192.168.77.2",
                   help="the IPv4 internal client AddPortMapping names")
    p.add_argument("--wait", type=float, default=SAFETY,
                   help="bound of the whole run (s; the safety timeout)")
    return Client(p.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
