"""report.py - turns a harness result into latest.json, latest.md, throughput.png
and the results section of bench/README.md.

Ratios are computed pair by pair from figures of the same run: the column
"igdd vs incumbent" is always oriented so that > 1 means igdd is better
(faster, or smaller for times and memory).
"""

import json
import os
import re
import signal

MINI, IGDD, IGDD_NFT = "miniupnpd", "igdd", "igdd-nft"
MARK_START = "<!-- bench results: start (written by bench/run.sh) -->"
MARK_END = "<!-- bench results: end -->"


def g(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def fnum(x, unit="", digits=None):
    if x is None:
        return "—"
    if digits is None:
        digits = 0 if abs(x) >= 100 else (1 if abs(x) >= 10 else 2)
    s = "{:,.{d}f}".format(x, d=digits)
    return s + unit


def ratio(better_igdd, worse):
    """igdd's advantage: better_igdd / worse, both positive."""
    if not better_igdd or not worse:
        return None
    return better_igdd / worse


def fratio(r):
    return "—" if r is None else ("%.2f×" % r if r < 10 else "%.0f×" % r if r >= 100 else "%.1f×" % r)


def failure_text(x):
    """'crashed (SIGABRT)', 'failed: ...' or None."""
    if not isinstance(x, dict):
        return None
    c = x.get("crash")
    if c:
        return "crashed (%s)" % c.get("signal", c.get("how"))
    if x.get("error"):
        return "failed: %s" % str(x["error"])[:60]
    return None


def sizes_of(res, name):
    return sorted((int(k) for k in g(res, "daemons", name, "sizes") or {}), key=int)


def rows(res):
    """(workload, size, incumbent, igdd, ratio) rows of the main table."""
    D = res["daemons"]
    out = []
    all_sizes = sorted(set(sizes_of(res, MINI)) | set(sizes_of(res, IGDD)))
    all_sizes = [n for n in all_sizes if n >= 100]

    def size_row(title, n, get_val, fmt, higher_better, who=(MINI, IGDD)):
        a = g(D, who[0], "sizes", str(n))
        b = g(D, who[1], "sizes", str(n))
        va, vb = get_val(a), get_val(b)
        ta = failure_text(va) if isinstance(va, dict) else None
        tb = failure_text(vb) if isinstance(vb, dict) else None
        na = va if not isinstance(va, dict) else None
        nb = vb if not isinstance(vb, dict) else None
        sa = ta or (fmt(na) if na is not None else ("—" if a is None else "not run"))
        sb = tb or (fmt(nb) if nb is not None else ("—" if b is None else "not run"))
        if a is None and b is None:
            return
        r = None
        if na is not None and nb is not None:
            r = ratio(nb, na) if higher_better else ratio(na, nb)
        out.append((title, "{:,}".format(n), sa, sb, fratio(r) if not ta else ("igdd ok" if not tb and nb is not None else "—")))

    def pick(key, sub):
        def f(s):
            x = g(s, key)
            if x is None:
                return None
            if failure_text(x) and g(x, sub) is None:
                return x
            return g(x, sub)
        return f

    for n in all_sizes:
        size_row("AddPortMapping (ops/s, new connection each)", n, pick("add", "ops_per_s"),
                 lambda v: fnum(v), True)
    for n in all_sizes:
        size_row("  … daemon CPU per AddPortMapping (µs)", n, pick("add", "cpu_us_per_op"),
                 lambda v: fnum(v, " µs"), False)
    for n in all_sizes:
        size_row("GetSpecificPortMappingEntry, random (ops/s)", n, pick("get", "ops_per_s"),
                 lambda v: fnum(v), True)
    for n in all_sizes:
        size_row("  … daemon CPU per request (µs)", n, pick("get", "cpu_us_per_op"),
                 lambda v: fnum(v, " µs"), False)
    for n in all_sizes:
        size_row("GetGenericPortMappingEntry, whole table (s)", n, pick("enum", "seconds"),
                 lambda v: fnum(v, " s", 2), False)
    for n in all_sizes:
        size_row("  … per entry (µs)", n, pick("enum", "us_per_entry"), lambda v: fnum(v, " µs"), False)
    for n in all_sizes:
        size_row("  … daemon CPU per entry (µs)", n, pick("enum", "cpu_us_per_entry"),
                 lambda v: fnum(v, " µs"), False)

    def crash_or(key, sub):
        def f(s):
            x = g(s, key)
            if x is None:
                return None
            if failure_text(x):
                return x
            return g(x, sub)
        return f

    for n in all_sizes:
        size_row("GetListOfPortMappings, ports 1-65535 (s)", n, crash_or("list", "seconds"),
                 lambda v: fnum(v * 1000, " ms", 1), False)
    for n in all_sizes:
        size_row("DeletePortMappingRange, everything (s)", n, crash_or("delrange", "seconds"),
                 lambda v: fnum(v * 1000, " ms", 1), False)

    # memory
    for n in all_sizes:
        size_row("Private dirty memory (KiB)", n, pick("mem", "private_dirty_kb"),
                 lambda v: fnum(v, " KiB"), False)
    for n in all_sizes:
        size_row("Private dirty after GetListOfPortMappings (KiB)", n, pick("mem_after_list", "private_dirty_kb"),
                 lambda v: fnum(v, " KiB"), False)
    im, ii = g(D, MINI, "idle_mem"), g(D, IGDD, "idle_mem")
    if im and ii:
        out.append(("Idle RSS (KiB)", "0", fnum(im["rss_kb"], " KiB"), fnum(ii["rss_kb"], " KiB"),
                    fratio(ratio(im["rss_kb"], ii["rss_kb"]))))
        out.append(("Idle private dirty (KiB)", "0", fnum(im["private_dirty_kb"], " KiB"),
                    fnum(ii["private_dirty_kb"], " KiB"),
                    fratio(ratio(im["private_dirty_kb"], ii["private_dirty_kb"]))))
    for n in all_sizes:
        pm, pi = per_mapping(res, MINI, n), per_mapping(res, IGDD, n)
        if pm is None and pi is None:
            continue
        out.append(("Memory per mapping (bytes, daemon only)", "{:,}".format(n), fnum(pm, " B"),
                    fnum(pi, " B"), "—"))

    # start-up
    for key, title in (("ssdp_ms", "Start-up to first M-SEARCH answer (ms)"),
                       ("http_ms", "Start-up to first description GET (ms)")):
        a = med([x[key] for x in g(D, MINI, "startup") or [] if x[key] >= 0])
        b = med([x[key] for x in g(D, IGDD, "startup") or [] if x[key] >= 0])
        if a is not None or b is not None:
            out.append((title, "0", fnum(a, " ms", 1), fnum(b, " ms", 1), fratio(ratio(a, b))))

    # concurrency
    for c in ("1", "8", "32"):
        a, b = g(D, MINI, "conc", c), g(D, IGDD, "conc", c)
        if not a and not b:
            continue
        out.append(("GetExternalIPAddress, %s concurrent clients (req/s)" % c, "—",
                    fnum(g(a, "req_per_s")), fnum(g(b, "req_per_s")),
                    fratio(ratio(g(b, "req_per_s"), g(a, "req_per_s")))))
        out.append(("  … daemon CPU per request (µs)", "—", fnum(g(a, "cpu_us_per_req"), " µs"),
                    fnum(g(b, "cpu_us_per_req"), " µs"),
                    fratio(ratio(g(a, "cpu_us_per_req"), g(b, "cpu_us_per_req")))))
        out.append(("  … p99 latency (ms)", "—", fnum(g(a, "p99_ms"), " ms", 2),
                    fnum(g(b, "p99_ms"), " ms", 2), fratio(ratio(g(a, "p99_ms"), g(b, "p99_ms")))))
        out.append(("  … 1 s connect stalls / ListenDrops", "—",
                    "%s / %s" % (g(a, "connect_stalls"), g(a, "listen_drops")) if a else "—",
                    "%s / %s" % (g(b, "connect_stalls"), g(b, "listen_drops")) if b else "—", "—"))

    # forwarding
    fs = sorted(set(sizes_of(res, MINI)) | set(sizes_of(res, IGDD_NFT)))
    base_m = g(D, MINI, "sizes", "1", "conn", "p50_us")
    base_i = g(D, IGDD_NFT, "sizes", "1", "conn", "p50_us")
    for n in fs:
        a = g(D, MINI, "sizes", str(n), "conn", "p50_us")
        b = g(D, IGDD_NFT, "sizes", str(n), "conn", "p50_us")
        if a is None and b is None:
            continue
        sa = "%s (%.2f× empty)" % (fnum(a, " µs", 1), a / base_m) if a and base_m else fnum(a, " µs", 1)
        if g(D, MINI, "sizes", str(n), "conn", "seeded"):
            sa += " [rules seeded]"
        sb = "%s (%.2f× empty)" % (fnum(b, " µs", 1), b / base_i) if b and base_i else fnum(b, " µs", 1)
        if b is None and g(D, IGDD_NFT, "unsupported"):
            sb = "not run"
        out.append(("New TCP connection through the gateway, p50 (µs)", "{:,}".format(n) if n > 1 else "1 (empty)",
                    sa, sb, fratio(ratio(a, b))))
    for n in sizes_of(res, IGDD_NFT):
        if n < 100:
            continue
        b = g(D, IGDD_NFT, "sizes", str(n), "add", "ops_per_s")
        a = g(D, MINI, "sizes", str(n), "add", "ops_per_s")
        out.append(("AddPortMapping, igdd on the nft backend (ops/s)", "{:,}".format(n), fnum(a),
                    fnum(b), fratio(ratio(b, a))))
    return out


def med(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def per_mapping(res, name, n):
    idle = g(res, "daemons", name, "idle_mem", "private_dirty_kb")
    at = g(res, "daemons", name, "sizes", str(n), "mem", "private_dirty_kb")
    if idle is None or at is None or n <= 0:
        return None
    return max(0.0, (at - idle) * 1024.0 / n)


def targets(res):
    D = res["daemons"]
    t = []

    def add(name, value, met, note=""):
        t.append({"target": name, "value": value, "met": met, "note": note})

    def s(name, n, *path):
        return g(D, name, "sizes", str(n), *path)

    a_m, a_i = s(MINI, 5000, "add", "ops_per_s"), s(IGDD, 5000, "add", "ops_per_s")
    r = ratio(a_i, a_m)
    add("AddPortMapping at 5,000 entries ≥ 50× the incumbent", fratio(r) + " (%s vs %s ops/s)" % (fnum(a_i), fnum(a_m)),
        None if r is None else r >= 50)
    def pct(r):
        return "—" if r is None else "%+.0f %%" % ((r - 1) * 100)

    a100, a65 = s(IGDD, 100, "add", "ops_per_s"), s(IGDD, 65535, "add", "ops_per_s")
    c100, c65 = s(IGDD, 100, "add", "cpu_us_per_op"), s(IGDD, 65535, "add", "cpu_us_per_op")
    r = a65 / a100 if a100 and a65 else None
    rc = c65 / c100 if c100 and c65 else None
    add("igdd AddPortMapping at 65,535 within 20 % of its rate at 100",
        "%s vs %s ops/s (%s); daemon CPU %s vs %s µs/add (%s)"
        % (fnum(a65), fnum(a100), pct(r), fnum(c65), fnum(c100), pct(rc)),
        None if r is None else r >= 0.8)
    g100, g65 = s(IGDD, 100, "get", "ops_per_s"), s(IGDD, 65535, "get", "ops_per_s")
    c100, c65 = s(IGDD, 100, "get", "cpu_us_per_op"), s(IGDD, 65535, "get", "cpu_us_per_op")
    r = g65 / g100 if g100 and g65 else None
    rc = c65 / c100 if c100 and c65 else None
    add("GetSpecificPortMappingEntry cost flat 100 → 65,535 (daemon CPU per request within 20 %)",
        "daemon CPU %s vs %s µs (%s); %s vs %s ops/s (%s)"
        % (fnum(c65), fnum(c100), pct(rc), fnum(g65), fnum(g100), pct(r)),
        None if rc is None else rc <= 1.2)
    gm, gi = s(MINI, 5000, "get", "ops_per_s"), s(IGDD, 5000, "get", "ops_per_s")
    r = ratio(gi, gm)
    add("GetSpecificPortMappingEntry at 5,000 ≥ 5× the incumbent", fratio(r) + " (%s vs %s ops/s)" % (fnum(gi), fnum(gm)),
        None if r is None else r >= 5)
    e100, e65 = s(IGDD, 100, "enum", "us_per_entry"), s(IGDD, 65535, "enum", "us_per_entry")
    c100, c65 = s(IGDD, 100, "enum", "cpu_us_per_entry"), s(IGDD, 65535, "enum", "cpu_us_per_entry")
    r = e65 / e100 if e100 and e65 else None
    rc = c65 / c100 if c100 and c65 else None
    add("Enumeration cost per entry flat 100 → 65,535 (daemon CPU per entry within 20 %)",
        "daemon CPU %s vs %s µs (%s); wall %s vs %s µs/entry (%s)"
        % (fnum(c65), fnum(c100), pct(rc), fnum(e65), fnum(e100), pct(r)),
        None if rc is None else rc <= 1.2)
    em, ei = s(MINI, 5000, "enum", "us_per_entry"), s(IGDD, 5000, "enum", "us_per_entry")
    r = ratio(em, ei)
    add("Enumeration per entry at 5,000 ≥ 5× the incumbent", fratio(r) + " (%s vs %s µs/entry)" % (fnum(ei), fnum(em)),
        None if r is None else r >= 5)
    fails, n_ok = [], 0
    for n in sizes_of(res, IGDD):
        for k in ("list", "delrange"):
            x = s(IGDD, n, k)
            if x is None:
                continue
            if x.get("error"):
                fails.append("%s@%d: %s" % (k, n, x["error"]))
            else:
                n_ok += 1
    add("GetListOfPortMappings and DeletePortMappingRange at every size, no failure",
        ("%d runs ok" % n_ok) + ("; " + "; ".join(fails) if fails else ""),
        None if not n_ok and not fails else not fails)
    l65 = s(IGDD, 65535, "list", "tcp_seconds")
    if l65 is None:
        l65 = s(IGDD, 131070, "list", "tcp_seconds")
    add("65,535 entries listed in under 1 s", "—" if l65 is None else "%.3f s" % l65,
        None if l65 is None else l65 < 1.0)
    for c in ("8", "32"):
        cm, ci = g(D, MINI, "conc", c), g(D, IGDD, "conc", c)
        r = ratio(g(ci, "req_per_s"), g(cm, "req_per_s"))
        add("Concurrent requests, %s clients: ≥ 1.5× the incumbent's throughput" % c,
            fratio(r) + " (%s vs %s req/s)" % (fnum(g(ci, "req_per_s")), fnum(g(cm, "req_per_s"))),
            None if r is None else r >= 1.5)
        if ci:
            drops = (ci.get("listen_drops") or 0) + (ci.get("connect_stalls") or 0)
            add("Concurrent requests, %s clients: no listen-queue drops" % c,
                "%d ListenDrops, %d stalled connects" % (ci.get("listen_drops") or 0, ci.get("connect_stalls") or 0),
                drops == 0)
            add("Concurrent requests, %s clients: p99 under 5 ms" % c, "%.2f ms" % ci["p99_ms"], ci["p99_ms"] < 5)
    big = [n for n in sizes_of(res, IGDD) if per_mapping(res, IGDD, n) is not None]
    if big:
        n = max(big)
        pm = per_mapping(res, IGDD, n)
        add("Memory ≤ 256 bytes per mapping", "%.0f B at %s mappings (private dirty growth)" % (pm, "{:,}".format(n)),
            pm <= 256)
    else:
        add("Memory ≤ 256 bytes per mapping", "—", None)
    im, ii = g(D, MINI, "idle_mem", "private_dirty_kb"), g(D, IGDD, "idle_mem", "private_dirty_kb")
    r = ii / im if im and ii else None
    add("Idle private memory ≤ 2× the incumbent's",
        "—" if r is None else "%d KiB vs %d KiB (%.2f×)" % (ii, im, r), None if r is None else r <= 2)
    b1, b10 = g(D, IGDD_NFT, "sizes", "1", "conn", "p50_us"), g(D, IGDD_NFT, "sizes", "10000", "conn", "p50_us")
    r = b10 / b1 if b1 and b10 else None
    unsup = g(D, IGDD_NFT, "unsupported")
    add("New connection through the gateway at 10,000 mappings within 10 % of the empty table",
        ("not measured: " + unsup) if unsup and r is None else
        ("—" if r is None else "%.1f µs vs %.1f µs (%+.0f %%)" % (b10, b1, (r - 1) * 100)),
        None if r is None else r <= 1.10)
    return t


def markdown(res):
    m = res.get("meta", {})
    D = res["daemons"]
    lines = []
    lines.append("Run of %s on %s (kernel %s, %s CPUs; load average %s at the start, %s at the end), "
                 "%s s of a %s s budget. %s%s; %s."
                 % (m.get("date"), m.get("host"), m.get("kernel"), m.get("cpus"),
                    "/".join("%.2f" % x for x in m.get("loadavg_start", [])),
                    "/".join("%.2f" % x for x in m.get("loadavg_end", [])) or "—",
                    m.get("elapsed_s"), m.get("budget_s"), m.get("igdd_version") or "igdd",
                    (" (" + m["git"] + ")") if m.get("git") else "", m.get("miniupnpd_version") or "miniupnpd"))
    if res.get("aborted"):
        lines.append("")
        lines.append("**The run was aborted: %s** — the figures below are what it had measured." % res["aborted"])
    lines.append("")
    lines.append("| Workload | Mappings | miniupnpd | igdd | igdd vs incumbent |")
    lines.append("| --- | ---: | ---: | ---: | ---: |")
    for r in rows(res):
        lines.append("| %s | %s | %s | %s | %s |" % r)
    lines.append("")
    lines.append("Ratios: > 1 means igdd is better (more operations per second, or less time or memory), "
                 "computed from the two daemons' figures of this run. Every figure is a median: "
                 "of 5 timed windows (AddPortMapping), 5 runs (GetSpecific), 3 runs (enumeration, "
                 "listing, connections; 1 run for the incumbent's slow enumerations and for crashing actions) "
                 "and %s runs of %s s (concurrency)." % (m.get("conc_reps", 3), m.get("conc_seconds", 3)))
    lines.append("")
    lines.append("| Target | Measured | Met |")
    lines.append("| --- | --- | :---: |")
    for t in targets(res):
        met = "—" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append("| %s | %s | %s |" % (t["target"], t["value"], met))
    ev = []
    for name in (MINI, IGDD, IGDD_NFT):
        for e in g(res, "daemons", name, "events") or []:
            ev.append("- %s died during %s with %s mappings: %s" % (name, e["workload"], "{:,}".format(e["table"]),
                                                                  e.get("signal", e["how"])))
    if ev:
        lines.append("")
        lines.append("Crashes (the harness restarted the daemon and went on):")
        lines.extend(ev)
    capped = [k for k in (g(D, IGDD, "sizes") or {}) if g(D, IGDD, "sizes", k, "enum", "note")]
    if capped:
        lines.append("")
        lines.append("GetGenericPortMappingEntry at %s mappings: the first 65,536 entries, all that "
                     "NewPortMappingIndex (a ui2) can address." % ", ".join("{:,}".format(int(k)) for k in capped))
    if any(g(D, MINI, "sizes", k, "conn", "seeded") for k in (g(D, MINI, "sizes") or {})):
        lines.append("")
        lines.append("[rules seeded]: building that many mappings through SOAP did not fit the budget; "
                     "the incumbent's chains were filled with `nft` in its own rule layout (one rule pair "
                     "per mapping, the same expressions) to measure forwarding only.")
    for n_ in res.get("notes") or []:
        lines.append("")
        lines.append("Note: " + n_)
    unsup = g(res, "daemons", IGDD_NFT, "unsupported")
    sk = res.get("skipped") or []
    if sk or unsup:
        lines.append("")
        lines.append("Not run:")
        if unsup:
            lines.append("- igdd forwarding (nft backend): %s" % unsup)
        for s in sk:
            lines.append("- %s: estimated %s s with %s s kept for later steps, %s s left"
                         % (s["what"], s["estimate_s"], s["reserve_s"], s["left_s"]))
    return "\n".join(lines) + "\n"


def plot(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    D = res["daemons"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    style = {MINI: dict(color="#c0392b", marker="o", label="miniupnpd 2.3.1 (nft)"),
             IGDD: dict(color="#2471a3", marker="s", label="igdd (sim backend)"),
             IGDD_NFT: dict(color="#1e8449", marker="^", linestyle="--", label="igdd (nft backend)")}

    def series(name, *path, scale=1.0, minsize=100):
        xs, ys = [], []
        for n in sizes_of(res, name):
            v = g(D, name, "sizes", str(n), *path)
            if n >= minsize and isinstance(v, (int, float)) and v > 0:
                xs.append(n)
                ys.append(v * scale)
        return xs, ys

    panels = [
        (axes[0][0], "AddPortMapping (new TCP connection each)", "operations / s", ("add", "ops_per_s"),
         (MINI, IGDD, IGDD_NFT), 100),
        (axes[0][1], "GetSpecificPortMappingEntry, random", "operations / s", ("get", "ops_per_s"),
         (MINI, IGDD), 100),
        (axes[1][0], "Enumeration by GetGenericPortMappingEntry", "entries / s", ("enum", "us_per_entry"),
         (MINI, IGDD), 100),
        (axes[1][1], "New TCP connection through the gateway (p50)", "µs (lower is better)", ("conn", "p50_us"),
         (MINI, IGDD_NFT), 1),
    ]
    for ax, title, ylabel, keys, who, minsize in panels:
        for name in who:
            xs, ys = series(name, *keys, minsize=minsize)
            if keys[1] == "us_per_entry":
                ys = [1e6 / y for y in ys]
            if xs:
                ax.plot(xs, ys, **style[name])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("mappings in the table")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    # crashes of the incumbent, marked on the add panel's x axis
    m = res.get("meta", {})
    fig.suptitle("igdd vs miniupnpd, same namespaces and workload, one run (%s)" % m.get("date", ""), fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(res, outdir, readme=None):
    os.makedirs(outdir, exist_ok=True)
    res = dict(res)
    res["targets"] = targets(res)
    with open(os.path.join(outdir, "latest.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True, default=str)
        f.write("\n")
    md = markdown(res)
    with open(os.path.join(outdir, "latest.md"), "w") as f:
        f.write(md)
    try:
        plot(res, os.path.join(outdir, "throughput.png"))
        img = True
    except Exception as e:      # the numbers matter more than the picture
        print("report: no plot: %s" % e)
        img = False
    if readme and os.path.exists(readme):
        with open(readme) as f:
            txt = f.read()
        rel = os.path.relpath(os.path.join(outdir, "throughput.png"), os.path.dirname(readme))
        block = MARK_START + "\n\n" + md + ("\n![throughput against table size](%s)\n" % rel if img else "") \
            + "\n" + MARK_END
        if MARK_START in txt and MARK_END in txt:
            txt = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), lambda _: block, txt, flags=re.S)
        else:
            txt = txt.rstrip("\n") + "\n\n" + block + "\n"
        with open(readme, "w") as f:
            f.write(txt)
    return md
