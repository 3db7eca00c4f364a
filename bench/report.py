#!/usr/bin/env python3
"""Helpers of bench/run.sh: parse iperf3 and ping output, and turn the raw
per-round results into the table and the JSON report.

  report.py tcp FILE            iperf3 -J (TCP) -> "bits_per_s bytes retransmits"
  report.py tcpcpu FILE         iperf3 -J (TCP) -> "client_cpu_pct server_cpu_pct"
  report.py udp FILE            iperf3 -J (UDP) -> "sent_pps delivered_pps loss_pct"
  report.py ping FILE           ping output -> "avg_ms p50_ms max_ms count"
  report.py table RAW META OUT  RAW: one "impl round key value" per line,
                                META: "key value..." lines; prints the table
                                and writes the JSON report to OUT
  report.py relay-table RAW META OUT
                                the same for bench/relay.sh ("cfg round key
                                value", cfg direct or relayed)
  report.py stock-ratio RAW     bench/relay.sh --stock: medians of the
                                relayed and stock rounds, and their ratio
"""
import json
import statistics
import sys


def iperf_json(path):
    with open(path) as f:
        d = json.load(f)
    if "error" in d and not d.get("end"):
        raise SystemExit("iperf3 error in %s: %s" % (path, d["error"]))
    return d


def cmd_tcp(path):
    end = iperf_json(path)["end"]
    r = end["sum_received"]
    s = end["sum_sent"]
    print("%.0f %d %d" % (r["bits_per_second"], r["bytes"], s.get("retransmits", 0)))


def cmd_tcpcpu(path):
    # iperf3's own CPU use (user + system, percent of one core) on the
    # client (host) and the server (remote) during the test.
    c = iperf_json(path)["end"].get("cpu_utilization_percent", {})
    print("%.2f %.2f" % (c.get("host_total", float("nan")), c.get("remote_total", float("nan"))))


def cmd_udp(path):
    d = iperf_json(path)
    end = d["end"]
    s = end["sum"]
    # The client's end.sum carries the receiver's counts (packets seen by the
    # sender, lost_packets as counted by the server).
    packets = s["packets"]
    lost = s["lost_packets"]
    secs = s["seconds"]
    sent_pps = packets / secs if secs else 0.0
    delivered = (packets - lost) / secs if secs else 0.0
    loss = 100.0 * lost / packets if packets else 0.0
    print("%.0f %.0f %.2f" % (sent_pps, delivered, loss))


def cmd_ping(path):
    times = []
    with open(path) as f:
        for line in f:
            i = line.find("time=")
            if i >= 0:
                times.append(float(line[i + 5:].split()[0]))
    if not times:
        print("nan nan nan 0")
        return
    print("%.3f %.3f %.3f %d" % (statistics.mean(times), statistics.median(times),
                                 max(times), len(times)))


# (key, label, unit, scale, better, format)
METRICS = [
    ("tcp1_gbps", "TCP, 1 stream", "Gbit/s", 1, "higher", "%.2f"),
    ("tcp1_retr", "TCP, 1 stream, retransmits", "count", 1, "lower", "%.0f"),
    ("tcp4_gbps", "TCP, 4 streams", "Gbit/s", 1, "higher", "%.2f"),
    ("tcp4_retr", "TCP, 4 streams, retransmits", "count", 1, "lower", "%.0f"),
    ("tcp_flood_gbps", "TCP, 1 stream, during a handshake flood", "Gbit/s", 1, "higher", "%.2f"),
    ("tcp_sinkflood_gbps", "TCP, 1 stream, same flood at an unread socket", "Gbit/s", 1, "higher", "%.2f"),
    ("flood_kpps", "handshake flood offered (initiations)", "kpps", 1, "info", "%.1f"),
    ("udp_kpps", "UDP 64 B, delivered", "kpps", 1, "higher", "%.1f"),
    ("udp_sent_kpps", "UDP 64 B, offered by iperf3", "kpps", 1, "info", "%.1f"),
    ("udp_loss", "UDP 64 B, loss", "%", 1, "lower", "%.1f"),
    ("ping_idle_ms", "ping RTT idle (avg)", "ms", 1, "lower", "%.3f"),
    ("ping_load_ms", "ping RTT under TCP load (avg)", "ms", 1, "lower", "%.3f"),
    ("ping_load_p50_ms", "ping RTT under TCP load (median)", "ms", 1, "lower", "%.3f"),
    ("rss_idle_rx_mib", "RSS idle, receiver", "MiB", 1, "lower", "%.1f"),
    ("rss_idle_tx_mib", "RSS idle, sender", "MiB", 1, "lower", "%.1f"),
    ("rss_peak_rx_mib", "RSS peak under load, receiver", "MiB", 1, "lower", "%.1f"),
    ("rss_peak_tx_mib", "RSS peak under load, sender", "MiB", 1, "lower", "%.1f"),
    ("cpu_s_per_gb", "CPU per GB, both daemons (TCP 1)", "s/GB", 1, "lower", "%.2f"),
    ("cpu_rx_s_per_gb", "CPU per GB, receiver", "s/GB", 1, "lower", "%.2f"),
    ("cpu_tx_s_per_gb", "CPU per GB, sender", "s/GB", 1, "lower", "%.2f"),
    ("bg_busy_pct", "other load on the machine during TCP 1", "% CPU", 1, "info", "%.1f"),
]

# The BRIEF's targets, checked against the medians.
TARGETS = {
    "tcp1_gbps": ("ratio >= 2", lambda o, g: o >= 2 * g),
    "udp_kpps": ("ratio >= 3", lambda o, g: o >= 3 * g),
    "ping_idle_ms": ("<= go", lambda o, g: o <= g),
    "ping_load_ms": ("<= 1.5 ms", lambda o, g: o <= 1.5),
    "rss_idle_rx_mib": ("<= 3 MB", lambda o, g: o * 1.048576 <= 3),
    "rss_idle_tx_mib": ("<= 3 MB", lambda o, g: o * 1.048576 <= 3),
    "rss_peak_rx_mib": ("<= 16 MB", lambda o, g: o * 1.048576 <= 16),
    "rss_peak_tx_mib": ("<= 16 MB", lambda o, g: o * 1.048576 <= 16),
}


# The 64-byte UDP transfer in detail, with the raw veth (no tunnel) as the
# ceiling: (key, label, unit, format).
UDP_DETAIL = [
    ("udp_kpps", "delivered to iperf3's server", "kpps", "%.1f"),
    ("udp_sent_kpps", "offered by iperf3's client", "kpps", "%.1f"),
    ("udp_loss", "loss (iperf3)", "%", "%.1f"),
    ("udp_drop_tun_kpps", "dropped by the sending TUN (ring full)", "kpps", "%.1f"),
    ("udp_drop_sock_kpps", "dropped by iperf3's socket (buffer full)", "kpps", "%.1f"),
    ("udp_cpu_client", "CPU, iperf3 client", "% core", "%.0f"),
    ("udp_cpu_server", "CPU, iperf3 server", "% core", "%.0f"),
    ("udp_cpu_sender", "CPU, sending daemon", "% core", "%.0f"),
    ("udp_cpu_receiver", "CPU, receiving daemon", "% core", "%.0f"),
    ("udp_wait_client", "waiting for a CPU, iperf3 client", "% time", "%.0f"),
    ("udp_wait_server", "waiting for a CPU, iperf3 server", "% time", "%.0f"),
    ("udp_wait_sender", "waiting for a CPU, sending daemon", "% time", "%.0f"),
    ("udp_wait_receiver", "waiting for a CPU, receiving daemon", "% time", "%.0f"),
    ("udp_machine", "machine busy (all cores)", "%", "%.0f"),
]


def udp_detail(med):
    """Prints the UDP 64 B table; returns its rows for the JSON report."""
    rows = []
    detail = UDP_DETAIL[:3] + [("udpw" + k[3:], l + ", iperf3 -w 4M", u, f)
                               for k, l, u, f in UDP_DETAIL[:3]] + UDP_DETAIL[3:]
    for key, label, unit, fmt in detail:
        rows.append({"metric": key, "label": label, "unit": unit,
                     "raw_veth": med("raw", key), "ours_median": med("ours", key),
                     "go_median": med("go", key)})
    if all(r["raw_veth"] is None and r["ours_median"] is None for r in rows):
        return rows
    print("\nUDP 64 B (iperf3 -u -l 64 -b 0), where the datagrams go and who uses the CPU"
          " (median of rounds; raw veth: no tunnel, measured with each pair; CPU over the middle of the"
          " transfer: CPU in % of one core, waiting in % of the time that the process's"
          " threads were ready to run but had no CPU):\n")
    hdr = "| %-44s | %-6s | %8s | %8s | %8s |" % ("", "unit", "raw veth", "ours", "wg-go")
    print(hdr)
    print("|" + "|".join("-" * len(c) for c in hdr.split("|")[1:-1]) + "|")
    for r, (_k, label, unit, fmt) in zip(rows, detail):
        cells = [fmt % v if v is not None else "-"
                 for v in (r["raw_veth"], r["ours_median"], r["go_median"])]
        print("| %-44s | %-6s | %8s | %8s | %8s |" % (label, unit, *cells))
    for i, what in ((0, ""), (3, " with iperf3 -w 4M")):
        raw, o, g = rows[i]["raw_veth"], rows[i]["ours_median"], rows[i]["go_median"]
        if raw and o and g:
            print("%sdelivered%s: ceiling (raw veth) / wg-go %.2fx; ours / wg-go %.2fx;"
                  " ours / ceiling %.2f; 3x wg-go is %.1f kpps, %s the ceiling"
                  % ("\n" if i == 0 else "", what, raw / g, o / g, o / raw, 3 * g,
                     "below" if 3 * g < raw else "above"))
    return rows


def cmd_table(raw_path, meta_path, out_path):
    allruns = {}  # impl -> key -> [(round, value) in round order]
    discard = set()  # (impl, round) left out of the medians
    with open(raw_path) as f:
        for line in f:
            p = line.split()
            if len(p) != 4:
                continue
            impl, rnd, key, val = p
            if key == "discard":
                discard.add((impl, rnd))
                continue
            try:
                v = float(val)
            except ValueError:
                continue
            allruns.setdefault(impl, {}).setdefault(key, []).append((rnd, v))
    # The raw veth's figures measured with a pair go with it.
    discard |= {("raw", r) for _impl, r in discard}
    runs = {impl: {k: [v for r, v in vals if (impl, r) not in discard]
                   for k, vals in keys.items()}
            for impl, keys in allruns.items()}
    meta = {}
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(" ")
            meta[k] = v

    def med(impl, key):
        vals = [v for v in runs.get(impl, {}).get(key, []) if v == v]
        return statistics.median(vals) if vals else None

    rows = []
    for key, label, unit, _scale, better, fmt in METRICS:
        o, g = med("ours", key), med("go", key)
        ratio = o / g if (o is not None and g) else None
        tgt = TARGETS.get(key)
        verdict = ""
        if tgt and o is not None and g is not None:
            verdict = ("pass" if tgt[1](o, g) else "FAIL") + " (" + tgt[0] + ")"
        rows.append({
            "metric": key, "label": label, "unit": unit, "better": better,
            "ours_median": o, "go_median": g, "ratio_ours_go": ratio,
            "ours_rounds": runs.get("ours", {}).get(key, []),
            "go_rounds": runs.get("go", {}).get(key, []),
            "discarded_rounds": {impl: [v for r, v in allruns.get(impl, {}).get(key, [])
                                        if (impl, r) in discard] for impl in ("ours", "go")},
            "target": verdict,
        })

    print("wh benchmark: %s" % meta.get("date", "?"))
    print("command:   %s" % meta.get("command", "?"))
    print("kernel:    %s" % meta.get("kernel", "?"))
    print("cpu:       %s (%s cores)" % (meta.get("cpu", "?"), meta.get("cores", "?")))
    print("ours:      wireguard-wh %s (%s)" % (meta.get("ours_version", "?"), meta.get("build", "?")))
    print("reference: %s" % meta.get("go_version", "?"))
    print("tools:     %s; %s" % (meta.get("iperf3_version", "?"), meta.get("wg_version", "?")))
    print("rounds:    %s (%s attempted), %s s per transfer; load average at start: %s, at end: %s"
          % (meta.get("rounds", "?"), meta.get("attempts", "?"), meta.get("seconds", "?"),
             meta.get("loadavg", "?"), meta.get("loadavg_end", "?")))
    print()
    hdr = "| %-38s | %-6s | %-6s | %10s | %10s | %7s | %-22s |" % (
        "metric (median of rounds)", "unit", "better", "ours", "wg-go", "ours/go", "target (BRIEF)")
    print(hdr)
    print("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
    for r, m in zip(rows, METRICS):
        fmt = m[5]
        o = fmt % r["ours_median"] if r["ours_median"] is not None else "-"
        g = fmt % r["go_median"] if r["go_median"] is not None else "-"
        ratio = "%.2f" % r["ratio_ours_go"] if r["ratio_ours_go"] is not None else "-"
        print("| %-38s | %-6s | %-6s | %10s | %10s | %7s | %-22s |" % (
            r["label"], r["unit"], r["better"], o, g, ratio, r["target"]))
    raw_tcp = meta.get("raw_veth_tcp_gbps")
    if raw_tcp:
        print("\nraw veth TCP, 1 stream (no tunnel, once): %.2f Gbit/s" % float(raw_tcp))
    udp_rows = udp_detail(med)
    busy = [v for impl in ("ours", "go") for v in runs.get(impl, {}).get("bg_busy_pct", []) if v > 10]
    if busy:
        print("\nWARNING: %d round(s) shared the machine with other jobs (> 10%% CPU of"
              " the two cores during TCP 1, up to %.0f%%): rerun on a quiet machine"
              " before trusting small differences." % (len(busy), max(busy)))
    print("\nper round (ours | wg-go)%s:" % (
        "; rounds repeated because of other load, left out of the medians, in []"
        if discard else ""))

    def fmt_list(impl, key):
        return " ".join(("[%.4g]" if (impl, r) in discard else "%.4g") % v
                        for r, v in allruns.get(impl, {}).get(key, []))
    for r in rows + [u for u in udp_rows if u["metric"].startswith(("udp_cpu", "udp_wait", "udp_drop", "udp_machine", "udpw"))]:
        print("  %-18s %s | %s" % (r["metric"], fmt_list("ours", r["metric"]),
                                   fmt_list("go", r["metric"])))
    print("  raw veth (no tunnel): " + "; ".join(
        "%s %s" % (u["metric"], fmt_list("raw", u["metric"])) for u in udp_rows
        if not u["metric"].startswith(("udp_wait", "udpw_wait")) and allruns.get("raw", {}).get(u["metric"])))

    report = {"meta": meta, "metrics": rows, "udp64": udp_rows}
    if raw_tcp:
        report["raw_veth_tcp_gbps"] = float(raw_tcp)
    with open(out_path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


# bench/relay.sh: (key, label, unit, better, format)
RELAY_METRICS = [
    ("tcp_gbps", "TCP a->b, 1 stream", "Gbit/s", "higher", "%.3f"),
    ("tcp_retr", "TCP retransmits", "count", "lower", "%.0f"),
    ("ping_idle_ms", "ping RTT idle (avg)", "ms", "lower", "%.3f"),
    ("ping_idle_p50_ms", "ping RTT idle (median)", "ms", "lower", "%.3f"),
    ("cpu_a_s_per_gb", "CPU per GB, a (sender)", "s/GB", "lower", "%.2f"),
    ("cpu_b_s_per_gb", "CPU per GB, b (receiver)", "s/GB", "lower", "%.2f"),
    ("cpu_relay_s_per_gb", "CPU per GB, relay", "s/GB", "lower", "%.2f"),
    ("cpu_all_s_per_gb", "CPU per GB, all three daemons", "s/GB", "lower", "%.2f"),
    ("cpu_iperf_s_per_gb", "CPU per GB, iperf3 client + server", "s/GB", "lower", "%.2f"),
    ("cpu_total_s_per_gb", "CPU per GB, daemons + iperf3", "s/GB", "lower", "%.2f"),
    ("cpu_relay_pct", "relay daemon busy during TCP", "% core", "info", "%.1f"),
    ("relay_fwd_kpps", "datagrams forwarded by the relay", "kpps", "info", "%.1f"),
    ("relay_dropped_rate", "relay drops for the rate limit", "count", "lower", "%.0f"),
    ("bg_busy_pct", "other load on the machine during TCP", "% CPU", "info", "%.1f"),
]
RELAY_TARGETS = {
    "tcp_gbps": ("relayed >= 0.5 x direct", lambda r, d: r >= 0.5 * d),
}


def relay_rounds(raw_path):
    """bench/relay.sh's raw rounds: (cfg -> key -> [(round, value)], the
    discarded (cfg, round) pairs, cfg -> key -> [kept values])."""
    allruns = {}
    discard = set()
    with open(raw_path) as f:
        for line in f:
            p = line.split()
            if len(p) != 4:
                continue
            cfg, rnd, key, val = p
            if key == "discard":
                discard.add((cfg, rnd))
                continue
            try:
                v = float(val)
            except ValueError:
                continue
            allruns.setdefault(cfg, {}).setdefault(key, []).append((rnd, v))
    runs = {cfg: {k: [v for r, v in vals if (cfg, r) not in discard]
                  for k, vals in keys.items()}
            for cfg, keys in allruns.items()}
    return allruns, discard, runs


def cmd_stock_ratio(raw_path):
    """bench/relay.sh --stock: the medians of the member pair's relayed
    rounds and the stock client's, and the ratio of their TCP."""
    _allruns, discard, runs = relay_rounds(raw_path)

    def med(cfg, key):
        vals = runs.get(cfg, {}).get(key, [])
        return statistics.median(vals) if vals else float("nan")

    rows = [("TCP 1 stream, Gbit/s", "tcp_gbps"), ("ping idle, ms", "ping_idle_ms"),
            ("CPU relay, s/GB", "cpu_relay_s_per_gb"), ("CPU a (sender), s/GB", "cpu_a_s_per_gb"),
            ("CPU b (receiver), s/GB", "cpu_b_s_per_gb"), ("others' CPU, %", "bg_busy_pct")]
    print("%-26s %12s %12s" % ("median", "relayed", "stock"))
    for label, key in rows:
        print("%-26s %12.4g %12.4g" % (label, med("relayed", key), med("stock", key)))
    ratio = med("stock", "tcp_gbps") / med("relayed", "tcp_gbps")
    print("stock/relayed TCP: %.2f (target >= 0.5); rounds kept: relayed %s, stock %s; "
          "discarded: %d" % (ratio, runs.get("relayed", {}).get("tcp_gbps", []),
                             runs.get("stock", {}).get("tcp_gbps", []), len(discard)))


def cmd_relay_table(raw_path, meta_path, out_path):
    allruns, discard, runs = relay_rounds(raw_path)
    meta = {}
    with open(meta_path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(" ")
            meta[k] = v

    def med(cfg, key):
        vals = [v for v in runs.get(cfg, {}).get(key, []) if v == v]
        return statistics.median(vals) if vals else None

    rows = []
    for key, label, unit, better, fmt in RELAY_METRICS:
        d, r = med("direct", key), med("relayed", key)
        # The relay's own figures are about zero on a direct path: no ratio.
        ratio = r / d if (r is not None and d and not key.startswith(("cpu_relay", "relay_"))) else None
        tgt = RELAY_TARGETS.get(key)
        verdict = ""
        if tgt and d is not None and r is not None:
            verdict = ("pass" if tgt[1](r, d) else "FAIL") + " (" + tgt[0] + ")"
        rows.append({
            "metric": key, "label": label, "unit": unit, "better": better,
            "direct_median": d, "relayed_median": r, "ratio_relayed_direct": ratio,
            "direct_rounds": runs.get("direct", {}).get(key, []),
            "relayed_rounds": runs.get("relayed", {}).get(key, []),
            "discarded_rounds": {cfg: [v for rn, v in allruns.get(cfg, {}).get(key, [])
                                       if (cfg, rn) in discard] for cfg in ("direct", "relayed")},
            "target": verdict,
        })

    print("wh relay benchmark: %s" % meta.get("date", "?"))
    print("command:   %s" % meta.get("command", "?"))
    print("kernel:    %s" % meta.get("kernel", "?"))
    print("cpu:       %s (%s cores)" % (meta.get("cpu", "?"), meta.get("cores", "?")))
    print("wh:        %s (%s)" % (meta.get("ours_version", "?"), meta.get("build", "?")))
    print("tools:     %s" % meta.get("iperf3_version", "?"))
    print("relay:     per-source limit %s" % meta.get("relay_limit", "?"))
    print("rounds:    %s (%s attempted), %s s per transfer; load average at start: %s, at end: %s"
          % (meta.get("rounds", "?"), meta.get("attempts", "?"), meta.get("seconds", "?"),
             meta.get("loadavg", "?"), meta.get("loadavg_end", "?")))
    print()
    hdr = "| %-38s | %-6s | %-6s | %8s | %8s | %7s | %-30s |" % (
        "metric (median of rounds)", "unit", "better", "direct", "relayed", "rel/dir", "target")
    print(hdr)
    print("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
    for r, m in zip(rows, RELAY_METRICS):
        fmt = m[4]
        d = fmt % r["direct_median"] if r["direct_median"] is not None else "-"
        rl = fmt % r["relayed_median"] if r["relayed_median"] is not None else "-"
        ratio = "%.2f" % r["ratio_relayed_direct"] if r["ratio_relayed_direct"] is not None else "-"
        print("| %-38s | %-6s | %-6s | %8s | %8s | %7s | %-30s |" % (
            r["label"], r["unit"], r["better"], d, rl, ratio, r["target"]))
    dt, rt = med("direct", "cpu_total_s_per_gb"), med("relayed", "cpu_total_s_per_gb")
    cpu_bound = dt / rt if (dt and rt) else None
    if cpu_bound is not None:
        print("\nCPU-bound estimate of relayed/direct TCP (direct's CPU per GB, daemons +"
              " iperf3, over relayed's): %.2f" % cpu_bound)
    busy = [v for c in runs.values() for v in c.get("bg_busy_pct", []) if v > 10]
    if busy:
        print("\nWARNING: %d round(s) shared the machine with other jobs (> 10%% CPU of"
              " the machine during TCP, up to %.0f%%): rerun on a quiet machine"
              " before trusting small differences." % (len(busy), max(busy)))
    print("\nper round (direct | relayed)%s:" % (
        "; rounds repeated because of other load, left out of the medians, in []"
        if discard else ""))

    def fmt_list(cfg, key):
        return " ".join(("[%.4g]" if (cfg, rn) in discard else "%.4g") % v
                        for rn, v in allruns.get(cfg, {}).get(key, []))
    for r in rows:
        print("  %-20s %s | %s" % (r["metric"], fmt_list("direct", r["metric"]),
                                   fmt_list("relayed", r["metric"])))
    with open(out_path, "w") as f:
        json.dump({"meta": meta, "metrics": rows, "cpu_bound_ratio_estimate": cpu_bound}, f, indent=2)
        f.write("\n")


def main(argv):
    if len(argv) >= 3 and argv[1] == "tcp":
        cmd_tcp(argv[2])
    elif len(argv) >= 3 and argv[1] == "tcpcpu":
        cmd_tcpcpu(argv[2])
    elif len(argv) >= 3 and argv[1] == "udp":
        cmd_udp(argv[2])
    elif len(argv) >= 3 and argv[1] == "ping":
        cmd_ping(argv[2])
    elif len(argv) >= 5 and argv[1] == "table":
        cmd_table(argv[2], argv[3], argv[4])
    elif len(argv) >= 5 and argv[1] == "relay-table":
        cmd_relay_table(argv[2], argv[3], argv[4])
    elif len(argv) >= 3 and argv[1] == "stock-ratio":
        cmd_stock_ratio(argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
