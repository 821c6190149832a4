#!/usr/bin/python3
"""harness.py - igdd beside the incumbent (miniupnpd, nftables backend) in one run.

Started by bench/run.sh (which installs, builds and cleans up after it); see
bench/README.md for the workloads, the method and how to read the results.

Three labs of network namespaces, each its own gateway, LAN host and WAN host
with the same addresses (they never see each other):

    lan (192.168.77.2, .10-.17) -- lan0 [gateway 192.168.77.1 | 203.0.113.1] wan0 -- wan (203.0.113.2)

  m: miniupnpd 2.3.1 (Debian miniupnpd-nftables) and its nft chains; a STUN
     responder on the WAN host (its WAN address is a documentation address);
  i: igdd on the sim backend (SOAP, SSDP and memory workloads);
  f: igdd on the nft backend (forwarding workload), when the binary has it.

Every loop is bounded in count and time, every process is tracked by PID and
killed by PID, and the namespaces are deleted however the run ends.
"""

import argparse
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time

LAN_GW = "192.168.77.1"
LAN_HOST = "192.168.77.2"
LAN_SRCS = ["192.168.77.%d" % i for i in range(10, 18)]
WAN_GW = "203.0.113.1"
WAN_HOST = "203.0.113.2"
HTTP_PORT = 5000
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the source tree
STUN_PORT = 3478
SIZES = [100, 1000, 5000, 10000]          # both daemons
IGDD_SIZES = [65535, 131070]              # igdd alone
FWD_SIZES = [1, 100, 1000, 5000, 10000]   # new-connection cost
FWD_EXTRA = [65535]                       # igdd nft, if the budget allows
CONC_CLIENTS = [1, 8, 32]
PER_PROTO = 65535

MINI = "miniupnpd"
IGDD = "igdd"
IGDD_NFT = "igdd-nft"

T0 = time.monotonic()


def log(msg):
    print("[%6.1f s] %s" % (time.monotonic() - T0, msg), flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def port_of(i):
    return 1 + (i + 9999) % PER_PROTO


def tcp_indexes(n, k):
    """k mapping indexes spread evenly over the first min(n, 65535) (TCP) ones."""
    n = min(n, PER_PROTO)
    k = min(k, n)
    return sorted({int(j * n / k) for j in range(k)})


class Stop(Exception):
    pass


def on_signal(signum, frame):
    raise Stop("signal %d" % signum)


# ------------------------------------------------------------------ budget

class Budget:
    """The run's time limit: a step that would not fit is skipped and listed."""

    def __init__(self, seconds):
        self.total = seconds
        self.end = time.monotonic() + seconds
        self.skipped = []

    def left(self):
        return self.end - time.monotonic()

    def allow(self, what, estimate, reserve=0.0):
        if estimate + reserve <= self.left():
            return True
        self.skipped.append({"what": what, "estimate_s": round(estimate, 1),
                             "reserve_s": round(reserve, 1), "left_s": round(self.left(), 1)})
        log("SKIPPED %s: needs ~%.0f s (+%.0f s kept for later steps), %.0f s left"
            % (what, estimate, reserve, self.left()))
        return False


class CostModel:
    """Seconds per operation as a function of table size: a + b*n, fitted on
    the last two measurements (b >= 0). Used only to decide what fits."""

    def __init__(self):
        self.points = []

    def add(self, n, sec_per_op):
        if sec_per_op and sec_per_op > 0:
            self.points.append((n, sec_per_op))

    def coeffs(self):
        if not self.points:
            return 0.001, 0.0
        if len(self.points) == 1:
            n, t = self.points[0]
            return t / 2, t / 2 / max(n, 1)
        (n0, t0), (n1, t1) = self.points[-2], self.points[-1]
        b = max(0.0, (t1 - t0) / (n1 - n0)) if n1 != n0 else 0.0
        return max(t1 - b * n1, 0.0), b

    def max_per_op(self):
        """The dearest operation seen: a flat model for a daemon that should be flat."""
        return max([t for _, t in self.points] + [0.001 if not self.points else 0])

    def per_op(self, n):
        a, b = self.coeffs()
        return a + b * n

    def cost(self, n0, n1):
        """Seconds for the operations at table sizes n0 .. n1."""
        a, b = self.coeffs()
        return a * (n1 - n0) + b * (n1 * n1 - n0 * n0) / 2


# -------------------------------------------------------------------- labs

def run(args, timeout=60, check=True, capture=True):
    p = subprocess.run(args, timeout=timeout, stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), p.returncode,
                                                  (p.stderr or "").strip()[-400:]))
    return p


class Lab:
    def __init__(self, tag, lab_id, work):
        self.tag = tag
        self.gw = "igddb-%s-%sgw" % (lab_id, tag)
        self.lan = "igddb-%s-%slan" % (lab_id, tag)
        self.wan = "igddb-%s-%swan" % (lab_id, tag)
        self.work = os.path.join(work, tag)
        self.is_up = False

    def names(self):
        return [self.gw, self.lan, self.wan]

    def up(self):
        existing = run(["ip", "netns", "list"]).stdout.split()
        for ns in self.names():
            if ns in existing:
                raise RuntimeError("namespace %s exists already; refusing" % ns)
        os.makedirs(self.work, exist_ok=True)
        self.is_up = True
        for ns in self.names():
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "link", "add", "lan0", "netns", self.gw, "type", "veth", "peer", "name", "eth0",
             "netns", self.lan])
        run(["ip", "link", "add", "wan0", "netns", self.gw, "type", "veth", "peer", "name", "eth0",
             "netns", self.wan])
        run(["ip", "-n", self.gw, "addr", "add", LAN_GW + "/24", "dev", "lan0"])
        run(["ip", "-n", self.gw, "addr", "add", WAN_GW + "/24", "dev", "wan0"])
        run(["ip", "-n", self.lan, "addr", "add", LAN_HOST + "/24", "dev", "eth0"])
        for a in LAN_SRCS:
            run(["ip", "-n", self.lan, "addr", "add", a + "/24", "dev", "eth0"])
        run(["ip", "-n", self.wan, "addr", "add", WAN_HOST + "/24", "dev", "eth0"])
        for ns, dev in ((self.gw, "lan0"), (self.gw, "wan0"), (self.lan, "eth0"), (self.wan, "eth0")):
            run(["ip", "-n", ns, "link", "set", dev, "up"])
        run(["ip", "-n", self.lan, "route", "add", "default", "via", LAN_GW])
        self.sysctl(self.gw, "net.ipv4.ip_forward", "1")
        # clients: many ephemeral ports; the gateway: the kernel's defaults
        for ns in (self.lan, self.wan):
            self.sysctl(ns, "net.ipv4.ip_local_port_range", "1024 65535")
            self.sysctl(ns, "net.ipv4.tcp_tw_reuse", "1")

    def sysctl(self, ns, key, value):
        run(["ip", "netns", "exec", ns, "sysctl", "-qw", "%s=%s" % (key, value)])

    def down(self):
        if not self.is_up:
            return
        for ns in self.names():
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, timeout=30)
        self.is_up = False

    def exec_(self, ns, args):
        return ["ip", "netns", "exec", ns] + args

    def timewait(self, kill=False):
        """TIME_WAIT sockets on the gateway; kill=True removes them (ss -K)."""
        out = run(self.exec_(self.gw, ["ss", "-Htan", "state", "time-wait"])).stdout
        n = len([l for l in out.splitlines() if l.strip()])
        if kill and n:
            run(self.exec_(self.gw, ["ss", "-K", "-Htan", "state", "time-wait"]), timeout=60)
        return n

    def netstat(self):
        """TcpExt counters of the gateway (what nstat shows)."""
        out = run(self.exec_(self.gw, ["cat", "/proc/net/netstat"])).stdout.splitlines()
        vals = {}
        for i in range(0, len(out) - 1, 2):
            keys, nums = out[i].split(), out[i + 1].split()
            if keys and keys[0] == "TcpExt:":
                vals = dict(zip(keys[1:], (int(x) for x in nums[1:])))
        return {k: vals.get(k, 0) for k in ("ListenDrops", "ListenOverflows")}


# ----------------------------------------------------------------- daemons

class Daemon:
    """One daemon in a lab, started through `loadgen startup` (which times its
    first SSDP and HTTP answers) under `loadgen reap` (which records how it ends)."""

    name = "?"

    def __init__(self, h, lab):
        self.h = h
        self.lab = lab
        self.pid = None
        self.reaper = None
        self.n = 0                  # mappings the table holds
        self.status = None
        self.starts = 0
        self.restarted = False      # since the idle memory was measured
        self.events = []

    def command(self):
        raise NotImplementedError

    def prepare(self):
        pass

    def find_pid(self, spawned):
        return spawned

    def start(self):
        self.prepare()
        self.starts += 1
        self.status = os.path.join(self.lab.work, "%s.status.%d" % (self.name, self.starts))
        logf = os.path.join(self.lab.work, "%s.log" % self.name)
        reap = [self.h.loadgen, "reap", "--status", self.status, "--"] + \
            self.lab.exec_(self.lab.gw, self.command())
        out = self.h.lg(self.lab, "startup", ["--ip", LAN_GW, "--port", str(HTTP_PORT),
                                               "--seconds", "15", "--log", logf, "--"] + reap,
                        timeout=40)
        spawned = None
        for _ in range(100):
            for line in self.read_status():
                if line[0] == "reaper":
                    self.reaper = int(line[1])
                    self.h.track(self.reaper)
                elif line[0] == "spawn":
                    spawned = int(line[1])
            if spawned:
                break
            time.sleep(0.05)
        self.pid = self.find_pid(spawned)
        if self.pid:
            self.h.track(self.pid)
        if out.get("http_ms", -1) < 0 or not self.alive():
            raise RuntimeError("%s did not start: %s; log %s" % (self.name, out, logf))
        return out

    def read_status(self):
        try:
            with open(self.status) as f:
                return [l.split() for l in f if l.strip()]
        except OSError:
            return []

    def death(self):
        """None while running, else ('signal', N) or ('exit', N)."""
        if not self.pid:
            return ("exit", -1)
        for line in self.read_status():
            if line[0] in ("signal", "exit") and int(line[1]) == self.pid:
                return (line[0], int(line[2]))
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return ("exit", -1)
        return None

    def alive(self):
        return self.death() is None

    def died(self, wait=2.0):
        """After a failed request: did it die? (an abort takes a moment to show)"""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            if not self.alive():
                return True
            time.sleep(0.05)
        return not self.alive()

    def stop(self):
        if not self.pid:
            return
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        for _ in range(100):
            if not self.alive():
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for _ in range(40):
            try:
                os.kill(self.reaper, 0)
            except (ProcessLookupError, TypeError):
                break
            time.sleep(0.05)
        self.h.untrack(self.pid)
        self.h.untrack(self.reaper)
        self.pid = None

    def pids(self):
        """The daemon and its children (igdd's privileged helper)."""
        out = [self.pid]
        try:
            with open("/proc/%d/task/%d/children" % (self.pid, self.pid)) as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
        return out

    def cpu_ns(self):
        """CPU time (user + system) of the daemon's processes so far, from schedstat."""
        t = 0
        for pid in self.pids():
            try:
                for tid in os.listdir("/proc/%d/task" % pid):
                    with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                        t += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return t

    def breakdown(self, top=14):
        """Private dirty kB by mapping (heap, stack, anonymous, each file)."""
        agg = {}
        for pid in self.pids():
            cur = None
            try:
                with open("/proc/%d/smaps" % pid) as f:
                    for line in f:
                        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                            parts = line.split()
                            cur = os.path.basename(parts[5]) if len(parts) > 5 else "[anonymous]"
                        elif line.startswith("Private_Dirty:"):
                            agg[cur] = agg.get(cur, 0) + int(line.split()[1])
            except OSError:
                pass
        items = sorted(((v, k) for k, v in agg.items() if v), reverse=True)
        return {k: v for v, k in items[:top]}

    def memory(self):
        """kB from smaps_rollup, summed over the daemon's processes."""
        tot = {"rss_kb": 0, "pss_kb": 0, "private_dirty_kb": 0, "processes": 0}
        for pid in self.pids():
            try:
                with open("/proc/%d/smaps_rollup" % pid) as f:
                    txt = f.read()
            except OSError:
                continue
            for key, name in (("Rss", "rss_kb"), ("Pss", "pss_kb"), ("Private_Dirty", "private_dirty_kb")):
                m = re.search(r"^%s:\s+(\d+) kB" % key, txt, re.M)
                if m:
                    tot[name] += int(m.group(1))
            tot["processes"] += 1
        return tot


class Miniupnpd(Daemon):
    name = MINI

    NFT = """table inet miniupnpd {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" accept
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "wan0" masquerade
  }
  chain postrouting_miniupnpd {
  }
}
"""

    def setup(self):
        path = os.path.join(self.lab.work, "miniupnpd.nft")
        with open(path, "w") as f:
            f.write(self.NFT)
        run(self.lab.exec_(self.lab.gw, ["nft", "-f", path]))
        self.conf = os.path.join(self.lab.work, "miniupnpd.conf")
        self.pidfile = os.path.join(self.lab.work, "miniupnpd.pid")
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "ext_ifname=wan0", "listening_ip=lan0", "http_port=%d" % HTTP_PORT,
                "enable_natpmp=no", "enable_upnp=yes", "secure_mode=yes", "system_uptime=no",
                "notify_interval=900", "clean_ruleset_interval=0",
                "uuid=6c0ffee0-0000-4000-8000-000000000001",
                "upnp_table_name=miniupnpd", "upnp_nat_table_name=miniupnpd",
                "upnp_forward_chain=miniupnpd", "upnp_nat_chain=prerouting_miniupnpd",
                "upnp_nat_postrouting_chain=postrouting_miniupnpd",
                # its WAN address is reserved (documentation range): 2.3.1 forwards
                # only once STUN says nothing filters (REFERENCE-DAEMON.md)
                "ext_perform_stun=yes", "ext_stun_host=%s" % WAN_HOST, "ext_stun_port=%d" % STUN_PORT,
                "allow 1-65535 192.168.77.0/24 1-65535", "deny 0-65535 0.0.0.0/0 0-65535", ""]))
        self.h.spawn(self.lab.exec_(self.lab.wan, [self.h.loadgen, "stun", "--port", str(STUN_PORT),
                                                   "--seconds", str(int(self.h.budget.total + 600))]),
                     wait_ready=True)

    def prepare(self):
        try:
            os.unlink(self.pidfile)
        except FileNotFoundError:
            pass

    def command(self):
        # no syslog daemon here: it would write every line to /dev/console;
        # no -d: debug logging slows it several-fold (REFERENCE-DAEMON.md)
        return ["sh", "-c", "mount --bind /dev/null /dev/console && exec miniupnpd -f %s -P %s"
                % (self.conf, self.pidfile)]

    def find_pid(self, spawned):
        for _ in range(100):
            try:
                with open(self.pidfile) as f:
                    return int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                time.sleep(0.05)
        return None

    def seed(self, n):
        """Rules for mappings self.n .. n-1 written straight into its chains, in
        its own layout (the nat rule's protocol test is `meta l4proto` where it
        uses a payload load of the same byte: one expression each, the same
        cost); only for the forwarding workload when building n through SOAP
        would not fit the budget."""
        path = os.path.join(self.lab.work, "seed.nft")
        with open(path, "w") as f:
            for i in range(self.n, min(n, PER_PROTO)):
                p = port_of(i)
                f.write('add rule inet miniupnpd prerouting_miniupnpd iif "wan0" meta l4proto tcp '
                        'th dport %d dnat ip to %s:%d\n' % (p, LAN_HOST, p))
                f.write('add rule inet miniupnpd miniupnpd iif "wan0" th dport %d '
                        '@nh,128,32 0xc0a84d02 @nh,72,8 0x6 accept\n' % p)
        run(self.lab.exec_(self.lab.gw, ["nft", "-f", path]), timeout=300)
        self.n = max(self.n, n)

    def flush_rules(self):
        for chain in ("miniupnpd", "prerouting_miniupnpd", "postrouting_miniupnpd"):
            run(self.lab.exec_(self.lab.gw, ["nft", "flush", "chain", "inet", "miniupnpd", chain]))
        self.n = 0

    def rule_count(self):
        out = run(self.lab.exec_(self.lab.gw, ["nft", "list", "chain", "inet", "miniupnpd",
                                               "prerouting_miniupnpd"]), timeout=120).stdout
        return out.count(" dnat ")


class Igdd(Daemon):
    def __init__(self, h, lab, backend):
        super().__init__(h, lab)
        self.backend = backend
        self.name = IGDD if backend == "sim" else IGDD_NFT
        self.conf = os.path.join(lab.work, "%s.conf" % self.name)
        state = os.path.join(lab.work, "state-" + self.name)
        os.makedirs(state, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "backend = %s" % backend, "lan_interface = lan0", "wan_interface = wan0",
                "external_ip = %s" % WAN_GW, "http_port = %d" % HTTP_PORT, "state_dir = %s" % state,
                "control_socket = %s" % os.path.join(lab.work, self.name + ".sock"),
                "uuid = 6c0ffee0-0000-4000-8000-00000000000%d" % (2 if backend == "sim" else 3),
                "friendly_name = igdd bench", "max_mappings = 131070",
                "max_mappings_per_client = 131070", "enable_natpmp = no", "enable_pcp = no",
                "acl = allow 1-65535 192.168.77.0/24 1-65535", ""]))

    def command(self):
        return [self.h.igdd, "-d", "-f", self.conf]


# ------------------------------------------------------------------ harness

class Harness:
    def __init__(self, args):
        self.args = args
        self.igdd = args.igdd
        self.loadgen = args.loadgen
        self.budget = Budget(args.budget)
        self.tracked = set()
        self.procs = []
        self.labs = []
        self.pidfile = args.pidfile
        self.res = {"meta": {}, "daemons": {MINI: self.blank(), IGDD: self.blank(),
                                            IGDD_NFT: self.blank()},
                    "skipped": self.budget.skipped, "notes": []}
        self.add_model = {MINI: CostModel(), IGDD: CostModel(), IGDD_NFT: CostModel()}
        self.enum_model = {MINI: CostModel(), IGDD: CostModel()}

    @staticmethod
    def blank():
        return {"startup": [], "sizes": {}, "conc": {}, "events": []}

    # processes ---------------------------------------------------------
    def track(self, pid):
        if pid:
            self.tracked.add(pid)
            self.write_pids()

    def untrack(self, pid):
        self.tracked.discard(pid)
        self.write_pids()

    def write_pids(self):
        if self.pidfile:
            with open(self.pidfile, "w") as f:
                f.write("".join("%d\n" % p for p in sorted(self.tracked)))

    def spawn(self, args, wait_ready=False):
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(p)
        self.track(p.pid)
        if wait_ready:
            line = p.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError("%s did not start" % args)
        return p

    def reap(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self.untrack(p.pid)

    def cleanup(self):
        for p in self.procs:
            try:
                self.reap(p)
            except Exception:
                pass
        for pid in list(self.tracked):
            try:
                os.kill(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.3)
        for pid in list(self.tracked):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.untrack(pid)
        for lab in self.labs:
            lab.down()

    # the load generator ------------------------------------------------
    def lg(self, lab, cmd, args, ns=None, timeout=None):
        if timeout is None:
            timeout = max(30.0, min(self.budget.left() + 60, 1800))
        argv = lab.exec_(ns or lab.lan, [self.loadgen, cmd] + args)
        p = run(argv, timeout=timeout, check=False)
        try:
            return json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise RuntimeError("loadgen %s: no result (exit %d): %s" % (cmd, p.returncode,
                                                                      p.stderr.strip()[-300:]))

    def to(self):
        return ["--to", "%s:%d" % (LAN_GW, HTTP_PORT)]

    # steps -------------------------------------------------------------
    def note_crash(self, d, what):
        dd = d.death()
        ev = {"workload": what, "table": d.n, "how": "%s %d" % dd if dd else "no answer",
              "at_s": round(time.monotonic() - T0, 1)}
        if dd and dd[0] == "signal":
            ev["signal"] = signal.Signals(dd[1]).name if dd[1] in signal.Signals._value2member_map_ else dd[1]
        self.res["daemons"][d.name]["events"].append(ev)
        log("%s died during %s with %d mappings: %s" % (d.name, what, d.n, ev.get("signal", ev["how"])))
        return ev

    def restart(self, d, why):
        log("restarting %s (%s)" % (d.name, why))
        d.stop()
        d.start()
        d.restarted = True
        if isinstance(d, Miniupnpd):
            # it keeps no table of its own: what the kernel holds is its table
            d.n = d.rule_count()

    def grow(self, d, target, window):
        """Add mappings d.n .. target-1; the last `window` ones are timed in 5 windows."""
        res = {}
        d.lab.timewait(kill=True)
        start = d.n
        if target - window > d.n:
            out = self.lg(d.lab, "add", self.to() + ["--client", LAN_HOST, "--from", str(d.n),
                                                     "--count", str(target - window - d.n),
                                                     "--seconds", str(max(30, int(self.budget.left())))])
            d.n += out["done"]
            res["bulk"] = {k: out.get(k) for k in ("done", "seconds", "ops_per_s", "error")}
            if out.get("error"):
                res["error"] = out["error"]
                return res
        c0 = d.cpu_ns()
        out = self.lg(d.lab, "add", self.to() + ["--client", LAN_HOST, "--from", str(d.n),
                                                 "--count", str(target - d.n), "--windows", "5",
                                                 "--seconds", str(max(30, int(self.budget.left())))])
        cpu = d.cpu_ns() - c0
        d.n += out["done"]
        res.update({"from": start, "window": out["done"], "windows_ops_per_s": out["windows"],
                    "ops_per_s": median(out["windows"]), "latency": out["latency"],
                    "cpu_us_per_op": cpu / 1000.0 / out["done"] if out["done"] else None,
                    "timewait_after": d.lab.timewait()})
        if out.get("error"):
            res["error"] = out["error"]
        elif res["ops_per_s"]:
            self.add_model[d.name].add(target, 1.0 / res["ops_per_s"])
        return res

    def specific(self, d, n):
        d.lab.timewait(kill=True)
        count = 400 if n <= 10000 else 1000
        reps = []
        c0 = d.cpu_ns()
        for r in range(5):
            out = self.lg(d.lab, "get", self.to() + ["--count", str(count), "--below", str(n),
                                                     "--seed", str(r + 1), "--seconds", "20"])
            reps.append(out)
            if out.get("error"):
                break
        res = {"reps_ops_per_s": [x["ops_per_s"] for x in reps],
               "ops_per_s": median([x["ops_per_s"] for x in reps]),
               "p50_ms": median([x["latency"]["p50_ms"] for x in reps]),
               "p99_ms": median([x["latency"]["p99_ms"] for x in reps]),
               "requests": sum(x["done"] for x in reps)}
        if res["requests"]:
            res["cpu_us_per_op"] = (d.cpu_ns() - c0) / 1000.0 / res["requests"]
        errs = [x["error"] for x in reps if x.get("error")]
        if errs:
            res["error"] = errs[0]
            if d.died():
                res["crash"] = self.note_crash(d, "GetSpecificPortMappingEntry")
        return res

    def enumerate(self, d, n, reps):
        """GetGenericPortMappingEntry from index 0 to the end (713). NewPortMappingIndex
        is a ui2: past 65,536 entries only the first 65,536 can be addressed."""
        est = self.enum_model[d.name].per_op(n) * n if d.name in self.enum_model else 0
        res = {"estimate_s": round(est, 1)}
        reach = min(n, PER_PROTO + 1)
        if reach < n:
            res["note"] = "indexes 0-65535 only (NewPortMappingIndex is a ui2)"
        runs = []
        for r in range(reps):
            d.lab.timewait(kill=True)
            c0 = d.cpu_ns()
            out = self.lg(d.lab, "enum", self.to() + ["--max", str(n + 10 if reach == n else reach - 1),
                                                      "--seconds", str(max(30, int(self.budget.left())))])
            if reach < n and out.get("entries") == reach and not out.get("error"):
                out["complete"] = True
            if out.get("entries"):
                out["cpu_us_per_entry"] = (d.cpu_ns() - c0) / 1000.0 / out["entries"]
            runs.append(out)
            if out.get("error") or not out.get("complete"):
                break
        ok = [x for x in runs if x.get("complete") and x["entries"] == reach]
        res.update({"runs_s": [x["seconds"] for x in runs], "entries": [x["entries"] for x in runs]})
        if ok:
            res["seconds"] = median([x["seconds"] for x in ok])
            res["us_per_entry"] = res["seconds"] / reach * 1e6
            res["p99_ms"] = median([x["latency"]["p99_ms"] for x in ok])
            res["cpu_us_per_entry"] = median([x.get("cpu_us_per_entry") for x in ok])
            if d.name in self.enum_model:
                self.enum_model[d.name].add(n, res["seconds"] / reach)
        else:
            bad = runs[-1] if runs else {}
            res["error"] = bad.get("error") or "enumerated %s of %d entries" % (bad.get("entries"), n)
            if d.died():
                res["crash"] = self.note_crash(d, "GetGenericPortMappingEntry")
        return res

    def range_op(self, d, op, n, reps):
        """GetListOfPortMappings / DeletePortMappingRange over ports 1-65535 of each
        protocol in use (TCP, and UDP past 65,535 entries); NewManage 0."""
        protos = ["TCP"] + (["UDP"] if n > PER_PROTO else [])
        runs = []
        for r in range(reps):
            d.lab.timewait(kill=True)
            one = {"seconds": 0.0}
            c0 = d.cpu_ns()
            for proto in protos:
                out = self.lg(d.lab, op, self.to() + ["--proto", proto, "--lo", "1", "--hi", "65535"],
                              timeout=300)
                one["seconds"] += out["seconds"]
                if proto == "TCP":
                    one["tcp_seconds"] = out["seconds"]
                if op == "list":
                    one["entries"] = one.get("entries", 0) + out.get("entries", 0)
                    one["bytes"] = one.get("bytes", 0) + out.get("bytes", 0)
                if out.get("error"):
                    one["error"] = out["error"]
                    break
            one["cpu_ms"] = (d.cpu_ns() - c0) / 1e6
            if "error" in one and d.died():
                one["crash"] = self.note_crash(d, op)
            runs.append(one)
            if "error" in one:
                break
        res = {"runs": runs}
        ok = [x for x in runs if "error" not in x]
        if ok:
            res["seconds"] = median([x["seconds"] for x in ok])
            res["tcp_seconds"] = median([x["tcp_seconds"] for x in ok])
            if op == "list":
                res["entries"] = ok[0]["entries"]
                res["bytes"] = ok[0]["bytes"]
                if res["entries"] != n:
                    res["error"] = "listed %d of %d entries" % (res["entries"], n)
        bad = [x for x in runs if "error" in x]
        if bad:
            res["error"] = bad[0]["error"]
            if "crash" in bad[0]:
                res["crash"] = bad[0]["crash"]
        return res

    def check_table(self, d, n):
        """After a crash or a delete: does the table still hold n entries?"""
        if n == 0:
            out = self.lg(d.lab, "enum", self.to() + ["--max", "1", "--seconds", "10"])
            return out.get("entries") == 0 and out.get("complete")
        out = self.lg(d.lab, "get", self.to() + ["--count", "50", "--below", str(n), "--seconds", "20"])
        return not out.get("error")

    def connections(self, d, n, reps=3, count=1000):
        """New TCP connections WAN -> gateway -> LAN through k mappings spread over the table."""
        idx = tcp_indexes(n, 32)
        ports = ",".join(str(port_of(i)) for i in idx)
        sink = self.spawn(d.lab.exec_(d.lab.lan, [self.loadgen, "sink", "--ports", ports,
                                                  "--seconds", "120"]), wait_ready=True)
        try:
            outs = []
            for r in range(reps):
                outs.append(self.lg(d.lab, "connect", ["--to", WAN_GW, "--ports", ports,
                                                       "--count", str(count), "--seconds", "30"],
                                    ns=d.lab.wan, timeout=60))
        finally:
            self.reap(sink)
        res = {"mappings_probed": len(idx), "reps_p50_us": [o["connect"]["p50_ms"] * 1000 for o in outs],
               "p50_us": median([o["connect"]["p50_ms"] * 1000 for o in outs]),
               "p90_us": median([o["connect"]["p90_ms"] * 1000 for o in outs]),
               "failed": sum(o["failed"] for o in outs)}
        if res["failed"]:
            res["error"] = next((o.get("first_error") for o in outs if o.get("first_error")), "failed")
        return res

    def size_step(self, d, n, last):
        """Every workload at table size n; the table holds n entries again at the end
        (unless last: the range delete empties it)."""
        dres = self.res["daemons"][d.name]["sizes"].setdefault(str(n), {})
        if d.n > n:
            return
        if not d.alive():
            self.restart(d, "found dead before table size %d" % n)
        # the timed window: the last adds before n (all of them up to 100)
        window = n - d.n if n <= 100 else min(n - d.n, max(100, min(n // 20, 5000)))
        log("%s: AddPortMapping %d -> %d" % (d.name, d.n, n))
        dres["add"] = self.grow(d, n, window)
        if dres["add"].get("error") or d.n != n:
            if d.died():
                dres["add"]["crash"] = self.note_crash(d, "add")
            return False
        dres["mem"] = d.memory()
        log("%s @%d: add %.0f/s; GetSpecificPortMappingEntry" % (d.name, n, dres["add"]["ops_per_s"] or 0))
        dres["get"] = self.specific(d, n)
        reps = 1 if d.name == MINI and n >= 5000 else 3
        est = self.enum_model[d.name].per_op(n) * n if self.enum_model[d.name].points else 0
        if reps > 1 and est * reps + self.reserve_after(d, n) > self.budget.left():
            reps = 1
        if self.budget.allow("%s: GetGenericPortMappingEntry enumeration of %d" % (d.name, n),
                             est * reps, reserve=self.reserve_after(d, n)):
            log("%s @%d: GetSpecific %.0f/s; GetGenericPortMappingEntry x%d (est. %.0f s)"
                % (d.name, n, dres["get"]["ops_per_s"] or 0, reps, est * reps))
            dres["enum"] = self.enumerate(d, n, reps)
        if not d.alive():
            self.restart(d, "after a crash in the read workloads")
        if d.name == MINI and d.lab.tag == "m":
            log("%s @%d: new connections through the gateway" % (d.name, n))
            dres["conn"] = self.connections(d, n)
        log("%s @%d: GetListOfPortMappings" % (d.name, n))
        dres["list"] = self.range_op(d, "list", n, 3 if d.name != MINI else 1)
        if d.alive():
            dres["mem_after_list"] = d.memory()
        if not d.alive():
            self.restart(d, "after GetListOfPortMappings")
            dres["list"]["table_after_restart"] = d.n
        log("%s @%d: DeletePortMappingRange" % (d.name, n))
        dres["delrange"] = self.range_op(d, "delrange", n, 1)
        if not d.alive():
            self.restart(d, "after DeletePortMappingRange")
            dres["delrange"]["table_after_restart"] = d.n
        elif "error" not in dres["delrange"]:
            d.n = 0
            dres["delrange"]["emptied"] = bool(self.check_table(d, 0))
        if d.n < n and not last:
            if isinstance(d, Miniupnpd) and d.n:
                d.flush_rules()
                self.restart(d, "rules flushed after a partial range delete")
            est = self.add_model[d.name].cost(d.n, n)
            if not self.budget.allow("%s: rebuilding %d mappings after the range delete" % (d.name, n),
                                     est, reserve=self.reserve_after(d, n)):
                return False
            out = self.lg(d.lab, "add", self.to() + ["--client", LAN_HOST, "--from", str(d.n),
                                                     "--count", str(n - d.n),
                                                     "--seconds", str(max(30, int(self.budget.left())))])
            d.n += out["done"]
            dres["rebuild_s"] = out["seconds"]
            if d.n != n:
                return False
        return True

    def seeded_connections(self, d, n):
        """The incumbent's new-connection cost at n rule pairs when its SOAP
        build to n did not fit: the rules are seeded (Miniupnpd.seed)."""
        if not self.budget.allow("%s: new connections at %d seeded rule pairs" % (d.name, n), 20):
            return
        log("%s: seeding its chains to %d rule pairs (SOAP build skipped), new connections" % (d.name, n))
        d.seed(n)
        dres = self.res["daemons"][d.name]["sizes"].setdefault(str(n), {})
        dres["conn"] = self.connections(d, n)
        dres["conn"]["seeded"] = True
        dres["seeded"] = "table seeded with nft in miniupnpd's rule layout; SOAP workloads not run"

    def reserve_after(self, d, n):
        """Seconds to keep for the steps after this one that the report needs most."""
        conc = 2 * len(CONC_CLIENTS) * self.args.conc_reps * (self.args.conc_seconds + 1.5)
        fwd = 0 if self.args.no_nft else 120
        big = 0
        if d.name == MINI:
            start = max([int(k) for k in self.res["daemons"][IGDD]["sizes"]] + [0])
            for s in IGDD_SIZES:
                # adds (the build, and the rebuild after the range delete)
                big += self.add_model[IGDD].max_per_op() * (s - start) * 2.5 + 15
                if self.enum_model[IGDD].points:
                    big += self.enum_model[IGDD].max_per_op() * s * 3
                start = s
        return conc + fwd + big + 15

    # phases --------------------------------------------------------------
    def startup_phase(self, daemons, reps):
        for r in range(reps):
            for d in daemons:
                d.lab.timewait(kill=True)
                out = d.start()
                self.res["daemons"][d.name]["startup"].append(out)
                if r < reps - 1:
                    d.stop()
        for d in daemons:
            s = self.res["daemons"][d.name]["startup"]
            log("%s: first M-SEARCH answer %.1f ms, first description %.1f ms (medians of %d)"
                % (d.name, median([x["ssdp_ms"] for x in s]), median([x["http_ms"] for x in s]), len(s)))
        time.sleep(1.0)
        for d in daemons:
            self.res["daemons"][d.name]["idle_mem"] = d.memory()
            self.res["daemons"][d.name]["idle_mem"]["private_dirty_by_mapping_kb"] = d.breakdown()

    def conc_phase(self, daemons):
        for c in CONC_CLIENTS:
            for r in range(self.args.conc_reps):
                for d in daemons:
                    if not d.alive():
                        self.restart(d, "before the concurrency workload")
                    d.lab.timewait(kill=True)
                    before = d.lab.netstat()
                    c0 = d.cpu_ns()
                    out = self.lg(d.lab, "conc", self.to() + ["--clients", str(c), "--seconds",
                                                              str(self.args.conc_seconds),
                                                              "--src", ",".join(LAN_SRCS)])
                    after = d.lab.netstat()
                    out["cpu_us_per_req"] = (d.cpu_ns() - c0) / 1000.0 / out["ok"] if out["ok"] else None
                    out["listen_drops"] = after["ListenDrops"] - before["ListenDrops"]
                    out["listen_overflows"] = after["ListenOverflows"] - before["ListenOverflows"]
                    out["timewait_after"] = d.lab.timewait()
                    if not d.alive():
                        out["crash"] = self.note_crash(d, "concurrent GetExternalIPAddress")
                    self.res["daemons"][d.name]["conc"].setdefault(str(c), {"runs": []})["runs"].append(out)
            for d in daemons:
                cr = self.res["daemons"][d.name]["conc"][str(c)]
                runs = cr["runs"]
                cr.update({"req_per_s": median([x["req_per_s"] for x in runs]),
                           "p50_ms": median([x["latency"]["p50_ms"] for x in runs]),
                           "p99_ms": median([x["latency"]["p99_ms"] for x in runs]),
                           "max_ms": max(x["latency"]["max_ms"] for x in runs),
                           "connect_stalls": sum(x["connect_stalls"] for x in runs),
                           "listen_drops": sum(x["listen_drops"] for x in runs),
                           "listen_overflows": sum(x["listen_overflows"] for x in runs),
                           "errors": sum(x["errors"] for x in runs),
                           "cpu_us_per_req": median([x.get("cpu_us_per_req") for x in runs])})
                log("%s: %d clients: %.0f req/s, p99 %.2f ms, stalls %d, listen drops %d, errors %d"
                    % (d.name, c, cr["req_per_s"], cr["p99_ms"], cr["connect_stalls"],
                       cr["listen_drops"], cr["errors"]))

    def nft_phase(self, lab):
        """igdd on the nft backend: does it forward, and what does a new connection cost?"""
        dres = self.res["daemons"][IGDD_NFT]
        d = Igdd(self, lab, "nft")
        try:
            out = d.start()
        except Exception as e:
            dres["unsupported"] = "igdd did not start with backend = nft: %s" % str(e)[:300]
            log("SKIPPED igdd nft forwarding: %s" % dres["unsupported"])
            return
        dres["startup"].append(out)
        chk = run(lab.exec_(lab.gw, ["nft", "list", "tables"]), check=False).stdout
        if "igdd" not in chk:
            dres["unsupported"] = "igdd started with backend = nft but installed no nft table"
            log("SKIPPED igdd nft forwarding: %s" % dres["unsupported"])
            d.stop()
            return
        time.sleep(0.5)
        dres["idle_mem"] = d.memory()
        dres["idle_mem"]["private_dirty_by_mapping_kb"] = d.breakdown()
        sizes = FWD_SIZES + FWD_EXTRA
        for n in sizes:
            est = self.add_model[IGDD_NFT].cost(d.n, n) + 10
            if n in FWD_EXTRA and not self.budget.allow("igdd nft: %d mappings" % n, est, reserve=20):
                break
            if not self.budget.allow("igdd nft: %d mappings" % n, est, reserve=15):
                break
            sres = dres["sizes"].setdefault(str(n), {})
            window = n - d.n if n <= 100 else min(n - d.n, max(100, min(n // 20, 5000)))
            log("%s: AddPortMapping %d -> %d" % (d.name, d.n, n))
            sres["add"] = self.grow(d, n, window)
            if sres["add"].get("error") or d.n != n:
                if d.died():
                    sres["add"]["crash"] = self.note_crash(d, "add")
                break
            sres["mem"] = d.memory()
            log("%s @%d: new connections through the gateway" % (d.name, n))
            sres["conn"] = self.connections(d, n)
            if sres["conn"].get("error"):
                log("%s @%d: connections failed: %s" % (d.name, n, sres["conn"]["error"]))
                if n == 1:
                    dres["unsupported"] = "no connection went through igdd's nft mapping: %s" \
                        % sres["conn"]["error"]
                    break
        d.stop()

    # main ----------------------------------------------------------------
    def wait_idle(self, limit):
        """Wait (at most limit s) until no other process wants the CPUs: other
        work on the machine skews every figure. Returns the mean number of other
        runnable processes seen last (/proc/loadavg; this VM does not account
        idle time in /proc/stat)."""
        def others():
            xs = []
            for _ in range(20):
                with open("/proc/loadavg") as f:
                    xs.append(int(f.read().split()[3].split("/")[0]) - 1)
                time.sleep(0.1)
            return sum(xs) / len(xs)
        t_end = time.monotonic() + limit
        while True:
            busy = others()
            if busy <= 0.5 or time.monotonic() >= t_end:
                break
            log("the machine is busy (%.1f other runnable processes): waiting" % busy)
            time.sleep(5)
        if busy > 0.5:
            self.res["notes"].append("the machine was busy when the run started (%.1f other runnable "
                                     "processes on %d CPUs): figures are noisier than usual; the daemon "
                                     "CPU-time figures are the least affected" % (busy, os.cpu_count()))
        return busy

    def main(self):
        a = self.args
        work = a.work
        idle = self.wait_idle(a.wait_idle)
        self.budget = Budget(a.budget)
        self.res["skipped"] = self.budget.skipped
        self.res["meta"] = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg(), "budget_s": a.budget,
            # relative to the source tree: a result names no path of the machine
            "igdd": os.path.relpath(os.path.abspath(a.igdd), REPO),
            "igdd_version": a.igdd_version, "miniupnpd_version": a.mini_version,
            "git": a.git, "sizes": SIZES, "igdd_sizes": IGDD_SIZES,
            "conc_reps": a.conc_reps, "conc_seconds": a.conc_seconds,
            "other_runnable_before": round(idle, 2)}
        lm, li = Lab("m", a.lab_id, work), Lab("i", a.lab_id, work)
        self.labs = [lm, li]
        lm.up()
        li.up()
        mini = Miniupnpd(self, lm)
        mini.setup()
        ig = Igdd(self, li, "sim")
        # igdd first at each size: its measured costs then size what to keep
        # for its larger tables when the incumbent's next (slow) size is weighed
        daemons = [ig, mini]
        log("start-up: %d starts of each, interleaved" % a.startup_reps)
        self.startup_phase(daemons, a.startup_reps)

        # the incumbent's empty-table connection cost: one mapping
        log("%s: one mapping, new connections through the gateway" % MINI)
        r1 = self.grow(mini, 1, 1)
        self.res["daemons"][MINI]["sizes"]["1"] = {"conn": self.connections(mini, 1), "add1": r1}

        alive = {MINI: True, IGDD: True}
        for i, n in enumerate(SIZES):
            for d in daemons:
                if not alive[d.name]:
                    if d is mini and mini.alive() and mini.n <= n:
                        self.seeded_connections(mini, n)
                    continue
                est = self.add_model[d.name].cost(d.n, n) + (
                    self.enum_model[d.name].per_op(n) * min(n, PER_PROTO + 1)
                    if self.enum_model[d.name].points else 0)
                last = (d.name == MINI and i == len(SIZES) - 1)
                if d is mini and a.mini_max and n > a.mini_max:
                    self.budget.skipped.append({"what": "%s: table size %d (--mini-max %d)" % (MINI, n, a.mini_max),
                                                "estimate_s": round(est, 1), "reserve_s": 0,
                                                "left_s": round(self.budget.left(), 1)})
                    alive[d.name] = False
                elif not self.budget.allow("%s: table size %d" % (d.name, n), est,
                                         reserve=self.reserve_after(d, n)):
                    alive[d.name] = False
                if not alive[d.name]:
                    if d is mini and mini.alive() and mini.n <= n:
                        self.seeded_connections(mini, n)
                    continue
                ok = self.size_step(d, n, last)
                if ok is False:
                    alive[d.name] = False
                    log("%s: stopping the size ladder at %d" % (d.name, n))
        for j, n in enumerate(IGDD_SIZES):
            if not alive[IGDD]:
                break
            est = self.add_model[IGDD].max_per_op() * (n - ig.n) * 2.5 + \
                self.enum_model[IGDD].max_per_op() * n + 10
            conc = 2 * len(CONC_CLIENTS) * a.conc_reps * (a.conc_seconds + 1.5)
            if not self.budget.allow("%s: table size %d" % (IGDD, n), est,
                                     reserve=conc + (0 if a.no_nft else 100)):
                break
            if self.size_step(ig, n, j == len(IGDD_SIZES) - 1) is False:
                break

        log("concurrent GetExternalIPAddress: %s clients" % CONC_CLIENTS)
        self.conc_phase(daemons)
        for d in daemons:
            d.stop()

        if a.no_nft:
            self.res["daemons"][IGDD_NFT]["unsupported"] = "not run (--no-nft)"
        elif self.budget.allow("igdd nft forwarding", 30):
            lf = Lab("f", a.lab_id, work)
            self.labs.append(lf)
            lf.up()
            self.nft_phase(lf)
        self.res["meta"]["loadavg_end"] = os.getloadavg()
        self.res["meta"]["elapsed_s"] = round(time.monotonic() - T0, 1)
        return self.res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--igdd", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--lab-id", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (configs, logs)")
    ap.add_argument("--out", required=True, help="where latest.json/.md/.png go")
    ap.add_argument("--readme", help="README whose results section is rewritten")
    ap.add_argument("--pidfile", help="PIDs this run started, for run.sh's cleanup")
    ap.add_argument("--budget", type=float, default=1200, help="seconds for the whole run")
    ap.add_argument("--startup-reps", type=int, default=5)
    ap.add_argument("--conc-reps", type=int, default=3)
    ap.add_argument("--conc-seconds", type=float, default=3)
    ap.add_argument("--wait-idle", type=float, default=60,
                    help="wait up to this many seconds for an idle machine first")
    ap.add_argument("--mini-max", type=int, default=0,
                    help="the incumbent's SOAP workloads stop above this size (0 = no limit)")
    ap.add_argument("--no-nft", action="store_true", help="skip the igdd nft forwarding workload")
    ap.add_argument("--igdd-version", default="")
    ap.add_argument("--mini-version", default="")
    ap.add_argument("--git", default="")
    ap.add_argument("--sizes", help="table sizes for both daemons (default %s)" % ",".join(map(str, SIZES)))
    ap.add_argument("--igdd-sizes", help="larger sizes, igdd alone (default %s; 0 = none)"
                    % ",".join(map(str, IGDD_SIZES)))
    a = ap.parse_args()
    if a.sizes:
        SIZES[:] = sorted(int(x) for x in a.sizes.split(","))
    if a.igdd_sizes:
        IGDD_SIZES[:] = sorted(int(x) for x in a.igdd_sizes.split(",") if int(x) > 0)
    FWD_SIZES[:] = [1] + [n for n in SIZES if n <= 10000]
    FWD_EXTRA[:] = [n for n in FWD_EXTRA if n in IGDD_SIZES]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    h = Harness(a)
    res, failed = None, None
    try:
        res = h.main()
    except (Stop, Exception) as e:
        failed = "%s: %s" % (type(e).__name__, e)
        log("run aborted: %s" % failed)
        res = h.res
        res["aborted"] = failed
    finally:
        h.cleanup()
    import report
    report.write(res, a.out, a.readme)
    log("results: %s" % a.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
