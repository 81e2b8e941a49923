#!/usr/bin/env python3
"""CPU per request of bench targets, split by where the code lives, from perf's on-CPU samples.

    cpuprofile.py FREQ PAIRS RUNS.csv

RUNS.csv: target,round,requests,proc_ticks,perf.data per profiled run; a target's rounds are summed. PAIRS: "a:b c:d", each printed as a table of
a's and b's microseconds per request by component, the largest differences first. Managed code is named by its
assembly (the JIT's perf map gives each method's); native code by its library; the kernel as one component.
"""
import csv
import re
import subprocess
import sys

TOP = 14
RUNTIME = {"libcoreclr.so": "runtime: libcoreclr (GC, allocation, type checks)", "libclrjit.so": "runtime: JIT compiler"}
# perf-map names read "<return type> [Assembly] Namespace.Type::Method(...)"; the return type's assembly is
# written without a space before its type name, the method's with one.
ASSEMBLY = re.compile(r"\[([\w.]+)\] (?=\S)")


def component(dso, symbol):
    if dso.startswith("[JIT]"):
        if symbol.startswith("stub "):
            return "runtime: stubs (dispatch, write barriers)"
        match = ASSEMBLY.search(symbol)
        return match.group(1) if match else "managed code, assembly unnamed"
    if dso == "[kernel.kallsyms]":
        return "kernel (sockets, scheduling)"
    return RUNTIME.get(dso, "native: " + dso)


def samples_by_component(data):
    report = subprocess.run(
        ["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym", "-n", "-g", "none", "--stdio", "-t", "\t"],
        capture_output=True, text=True, check=True).stdout
    totals = {}
    for line in report.splitlines():
        fields = line.split("\t")
        if line.startswith("#") or len(fields) < 4:
            continue
        name = component(fields[2].strip(), fields[3].strip()[4:])
        totals[name] = totals.get(name, 0) + int(fields[1])
    return totals


def main():
    freq, pairs, runs_file = float(sys.argv[1]), sys.argv[2].split(), sys.argv[3]
    samples, requests, ticks = {}, {}, {}
    for row in csv.DictReader(open(runs_file)):
        target = row["target"]
        requests[target] = requests.get(target, 0) + int(row["requests"])
        ticks[target] = ticks.get(target, 0) + int(row["proc_ticks"])
        totals = samples.setdefault(target, {})
        for name, count in samples_by_component(row["data"]).items():
            totals[name] = totals.get(name, 0) + count
    per_request = {t: {k: v / freq / requests[t] * 1e6 for k, v in s.items()} for t, s in samples.items()}
    print(f"On-CPU samples of each proxy process (perf, cpu-clock, {freq:.0f} Hz) while wrk loads it; microseconds of CPU per request.")
    print("The process total from /proc is given too: perf's own sampling adds a few percent.")
    for pair in pairs:
        a, b = pair.split(":")
        if a not in per_request or b not in per_request:
            continue
        pa, pb = per_request[a], per_request[b]
        names = sorted(set(pa) | set(pb), key=lambda k: -abs(pa.get(k, 0) - pb.get(k, 0)))
        print(f"\n### {a} vs {b}\n")
        print(f"| component | {a} | {b} | difference |")
        print("|---|---:|---:|---:|")
        for name in names[:TOP]:
            print(f"| {name} | {pa.get(name, 0):.1f} | {pb.get(name, 0):.1f} | {pa.get(name, 0) - pb.get(name, 0):+.1f} |")
        rest_a = sum(pa.get(n, 0) for n in names[TOP:])
        rest_b = sum(pb.get(n, 0) for n in names[TOP:])
        print(f"| everything else | {rest_a:.1f} | {rest_b:.1f} | {rest_a - rest_b:+.1f} |")
        ta, tb = sum(pa.values()), sum(pb.values())
        print(f"| **total, sampled** | **{ta:.1f}** | **{tb:.1f}** | **{ta - tb:+.1f}** |")
        proc = {t: ticks[t] * 1e4 / requests[t] for t in (a, b)}
        print(f"| total, /proc | {proc[a]:.1f} | {proc[b]:.1f} | {proc[a] - proc[b]:+.1f} |")


if __name__ == "__main__":
    main()
