#!/usr/bin/env python3
"""Parses wrk output into CSV rows, and turns the rows into the Performance table (medians over rounds)."""
import csv
import json
import re
import platform
import statistics
import sys


def to_ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse(target: str, conns: str, round_: str, pair: str) -> None:
    text = sys.stdin.read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    print(f"{target},{conns},{round_},{pair},{rps:.0f},{p50:.3f},{p99:.3f},{non2xx.group(1) if non2xx else 0}")


def pair_ratios(rows: list, target: str, conns: int, metric: str, over_partner: bool = True) -> list:
    """The target's metric over its partner's run next to it (or the inverse), one value per pair."""
    pairs = {}
    for r in rows:
        if int(r["conns"]) == conns and r["pair"] == target:
            pairs.setdefault(r["round"], {})["target" if r["target"] == target else "partner"] = float(r[metric])
    ratios = []
    for round_ in sorted(pairs, key=int):
        t, p = pairs[round_].get("target"), pairs[round_].get("partner")
        if t and p:
            ratios.append(t / p if over_partner else p / t)
    return ratios


def judged(name: str, ratios: list, goal, at_least: bool = True):
    """A verdict on the median of the paired ratios; the range shows how far the pairs spread."""
    if not ratios:
        return None
    median = statistics.median(ratios)
    ok = None if goal is None else (median >= goal if at_least else median <= goal)
    return name, ok, f"{median:.2f}x, median of {len(ratios)} pairs, {min(ratios):.2f}-{max(ratios):.2f}"


def goal_verdicts(rows: list, conns: list) -> list:
    """Every goal's verdict on its pairs, per connection count."""
    verdicts = []
    for c in conns:
        checks = [
            judged(f"gateway throughput >= 0.9x YARP at {c} conns", pair_ratios(rows, "yarp", c, "rps", over_partner=False), 0.9),
            judged(f"gateway p99 <= 1.2x YARP at {c} conns", pair_ratios(rows, "yarp", c, "p99_ms", over_partner=False), 1.2, at_least=False),
            judged(f"three-instance WRR >= 0.9x single instance at {c} conns", pair_ratios(rows, "gateway-3x", c, "rps"), 0.9),
        ]
        unlimited = "the same process's unlimited route"
        for target, floor, what, partner in (
                ("gateway-auth", 0.8, "authenticated route (HS256 + revocation check)", "the anonymous route"),
                ("gateway-rl-exact", 0.7, "rate-limited route, exact on Redis (fixed window)", unlimited),
                ("gateway-rl-approx", 0.9, "rate-limited route, approximate on Redis", unlimited),
                ("gateway-traced", 0.8, "tracing 100 % + metrics + access logs", "the plain gateway"),
                # Reported, not judged: with a limit never reached, the sliding log holds every request of the window.
                ("gateway-rl-sliding", None, "rate-limited route, exact sliding log on Redis,", unlimited)):
            goal = "vs" if floor is None else f">= {floor}x"
            checks.append(judged(f"{what} {goal} {partner} at {c} conns", pair_ratios(rows, target, c, "rps"), floor))
        verdicts += [check for check in checks if check]
    return verdicts


def print_verdicts(verdicts: list) -> None:
    for name, ok, figure in verdicts:
        print(f"- {'INFO' if ok is None else 'PASS' if ok else 'FAIL'}: {name} ({figure})")


def host() -> str:
    """The processor the run had: ratios move with it (runs 16 and 17 read the same code faster next to YARP on another host)."""
    try:
        model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "unknown processor")
    except OSError:
        model = "unknown processor"
    return f"{model}, kernel {platform.release()}"


def delivery_verdict(exports_file: str):
    """Whether the traced gateway's telemetry reached the receiver (the file: its counts as a JSON line, then the
    gateway's /metrics): one access line per request (the start-up lines come on top) and its spans, two per request
    answered through the upstream (server and upstream call) and at least one per other request, such as one its
    client gave up on (499) before the upstream call. A throughput bought by dropping exports from a full queue
    would not be the cost of telemetry."""
    lines = open(exports_file).read().splitlines() if exports_file else []
    if not lines:
        return None
    counts = json.loads(lines[0])
    requests = proxied = 0
    for line in lines[1:]:
        if line.startswith("gateway_requests_total{"):
            n = int(float(line.split("} ", 1)[1].split()[0]))
            requests += n
            proxied += n if 'route="quotes"' in line and 'status_code="499"' not in line else 0
    records, spans, expected_spans = counts["logRecords"], counts["spans"], requests + proxied
    return ("gateway-traced: every access line and span reached the receiver",
            requests > 0 and records >= requests and spans >= expected_spans,
            f"{records} log records for {requests} requests, {spans} spans for at least {expected_spans}")


def table(raw: str, rss_file: str, rounds: str, duration: str, cores: str, redis_file: str = "", exports_file: str = "") -> None:
    rows = list(csv.DictReader(open(raw)))
    rss = {name: int(kb) for name, kb in (line.strip().split(",") for line in open(rss_file) if line.strip())}
    medians = {}
    for row in rows:
        medians.setdefault((row["target"], int(row["conns"])), []).append(row)
    result = {}
    for key, group in medians.items():
        result[key] = {m: statistics.median(float(r[m]) for r in group) for m in ("rps", "p50_ms", "p99_ms")}
        result[key]["non2xx"] = sum(int(r["non2xx"]) for r in group)
    targets = list(dict.fromkeys(r["target"] for r in rows))
    conns = sorted({int(r["conns"]) for r in rows})
    print(f"Medians of {rounds} interleaved rounds of `wrk -t2 -c<N> -d{duration}s --latency`, GET of a 41-byte JSON body, "
          f"{cores} cores shared by wrk, the proxy and the upstream. Every compared target runs next to its partner: the "
          f"plain gateway (its figures are over all those runs), or for a rate-limited route the same process's route "
          f"without a limit (`gateway-redis`); the verdicts below judge the ratio within each such pair. Host: {host()}.\n")
    print("| target | conns | req/s | p50 ms | p99 ms | req/s vs YARP | p99 vs YARP | peak RSS MB | non-2xx |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in conns:
        yarp = result.get(("yarp", c))
        for t in targets:
            r = result.get((t, c))
            if not r:
                continue
            ratio = f"{r['rps'] / yarp['rps']:.2f}x" if yarp else "-"
            p99 = f"{r['p99_ms'] / yarp['p99_ms']:.2f}x" if yarp else "-"
            mem = f"{rss[t] / 1024:.0f}" if t in rss else "-"
            print(f"| {t} | {c} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {ratio} | {p99} | {mem} | {r['non2xx']} |")
    print()
    verdicts = goal_verdicts(rows, conns)
    if "gateway" in rss and "yarp" in rss:
        verdicts.append(("gateway peak RSS <= 1.5x YARP", rss["gateway"] / rss["yarp"] <= 1.5, f"{rss['gateway'] / rss['yarp']:.2f}x"))
    if delivery := delivery_verdict(exports_file):
        verdicts.append(delivery)
    print_verdicts(verdicts)
    if redis_file:
        calls = {}
        for line in open(redis_file):
            if line.strip():
                target, c, n, requests = line.strip().split(",")
                calls.setdefault(target, [0, 0])
                calls[target][0] += int(n)
                calls[target][1] += int(requests)
        for target, (n, requests) in sorted(calls.items()):
            if requests:
                print(f"- Redis script calls per request, {target}: {n / requests:.3f} ({n} calls for {requests} requests, INFO commandstats)")


def pool(*raws: str) -> None:
    """Verdicts on the pairs of several runs taken together (rounds renumbered so pairs stay apart): runs of one
    build, or, for a pair that differs only by a feature whose code did not change, runs of several builds."""
    rows, offset = [], 0
    for raw in raws:
        run = list(csv.DictReader(open(raw)))
        for r in run:
            r["round"] = str(int(r["round"]) + offset)
        offset = max([offset] + [int(r["round"]) for r in run])
        rows += run
    print(f"Pooled pairs of {len(raws)} runs: {', '.join(raws)}")
    print_verdicts(goal_verdicts(rows, sorted({int(r["conns"]) for r in rows})))


if __name__ == "__main__":
    if sys.argv[1] == "parse":
        parse(*sys.argv[2:6])
    elif sys.argv[1] == "pool":
        pool(*sys.argv[2:])
    else:
        table(*sys.argv[2:9])
