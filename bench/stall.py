#!/usr/bin/python3
"""stall.py - how long other clients wait while one client's large change runs.

Started by bench/bench_stall.sh (which builds, installs and cleans up after it);
see bench/README.md, "Loop stall". It uses the labs and daemons of harness.py:

    lan (192.168.77.2 = the client under test; .10, .11, .12 = the other
         clients) -- lan0 [gateway 192.168.77.1 | 203.0.113.1] wan0 -- wan

Workloads (every loop bounded in count and time):

  delete  the client under test holds N TCP mappings (AddPortMapping over SOAP,
          one request each, untimed), then deletes them all with one
          DeletePortMappingRange (TCP 1-65535, NewManage 0) over SOAP; meanwhile
          the other clients (`loadgen probe`) each send one request every
          --interval us: GetExternalIPAddress, AddPortMapping and
          DeletePortMapping of one UDP port of their own, in turn. igdd on the
          nft backend (the privileged helper runs real nft) and on the sim
          backend, N = 65,535; then N = 100 for igdd (nft) beside miniupnpd
          2.3.1, which aborts on a range of more than 128 entries.
  sync    igdd (sim backend, state_dir on) with fdatasync/fsync made slower by
          a set amount (bench/slowsync.so, preloaded), while the client under
          test adds mappings at full rate (one connection at a time).

Every other client's request is placed by its start and end time: "at rest" is
before the change begins (after a short warm-up), "during" overlaps it. Reads
(GetExternalIPAddress) and writes (Add/DeletePortMapping: on igdd each write
also waits for its own lease record's fdatasync) are reported apart.
"""

import argparse
import datetime
import json
import os
import platform
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402  (the labs, the daemons, process tracking)

PROBES = ["192.168.77.10", "192.168.77.11", "192.168.77.12"]
PROBE_PORT0 = 40000          # UDP: the client under test holds TCP ports only


def log(msg):
    H.log(msg)


class StallIgdd(H.Daemon):
    """igdd with its own configuration: the bench's policy (harness.py), lease
    persistence on, and optionally the slow-flush library preloaded."""

    def __init__(self, h, lab, backend, tag, sync_delay_us=None, state_root=None):
        super().__init__(h, lab)
        self.backend = backend
        self.name = "igdd-" + tag
        self.sync_delay_us = sync_delay_us
        self.conf = os.path.join(lab.work, "%s.conf" % self.name)
        self.state = os.path.join(state_root or lab.work, "state-" + self.name)
        os.makedirs(self.state, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "backend = %s" % backend, "lan_interface = lan0", "wan_interface = wan0",
                "external_ip = %s" % H.WAN_GW, "http_port = %d" % H.HTTP_PORT,
                "state_dir = %s" % self.state, "persist_leases = yes",
                "control_socket = %s" % os.path.join(lab.work, self.name + ".sock"),
                "friendly_name = igdd stall bench", "max_mappings = 131070",
                "max_mappings_per_client = 131070", "enable_natpmp = no", "enable_pcp = no",
                "acl = allow 1-65535 192.168.77.0/24 1-65535", ""]))

    def command(self):
        cmd = [self.h.igdd, "-d", "-f", self.conf]
        if self.sync_delay_us is not None:
            cmd = ["env", "LD_PRELOAD=%s" % self.h.slowsync,
                   "IGDD_BENCH_SYNC_DELAY_US=%d" % self.sync_delay_us] + cmd
        return cmd


def sched_split(d):
    """From schedstat, so far: (CPU ns, ns runnable but waiting for a CPU) of
    the daemon's main process and of its children (igdd's privileged
    helper), apart: ((cpu, wait), (cpu, wait))."""
    out = []
    for pid in d.pids():
        t = [0, 0]
        try:
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    v = f.read().split()
                t[0] += int(v[0])
                t[1] += int(v[1])
        except (OSError, ValueError, IndexError):
            pass
        out.append(t)
    main = out[0] if out else [0, 0]
    kids = [sum(x[0] for x in out[1:]), sum(x[1] for x in out[1:])]
    return main, kids


def pct(xs, p):
    """Nearest-rank percentile (ms) of a sorted list of ns."""
    if not xs:
        return None
    k = max(1, min(len(xs), int(p / 100.0 * len(xs) + 0.999999)))
    return xs[k - 1] / 1e6


def summary(durs):
    durs = sorted(durs)
    if not durs:
        return {"n": 0}
    return {"n": len(durs), "p50_ms": round(pct(durs, 50), 3), "p99_ms": round(pct(durs, 99), 3),
            "max_ms": round(durs[-1] / 1e6, 3)}


class Stall:
    def __init__(self, a):
        self.a = a
        ha = argparse.Namespace(igdd=a.igdd, loadgen=a.loadgen, budget=a.budget, pidfile=a.pidfile)
        self.h = H.Harness(ha)
        self.h.slowsync = a.slowsync
        self.res = {"meta": {}, "runs": [], "notes": []}
        self.seq = 0

    def to(self):
        return ["--to", "%s:%d" % (H.LAN_GW, H.HTTP_PORT)]

    def lab(self, tag):
        lab = H.Lab(tag, self.a.lab_id, self.a.work)
        self.h.labs.append(lab)
        lab.up()
        return lab

    # the other clients ---------------------------------------------------
    def probes_start(self, lab, seconds, mixes):
        """One `loadgen probe` per other client; mixes: their requests (G, A, D)."""
        self.seq += 1
        ps = []
        for k, (src, mix) in enumerate(zip(PROBES, mixes)):
            path = os.path.join(lab.work, "probe-%d-%d.log" % (self.seq, k))
            p = self.h.spawn(lab.exec_(lab.lan, [
                self.h.loadgen, "probe"] + self.to() + [
                "--src", src, "--port", str(PROBE_PORT0 + k), "--interval", str(self.a.interval),
                "--mix", mix,
                "--seconds", str(seconds), "--log", path]))
            ps.append((p, path))
        return ps

    def probes_stop(self, ps):
        """SIGTERM (each finishes its request under way and writes its log),
        then the records: (op, t0_ns, dur_ns, ok)."""
        recs, outs = [], []
        for p, _ in ps:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p, path in ps:
            try:
                out, _ = p.communicate(timeout=120)
            except Exception:
                p.kill()
                out, _ = p.communicate(timeout=10)
            self.h.untrack(p.pid)
            try:
                outs.append(json.loads(out.strip().splitlines()[-1]))
            except (ValueError, IndexError):
                outs.append({"error": "no summary"})
            try:
                with open(path) as f:
                    for line in f:
                        op, t0, dur, ok = line.split()
                        recs.append((op, int(t0), int(dur), ok == "1"))
                os.unlink(path)
            except OSError:
                pass
        return recs, outs

    @staticmethod
    def windows(recs, t_begin, t_end, t_rest0):
        """Split the other clients' requests: at rest (between t_rest0 and the
        change's start), during (overlapping [t_begin, t_end])."""
        w = {"rest": {"read": [], "write": []}, "during": {"read": [], "write": []}}
        fails = {"rest": 0, "during": 0}
        for op, t0, dur, ok in recs:
            kind = "read" if op == "G" else "write"
            if t0 >= t_rest0 and t0 + dur < t_begin:
                win = "rest"
            elif t0 < t_end and t0 + dur > t_begin:
                win = "during"
            else:
                continue
            if ok:
                w[win][kind].append(dur)
            else:
                fails[win] += 1
        return w, fails

    # steps -----------------------------------------------------------------
    def fill(self, d, n):
        d.lab.timewait(kill=True)
        out = self.h.lg(d.lab, "add", self.to() + ["--client", H.LAN_HOST, "--from", "0",
                                                   "--count", str(n), "--seconds", "900"],
                        timeout=1000)
        if out.get("error") or out["done"] != n:
            raise RuntimeError("%s: filling %d mappings stopped at %d: %s"
                               % (d.name, n, out["done"], out.get("error")))
        return out

    def delete_run(self, d, n, reps, label):
        """reps x (fill n, probes at rest, DeletePortMappingRange, probes after)."""
        allw = {"rest": {"read": [], "write": []}, "during": {"read": [], "write": []}}
        run = {"daemon": d.name, "backend": label, "workload": "delete", "mappings": n,
               "mixes": self.a.mixes, "interval_us": self.a.interval, "reps": [],
               "failed": {"rest": 0, "during": 0}}
        for r in range(reps):
            if self.h.budget.left() < 30:
                run["note"] = "budget: %d of %d repetitions" % (r, reps)
                break
            f = self.fill(d, n)
            log("%s: %d mappings in %.1f s (%.0f adds/s); deleting with %d other clients"
                % (d.name, n, f["seconds"], f["ops_per_s"], len(self.a.mixes.split(","))))
            d.lab.timewait(kill=True)
            ps = self.probes_start(d.lab, self.a.rest + 600, self.a.mixes.split(","))
            t_rest0 = time.monotonic_ns() + 300_000_000      # warm-up
            time.sleep(self.a.rest)
            c0 = sched_split(d)
            try:
                out = self.h.lg(d.lab, "delrange", self.to() + ["--proto", "TCP", "--lo", "1",
                                                                "--hi", "65535"], timeout=600)
            finally:
                c1 = sched_split(d)
                cpu_ms = (c1[0][0] + c1[1][0] - c0[0][0] - c0[1][0]) / 1e6
                time.sleep(self.a.rest / 3)
                recs, outs = self.probes_stop(ps)
            one = {"delete_s": out["seconds"], "daemon_cpu_ms": round(cpu_ms, 1),
                   "engine_cpu_ms": round((c1[0][0] - c0[0][0]) / 1e6, 1),
                   "helper_cpu_ms": round((c1[1][0] - c0[1][0]) / 1e6, 1),
                   # runnable, waiting for a CPU (the machine's other work)
                   "engine_runq_ms": round((c1[0][1] - c0[0][1]) / 1e6, 1),
                   "helper_runq_ms": round((c1[1][1] - c0[1][1]) / 1e6, 1),
                   "probe_failed": sum(o.get("failed", 0) for o in outs)}
            errs = [o["first_error"] for o in outs if o.get("first_error")]
            if errs:
                one["probe_first_error"] = errs[0]
            if out.get("error"):
                one["error"] = out["error"]
                if d.died():
                    one["crash"] = self.h.note_crash(d, "delrange")
                    self.h.restart(d, "crashed in DeletePortMappingRange")
                run["reps"].append(one)
                continue
            w, fails = self.windows(recs, out["t_begin_ns"], out["t_end_ns"], t_rest0)
            for win in w:
                for kind in w[win]:
                    allw[win][kind] += w[win][kind]
                run["failed"][win] += fails[win]
            one["during"] = {k: summary(v) for k, v in w["during"].items()}
            run["reps"].append(one)
            log("%s: delete of %d: %.3f s (CPU: engine %.0f ms, helper %.0f ms; waiting for a CPU: "
                "engine %.0f ms, helper %.0f ms); others during it: read %s, write %s"
                % (d.name, n, out["seconds"], one["engine_cpu_ms"], one["helper_cpu_ms"],
                   one["engine_runq_ms"], one["helper_runq_ms"], one["during"]["read"],
                   one["during"]["write"]))
            # what is left of the range: none (730 PortMappingNotFound,
            # WANIPConnection:2 2.5.21.3; miniupnpd 2.3.1 answers 714), or the count
            left = self.h.lg(d.lab, "list", self.to() + ["--proto", "TCP"], timeout=300)
            if left.get("upnp_error") in (714, 730):
                one["left_after_delete"] = 0
            elif not left.get("error"):
                one["left_after_delete"] = left.get("entries")
            else:
                one["left_after_delete"] = "unknown: %s" % left["error"]
            if one["left_after_delete"] != 0:
                log("%s: after the delete the range still holds: %s" % (d.name, one["left_after_delete"]))
        ok = [x for x in run["reps"] if "error" not in x]
        if ok:
            ds = sorted(x["delete_s"] for x in ok)
            run["delete_s"] = {"median": ds[len(ds) // 2], "min": ds[0], "max": ds[-1]}
        for win in allw:
            run[win] = {k: summary(v) for k, v in allw[win].items()}
            run[win]["all"] = summary(allw[win]["read"] + allw[win]["write"])
        self.res["runs"].append(run)
        return run

    def sync_run(self, d, delay_us, seconds):
        """The client under test adds at full rate for `seconds` while the others probe."""
        run = {"daemon": d.name, "backend": d.backend, "workload": "sync", "sync_delay_us": delay_us,
               "interval_us": self.a.interval, "mixes": self.a.sync_mixes}
        d.lab.timewait(kill=True)
        ps = self.probes_start(d.lab, self.a.rest + seconds + 600, self.a.sync_mixes.split(","))
        t_rest0 = time.monotonic_ns() + 300_000_000
        time.sleep(self.a.rest)
        t_begin = time.monotonic_ns()
        try:
            out = self.h.lg(d.lab, "add", self.to() + ["--client", H.LAN_HOST, "--from", "0",
                                                       "--count", "60000", "--seconds", str(seconds)],
                            timeout=seconds + 120)
        finally:
            t_end = time.monotonic_ns()
            time.sleep(self.a.rest / 3)
            recs, outs = self.probes_stop(ps)
        run["adds"] = out["done"]
        run["adds_per_s"] = out["ops_per_s"]
        run["add_latency"] = out["latency"]
        if out.get("error") and out["error"] != "time limit":
            run["error"] = out["error"]
        w, fails = self.windows(recs, t_begin, t_end, t_rest0)
        run["failed"] = fails
        for win in w:
            run[win] = {k: summary(v) for k, v in w[win].items()}
            run[win]["all"] = summary(w[win]["read"] + w[win]["write"])
        log("%s: fdatasync +%d us: %d adds (%.0f/s); others during: read %s, write %s; at rest: read %s"
            % (d.name, delay_us, out["done"], out["ops_per_s"], run["during"]["read"],
               run["during"]["write"], run["rest"]["read"]))
        # empty the table for the next run: the range delete, untimed
        self.h.lg(d.lab, "delrange", self.to() + ["--proto", "TCP"], timeout=600)
        self.res["runs"].append(run)
        return run

    # phases ----------------------------------------------------------------
    def phase_delete(self, backend, tag, n, reps):
        lab = self.lab(tag)
        d = StallIgdd(self.h, lab, backend, tag, state_root=self.a.state_tmpfs)
        d.start()
        try:
            if backend == "nft":
                tables = H.run(lab.exec_(lab.gw, ["nft", "list", "tables"]), check=False).stdout
                if "igdd" not in tables:
                    self.res["notes"].append("igdd (nft) installed no nft table: not run")
                    return
            self.delete_run(d, n, reps, backend)
        finally:
            d.stop()
            lab.down()

    def phase_compare(self, n, reps):
        """The same delete-range load, igdd (nft) beside miniupnpd (nft), n <= 128."""
        lm = self.lab("m")
        li = self.lab("c")
        mini = H.Miniupnpd(self.h, lm)
        mini.setup()
        ig = StallIgdd(self.h, li, "nft", "c", state_root=self.a.state_tmpfs)
        try:
            for d, label in ((ig, "nft"), (mini, "nft")):
                d.start()
                try:
                    self.delete_run(d, n, reps, label)
                finally:
                    d.stop()
        finally:
            lm.down()
            li.down()

    def phase_sync(self, delays, seconds):
        '''state_dir on the tmpfs (a flush costs next to nothing) with each delay
        added; then (--sync-disk) on the machine's own disk, nothing added.'''
        cases = [(x, self.a.state_tmpfs) for x in delays]
        if self.a.sync_disk:
            cases.append((0, None))
        for delay, root in cases:
            lab = self.lab("s%d" % len(self.res["runs"]))
            tag = "s%d%s" % (delay, "" if root else "disk")
            d = StallIgdd(self.h, lab, "sim", tag, sync_delay_us=delay, state_root=root)
            d.start()
            try:
                run = self.sync_run(d, delay, seconds)
                run["state_dir_on"] = "tmpfs" if root else "disk"
            finally:
                d.stop()
                lab.down()
                self.h.labs.remove(lab)

    def main(self):
        a = self.a
        self.res["meta"] = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "kernel": platform.release(), "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg(), "git": a.git,
            "igdd": os.path.relpath(os.path.abspath(a.igdd), H.REPO),
            "mixes": a.mixes, "sync_mixes": a.sync_mixes, "interval_us": a.interval, "rest_s": a.rest}
        phases = a.phases.split(",")
        if "nft" in phases:
            log("delete %d on igdd (nft), %d repetitions" % (a.mappings, a.reps))
            self.phase_delete("nft", "n", a.mappings, a.reps)
        if "sim" in phases:
            log("delete %d on igdd (sim), %d repetitions" % (a.mappings, a.sim_reps))
            self.phase_delete("sim", "i", a.mappings, a.sim_reps)
        if "sync" in phases:
            delays = [int(x) for x in a.sync_delays.split(",")]
            log("slow fdatasync: +%s us" % delays)
            self.phase_sync(delays, a.sync_seconds)
        if "compare" in phases:
            log("delete %d: igdd (nft) beside miniupnpd, %d repetitions" % (a.compare_n, a.compare_reps))
            self.phase_compare(a.compare_n, a.compare_reps)
        self.res["meta"]["loadavg_end"] = os.getloadavg()
        self.res["meta"]["elapsed_s"] = round(time.monotonic() - H.T0, 1)
        return self.res


def fmt(s, key="p99_ms"):
    if not s or not s.get("n"):
        return "—"
    return "%.2f" % s[key]


def report(res):
    """Markdown tables of a run."""
    m = res["meta"]
    out = ["Run of %s (kernel %s, %d CPUs, load average %s at the start, %s at the end), %s s; "
           "other clients during the deletes: %s, during the slow-flush runs: %s (G "
           "GetExternalIPAddress, A AddPortMapping, D DeletePortMapping, in turn), one request every %d µs each."
           % (m["date"], m["kernel"], m["cpus"], "/".join("%.2f" % x for x in m["loadavg_start"]),
              "/".join("%.2f" % x for x in m.get("loadavg_end", [0, 0, 0])), m.get("elapsed_s"),
              m["mixes"], m["sync_mixes"], m["interval_us"]), ""]
    dl = [r for r in res["runs"] if r["workload"] == "delete"]
    if dl:
        out += ["| daemon | mappings | delete (s), median [min-max] | daemon CPU (ms) | others at rest: p50 / p99 / max (ms) | others during the delete: p50 / p99 / max (ms) | reads during: p99 / max | writes during: p99 / max | requests during | failed |",
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in dl:
            ds = r.get("delete_s")
            dtxt = "%.3f [%.3f-%.3f]" % (ds["median"], ds["min"], ds["max"]) if ds else \
                "failed: %s" % "; ".join(x.get("error", "") for x in r["reps"])[:80]
            cpu = [x["daemon_cpu_ms"] for x in r["reps"] if "error" not in x]
            ra, du = r["rest"]["all"], r["during"]["all"]
            out.append("| %s (%s) | %s | %s | %s | %s / %s / %s | %s / %s / %s | %s / %s | %s / %s | %d | %d |" % (
                r["daemon"].split("-")[0], r["backend"] if r["daemon"] != H.MINI else "nft",
                "{:,}".format(r["mappings"]), dtxt,
                "%.0f" % sorted(cpu)[len(cpu) // 2] if cpu else "—",
                fmt(ra, "p50_ms"), fmt(ra), fmt(ra, "max_ms"),
                fmt(du, "p50_ms"), fmt(du), fmt(du, "max_ms"),
                fmt(r["during"]["read"]), fmt(r["during"]["read"], "max_ms"),
                fmt(r["during"]["write"]), fmt(r["during"]["write"], "max_ms"),
                du.get("n", 0), r["failed"]["rest"] + r["failed"]["during"]))
        out.append("")
    sy = [r for r in res["runs"] if r["workload"] == "sync"]
    if sy:
        out += ["| fdatasync + | adds/s (client under test) | its add p50 / p99 (ms) | others at rest: p50 / p99 / max (ms) | others' reads during: p50 / p99 / max (ms) | others' writes during: p50 / p99 / max (ms) | failed |",
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in sy:
            ra, rd, wd = r["rest"]["all"], r["during"]["read"], r["during"]["write"]
            out.append("| %s | %.0f | %.2f / %.2f | %s / %s / %s | %s / %s / %s | %s / %s / %s | %d |" % (
                "%g ms" % (r["sync_delay_us"] / 1000.0) if r.get("state_dir_on") != "disk"
                else "none (disk)", r["adds_per_s"], r["add_latency"]["p50_ms"],
                r["add_latency"]["p99_ms"], fmt(ra, "p50_ms"), fmt(ra), fmt(ra, "max_ms"),
                fmt(rd, "p50_ms"), fmt(rd), fmt(rd, "max_ms"),
                fmt(wd, "p50_ms"), fmt(wd), fmt(wd, "max_ms"),
                r["failed"]["rest"] + r["failed"]["during"]))
        out.append("")
    mini = [r for r in dl if r["daemon"] == H.MINI]
    ig = [r for r in dl if r["daemon"] == "igdd-c"]
    if mini and ig and mini[0].get("delete_s") and ig[0].get("delete_s"):
        a, b = mini[0], ig[0]
        out.append("Side by side, %d mappings: the delete %.1f× faster on igdd (%.4f vs %.4f s); "
                   "other clients' p99 during it %s× lower (%s vs %s ms)." % (
                       b["mappings"], a["delete_s"]["median"] / b["delete_s"]["median"],
                       b["delete_s"]["median"], a["delete_s"]["median"],
                       "%.1f" % (a["during"]["all"]["p99_ms"] / b["during"]["all"]["p99_ms"])
                       if b["during"]["all"].get("n") and a["during"]["all"].get("n") else "—",
                       fmt(b["during"]["all"]), fmt(a["during"]["all"])))
        out.append("")
    for n in res["notes"]:
        out.append("- " + n)
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--igdd", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--slowsync", required=True, help="bench/slowsync.so")
    ap.add_argument("--lab-id", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True, help="directory for stall.json and stall.md")
    ap.add_argument("--pidfile")
    ap.add_argument("--git", default="")
    ap.add_argument("--budget", type=float, default=1800)
    ap.add_argument("--phases", default="nft,sim,sync,compare")
    ap.add_argument("--mappings", type=int, default=65535)
    ap.add_argument("--reps", type=int, default=3, help="deletes on the nft backend")
    ap.add_argument("--sim-reps", type=int, default=10, help="deletes on the sim backend")
    ap.add_argument("--compare-n", type=int, default=100)
    ap.add_argument("--compare-reps", type=int, default=10)
    ap.add_argument("--mixes", default="GAD,GAD,G",
                    help="the other clients during the deletes, one mix each: their requests in "
                         "turn (G GetExternalIPAddress, A AddPortMapping, D DeletePortMapping); "
                         "one of them reads only, so that reads are seen apart from writes that "
                         "wait behind the delete")
    ap.add_argument("--interval", type=int, default=2000, help="us between one client's requests")
    ap.add_argument("--rest", type=float, default=3.0, help="seconds of rest before each change")
    ap.add_argument("--sync-delays", default="0,10000,50000", help="us added to each fdatasync")
    ap.add_argument("--sync-seconds", type=float, default=6.0)
    ap.add_argument("--sync-mixes", default="G,G,G",
                    help="the other clients during the slow-flush runs: reads only by default, "
                         "so that only the client under test writes")
    ap.add_argument("--sync-disk", action="store_true",
                    help="one more slow-flush run with state_dir on the machine's disk")
    ap.add_argument("--state-tmpfs", required=True,
                    help="a tmpfs for state_dir: lease persistence on, the flush itself cheap")
    a = ap.parse_args()
    if not 1 <= len(a.mixes.split(",")) <= len(PROBES) or \
            not 1 <= len(a.sync_mixes.split(",")) <= len(PROBES):
        ap.error("--mixes, --sync-mixes: 1 to %d clients" % len(PROBES))
    if a.mappings < 1 or a.mappings > 65535 or a.compare_n > 128:
        ap.error("--mappings 1..65535, --compare-n at most 128 (miniupnpd 2.3.1 aborts above)")
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, H.on_signal)
    st = Stall(a)
    failed = None
    try:
        st.main()
    except (H.Stop, Exception) as e:
        failed = "%s: %s" % (type(e).__name__, e)
        log("run aborted: %s" % failed)
        st.res["aborted"] = failed
    finally:
        st.h.cleanup()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "stall.json"), "w") as f:
        json.dump(st.res, f, indent=1)
    md = report(st.res)
    with open(os.path.join(a.out, "stall.md"), "w") as f:
        f.write(md)
    print(md)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
