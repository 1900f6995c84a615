#!/usr/bin/env python3
"""memtrace's benchmark: the cost of tracing a fault storm and a real program, side by side.

Every configuration runs in the same session, ROUNDS times, the order rotated each round; each
figure is a median, and each ratio is against the untraced median of the same run. The workloads
time themselves (from a gate that opens once the tracer is attached), so tracer start-up is not
in the ratios; it is measured separately. Run as root: scripts/bench.sh.
"""
import argparse
import json
import os
import pty
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
MEMTRACE = os.path.join(BUILD, "user", "memtrace")
STORM = os.path.join(BUILD, "tests", "bench", "fault_storm")
FLOOR = os.path.join(BUILD, "tests", "bench", "memtrace-floor")
EXPORTER_LOAD = os.path.join(BUILD, "tests", "bench", "exporter_load")
TIME = "/usr/bin/time"
PYTHON = "/usr/bin/python3"


def wait_for(stream_paths, needle, proc, timeout=30.0):
    """Waits until `needle` appears in one of the files a tracer writes to (bpftrace says
    "Attaching" on stdout, memtrace says "tracing" on stderr)."""
    if isinstance(stream_paths, str):
        stream_paths = [stream_paths]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in stream_paths:
            with open(path, errors="replace") as f:
                if needle in f.read():
                    return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


class Tracer:
    """How to start one tracer against a pid, how to know it is attached, how to read its results."""

    def __init__(self, name, argv, ready, stop_signal=None, pty_stdout=False, collect=None, discard_stdout=False):
        self.name, self.argv, self.ready = name, argv, ready
        self.stop_signal, self.pty_stdout, self.collect = stop_signal, pty_stdout, collect
        self.discard_stdout = discard_stdout  # --events: the stream to /dev/null, the summary on stderr


def memtrace_summary(out, err):
    """(memtrace's fault count, the kernel's, dropped) from a memtrace run's summary."""
    for line in out.splitlines()[::-1]:
        if line.startswith("{") and '"summary"' in line:
            s = json.loads(line)
            p = s["processes"][0]
            return p["faults"], p["kernel_faults"], s["dropped"]
    text = out + err
    m = re.search(r"exited: ([\d,]+) faults; kernel counted ([\d,]+)", text)
    d = re.search(r"([\d,]+) records dropped", text)
    if not m:
        return None
    num = lambda s: int(s.replace(",", ""))
    return num(m.group(1)), num(m.group(2)), num(d.group(1)) if d else None


def tracers(tmp):
    pt_out = os.path.join(tmp, "perf-trace.txt")
    return {
        "untraced": None,
        "memtrace live (pty)": Tracer("memtrace live", [MEMTRACE, "-p", "{pid}"], ready=None, pty_stdout=True,
                                      collect=memtrace_summary),
        "memtrace text": Tracer("memtrace text", [MEMTRACE, "--text", "-p", "{pid}"], ready="memtrace: tracing",
                                collect=memtrace_summary),
        "memtrace --events": Tracer("memtrace --events", [MEMTRACE, "--events", "-p", "{pid}"],
                                    ready="memtrace: tracing", collect=memtrace_summary, discard_stdout=True),
        "memtrace --json": Tracer("memtrace --json", [MEMTRACE, "--json", "-p", "{pid}"], ready="memtrace: tracing",
                                  collect=memtrace_summary),
        "memtrace text --latency": Tracer("memtrace latency", [MEMTRACE, "--text", "--latency", "-p", "{pid}"],
                                          ready="memtrace: tracing", collect=memtrace_summary),
        "memtrace text --stacks": Tracer("memtrace stacks", [MEMTRACE, "--text", "--stacks", "-p", "{pid}"],
                                         ready="memtrace: tracing", collect=memtrace_summary),
        "memtrace --stacks --stack-sample 1": Tracer(
            "memtrace stacks all", [MEMTRACE, "--json", "--stack-sample", "1", "-p", "{pid}"],
            ready="memtrace: tracing", collect=memtrace_summary),
        "memtrace --stacks --stack-sample 256": Tracer(
            "memtrace stacks 256", [MEMTRACE, "--json", "--stack-sample", "256", "-p", "{pid}"],
            ready="memtrace: tracing", collect=memtrace_summary),
        "memtrace --stacks --stack-sample 0": Tracer(
            "memtrace stacks calls", [MEMTRACE, "--json", "--stack-sample", "0", "-p", "{pid}"],
            ready="memtrace: tracing", collect=memtrace_summary),
        "memtrace record": Tracer("memtrace record", [MEMTRACE, "record", "--force", "-o", os.path.join(tmp, "bench.data"),
                                                      "-p", "{pid}"], ready="memtrace: tracing"),
        "memtrace -a --text": Tracer("memtrace -a", [MEMTRACE, "-a", "--text"], ready="memtrace: counting",
                                     stop_signal=signal.SIGINT),
        "memtrace exporter": Tracer("memtrace exporter", [MEMTRACE, "exporter", "--listen", "127.0.0.1:0"],
                                    ready="memtrace exporter: serving", stop_signal=signal.SIGINT),
        "perf record -g (frame pointers)": Tracer(
            "perf record fp", ["perf", "record", "-q", "-e", "page-faults", "-c", "1", "-g", "-o",
                               os.path.join(tmp, "perf-fp.data"), "-p", "{pid}"],
            ready=None, stop_signal=signal.SIGINT),
        "perf record --call-graph dwarf": Tracer(
            "perf record dwarf", ["perf", "record", "-q", "-e", "page-faults", "-c", "1", "--call-graph", "dwarf",
                                  "-o", os.path.join(tmp, "perf-dwarf.data"), "-p", "{pid}"],
            ready=None, stop_signal=signal.SIGINT),
        "perf trace -F all": Tracer("perf trace", ["perf", "trace", "-F", "all", "--no-syscalls", "-o", pt_out,
                                                   "-p", "{pid}"], ready=None, stop_signal=signal.SIGINT),
        "bpftrace count": Tracer("bpftrace", ["bpftrace", "-e",
                                              "tracepoint:exceptions:page_fault_user /pid == {pid}/ { @ = count(); }"],
                                 ready="Attaching", stop_signal=signal.SIGINT),
        "floor: tp_btf counter": Tracer("floor count", [FLOOR, "count", "{pid}"], ready="attached"),
        "floor: tp_btf + ringbuf record": Tracer("floor stream", [FLOOR, "stream", "{pid}"], ready="attached"),
    }


def bpf_prog_stats():
    """{prog id: (name, run_cnt, run_time_ns)} of every loaded BPF program (kernel.bpf_stats_enabled)."""
    progs = json.loads(subprocess.run(["bpftool", "prog", "show", "-j"], check=True, capture_output=True,
                                      text=True).stdout)
    return {p["id"]: (p.get("name", "?"), p.get("run_cnt", 0), p.get("run_time_ns", 0)) for p in progs}


def run_once(workload_argv, tracer, tmp, parse_seconds, bpf_stats=False):
    """Runs the gated workload under `tracer`; returns (seconds, extra dict). With bpf_stats, also
    what each of the tracer's BPF programs ran while the workload did (extra["progs"])."""
    before = bpf_prog_stats() if bpf_stats else None
    wl = subprocess.Popen(workload_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    extra = {}
    tp = None
    err_path = os.path.join(tmp, "tracer.err")
    out_path = os.path.join(tmp, "tracer.out")
    master = None
    t_start = time.monotonic()
    if tracer:
        argv = [a.replace("{pid}", str(wl.pid)) for a in tracer.argv]
        if tracer.name.startswith("memtrace"):
            argv = [TIME, "-f", "TIME %e %U %S %M", "-o", os.path.join(tmp, "time.txt")] + argv
        with open(err_path, "w") as err, open(out_path, "w") as out:
            if tracer.pty_stdout:
                master, slave = pty.openpty()
                os.system(f"stty -F {os.ttyname(slave)} cols 120 rows 40 2>/dev/null")
                tp = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=err)
                os.close(slave)
            else:
                tp = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL if tracer.discard_stdout else out, stderr=err)
        if tracer.ready:
            if not wait_for([err_path, out_path], tracer.ready, tp):
                raise RuntimeError(f"{tracer.name} did not attach: {open(err_path).read()}")
        elif tracer.pty_stdout:
            # The live view draws its first frame once attached.
            buf = b""
            deadline = time.monotonic() + 30
            while b"memtrace pid" not in buf and time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.1)
                if r:
                    buf += os.read(master, 65536)
        else:
            time.sleep(2.0)  # perf trace prints nothing when ready
        extra["attach_s"] = time.monotonic() - t_start
    attached = bpf_prog_stats() if bpf_stats else None
    out, err = wl.communicate(b"g", timeout=600)
    if bpf_stats:
        done = bpf_prog_stats()
        extra["progs"] = {done[i][0]: (done[i][1] - attached[i][1], done[i][2] - attached[i][2])
                          for i in done if i not in before and i in attached}
    seconds, faults, cpu = parse_seconds(out.decode())
    extra["kernel_faults"] = faults
    extra["workload_cpu_s"] = cpu
    if tp:
        if tracer.stop_signal:
            # /usr/bin/time ignores SIGINT while it waits: the signal goes to the tracer under it.
            try:
                children = open(f"/proc/{tp.pid}/task/{tp.pid}/children").read().split()
            except OSError:
                children = []
            for child in (children if tracer.name.startswith("memtrace") else []) or [str(tp.pid)]:
                os.kill(int(child), tracer.stop_signal)
        if master is not None:
            # Keep the pty drained so the live view never blocks on a full terminal.
            while tp.poll() is None:
                r, _, _ = select.select([master], [], [], 0.1)
                if r:
                    try:
                        os.read(master, 65536)
                    except OSError:
                        break
            os.close(master)
        try:
            tp.wait(timeout=60)
        except subprocess.TimeoutExpired:
            # A tracer that does not stop on its signal (bpftrace once hung here) costs this round's
            # summary, not the whole run.
            tp.kill()
            tp.wait()
            extra["killed"] = True
            print(f"bench: {tracer.name} did not stop within 60 s; killed", file=sys.stderr)
        if tracer.collect:
            summary = tracer.collect(open(out_path, errors="replace").read(), open(err_path, errors="replace").read())
            if summary:
                extra["tracer_faults"], extra["kernel_count"], extra["dropped"] = summary
        tf = os.path.join(tmp, "time.txt")
        if os.path.exists(tf):
            m = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", open(tf).read())
            if m:
                extra["cpu_s"] = float(m.group(2)) + float(m.group(3))
                extra["max_rss_kb"] = int(m.group(4))
            os.unlink(tf)
    return seconds, extra


def parse_storm(out):
    m = re.search(r"seconds ([\d.]+) faults (\d+) cpu ([\d.]+)", out)
    return float(m.group(1)), int(m.group(2)), float(m.group(3))


PY_SNIPPET = (
    "import sys,time\n"
    "sys.stdin.read(1)\n"
    "t=time.perf_counter()\n"
    "c=time.process_time()\n"
    "for i in range(4):\n"
    "    x=[0]*10_000_000\n"
    "    y=[str(j) for j in range(300_000)]\n"
    "    del x, y\n"
    "import resource\n"
    "r=resource.getrusage(resource.RUSAGE_SELF)\n"
    "print('seconds %.6f faults %d cpu %.6f' % (time.perf_counter()-t, r.ru_minflt+r.ru_majflt,\n"
    "      time.process_time()-c))\n"
)


def parse_python(out):
    return parse_storm(out)


# What issue 13 measured stacks on: Debian's python3 building and dumping 200k dicts.
PY_DICTS = (
    "import json,sys,time,resource\n"
    "sys.stdin.read(1)\n"
    "t=time.perf_counter()\n"
    "c=time.process_time()\n"
    "d=[{'k': i, 'v': str(i), 'l': [i, i + 1]} for i in range(200000)]\n"
    "s=json.dumps(d)\n"
    "r=resource.getrusage(resource.RUSAGE_SELF)\n"
    "print('seconds %.6f faults %d cpu %.6f' % (time.perf_counter()-t, r.ru_minflt+r.ru_majflt,\n"
    "      time.process_time()-c))\n"
)


def stack_depths(tmp):
    """How deep the stacks of the same python3 run go: memtrace's fault samples with >= 5 frames
    and brk/mmap calls unwound to the thread's entry, beside perf record's (-g and DWARF), whose
    samples are counted with >= 5 frames. Also memtrace's CPU per unwound stack (its CPU with every
    fault's stack minus its CPU without stacks, over the samples) and its peak RSS."""
    py = [PYTHON, "-c", PY_DICTS.replace("sys.stdin.read(1)\n", "")]
    rows = {}
    cpu = {}
    for name, options in [("none", ["--json"]), ("default", ["--json", "--stacks"]),
                          ("every fault", ["--json", "--stack-sample", "1", "--ringbuf-mib", "64"])]:
        tf = os.path.join(tmp, "depth-time.txt")
        out = subprocess.run([TIME, "-f", "TIME %e %U %S %M", "-o", tf, MEMTRACE] + options + ["--"] + py,
                             capture_output=True, text=True, check=True).stdout
        m = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", open(tf).read())
        summary = json.loads([l for l in out.splitlines() if '"summary"' in l][-1])
        cpu[name] = float(m.group(2)) + float(m.group(3))
        if name == "none":
            continue
        st = summary["stacks"]
        rows[f"memtrace {name}"] = {
            "fault_samples": st["fault_samples"], "deep": st["deep_fault_samples"] / max(1, st["fault_samples"]),
            "calls": st["call_samples"], "calls_complete": st["complete_call_samples"] / max(1, st["call_samples"]),
            "truncated": st["truncated"], "lost": st["lost"], "cpu_s": cpu[name], "max_rss_mb": int(m.group(4)) / 1024}
    samples = rows["memtrace every fault"]["fault_samples"] + rows["memtrace every fault"]["calls"]
    rows["memtrace every fault"]["us_per_stack"] = (cpu["every fault"] - cpu["none"]) / max(1, samples) * 1e6
    for name, graph in [("perf record -g", ["-g"]), ("perf record --call-graph dwarf", ["--call-graph", "dwarf"])]:
        data = os.path.join(tmp, "depth-perf.data")
        rec = subprocess.run(["perf", "record", "-q", "-e", "page-faults", "-c", "1"] + graph + ["-o", data, "--"] + py,
                             capture_output=True, text=True)
        script = subprocess.run(["perf", "script", "-i", data, "-F", "ip"], capture_output=True, text=True).stdout
        depths, frames = [], 0
        for line in script.splitlines() + [""]:
            if line.strip():
                frames += 1
            elif frames:
                depths.append(frames)
                frames = 0
        lost = re.search(r"lost (\d+) chunks", rec.stderr)
        rows[name] = {"fault_samples": len(depths), "deep": sum(d >= 5 for d in depths) / max(1, len(depths)),
                      "perf_lost_chunks": int(lost.group(1)) if lost else 0,
                      "data_mb": os.path.getsize(data) / 1e6}
        os.unlink(data)
    return rows


def print_depths(rows):
    print("\n### Stack depth on python3 (200k dicts built and dumped), one run each\n")
    print("| tracer | fault stacks | with >= 5 frames | brk/mmap/munmap/mremap calls | unwound to the entry | "
          "truncated | lost | memtrace CPU s | µs per unwound stack | peak RSS MB (memtrace or python3) | perf.data MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows.items():
        pct = lambda v: f"{100 * v:.1f}%"
        print(f"| {name} | {r['fault_samples']} | {pct(r['deep'])} | {r.get('calls', '')} | "
              f"{pct(r['calls_complete']) if 'calls_complete' in r else ''} | {r.get('truncated', '')} | "
              f"{r.get('lost', r.get('perf_lost_chunks', ''))} | {r.get('cpu_s', '')} | "
              f"{'%.1f' % r['us_per_stack'] if 'us_per_stack' in r else ''} | "
              f"{'%.1f' % r['max_rss_mb'] if 'max_rss_mb' in r else ''} | "
              f"{'%.0f' % r['data_mb'] if 'data_mb' in r else ''} |")


def bench(title, workload_argv, parse, names, rounds, tmp, report):
    ts = tracers(tmp)
    results = {n: [] for n in names}
    extras = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            secs, extra = run_once(workload_argv, ts[n], tmp, parse)
            results[n].append(secs)
            extras[n].append(extra)
            print(f"  [{title}] round {r + 1}/{rounds} {n:32s} {secs:8.3f} s", file=sys.stderr, flush=True)
    base = statistics.median(results["untraced"])
    base_cpu = statistics.median(e["workload_cpu_s"] for e in extras["untraced"])
    rows = []
    for n in names:
        med = statistics.median(results[n])
        ex = extras[n]
        cpu = statistics.median(e["workload_cpu_s"] for e in ex)
        # Each round's own ratio too: the machine's speed drifts between rounds.
        paired = statistics.median(a / b for a, b in zip(results[n], results["untraced"]))
        row = {"config": n, "median_s": med, "ratio": med / base, "paired_ratio": paired, "runs": results[n],
               "workload_cpu_s": cpu, "cpu_ratio": cpu / base_cpu}
        faults = statistics.median(e["kernel_faults"] for e in ex)
        row["workload_faults"] = faults
        if any("cpu_s" in e for e in ex):
            row["cpu_s_per_million_faults"] = statistics.median(e["cpu_s"] / (e["kernel_faults"] / 1e6) for e in ex)
            row["cpu_s"] = statistics.median(e["cpu_s"] for e in ex)
            row["max_rss_mb"] = max(e["max_rss_kb"] for e in ex) / 1024
        if any("attach_s" in e for e in ex):
            row["attach_s"] = statistics.median(e["attach_s"] for e in ex)
        if any("tracer_faults" in e for e in ex):
            row["lost"] = max(e["kernel_count"] - e["tracer_faults"] for e in ex if "tracer_faults" in e)
            row["dropped"] = max((e.get("dropped") or 0) for e in ex)
        rows.append(row)
    report[title] = rows
    return rows


def print_table(title, rows, idle_cpu_s):
    print(f"\n### {title}\n")
    print("| configuration | median s | vs untraced | median of per-round ratios | workload CPU s | CPU vs untraced "
          "| memtrace CPU s / 1M faults | same, beyond the idle run | peak RSS MB | lost (kernel - memtrace) | dropped |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        cpu = f"{r['cpu_s_per_million_faults']:.3f}" if "cpu_s_per_million_faults" in r else ""
        if "cpu_s" in r:
            cpu += f" | {(r['cpu_s'] - idle_cpu_s) / (r['workload_faults'] / 1e6):.3f}"
        else:
            cpu += " | "
        rss = f"{r['max_rss_mb']:.1f}" if "max_rss_mb" in r else ""
        lost = str(r["lost"]) if "lost" in r else ""
        dropped = str(r["dropped"]) if "dropped" in r else ""
        print(f"| {r['config']} | {r['median_s']:.3f} | {r['ratio']:.2f}x | {r['paired_ratio']:.2f}x | {r['workload_cpu_s']:.3f} | "
              f"{r['cpu_ratio']:.2f}x | {cpu} | {rss} | {lost} | {dropped} |")


def print_runs(what, args, report):
    """The heading of a benchmark's output, and its timing tables."""
    print(f"# memtrace {what}, {time.strftime('%Y-%m-%d %H:%M')}, {os.uname().release}, "
          f"{os.cpu_count()} CPUs, {args.rounds} rounds, medians")
    for title, rows in report.items():
        if isinstance(rows, list) and title != "bpf_costs":
            print_table(title, rows, report["idle_cpu_s"])


def bpf_costs(workload_argv, names, rounds, tmp):
    """Each tracer's BPF programs, timed by the kernel itself (kernel.bpf_stats_enabled): ns per
    run and per fault of the workload. Not subject to the machine's noise the way wall time is, but
    the stats add two clock reads per run, so these runs are kept out of the timing tables."""
    ts = tracers(tmp)
    subprocess.run(["sysctl", "-q", "-w", "kernel.bpf_stats_enabled=1"], check=True)
    rows = []
    try:
        for n in names:
            per_prog = {}
            per_fault = []
            for _ in range(rounds):
                _, extra = run_once(workload_argv, ts[n], tmp, parse_storm, bpf_stats=True)
                faults = extra["kernel_faults"]
                per_fault.append(sum(ns for _, ns in extra["progs"].values()) / faults)
                for prog, (runs, ns) in extra["progs"].items():
                    if runs:
                        per_prog.setdefault(prog, []).append((runs / faults, ns / runs))
            progs = {p: (statistics.median(v[0] for v in vals), statistics.median(v[1] for v in vals))
                     for p, vals in per_prog.items()}
            rows.append({"config": n, "ns_per_fault": statistics.median(per_fault), "progs": progs})
            print(f"  [bpf cost] {n:32s} {rows[-1]['ns_per_fault']:7.1f} ns per fault", file=sys.stderr, flush=True)
    finally:
        subprocess.run(["sysctl", "-q", "-w", "kernel.bpf_stats_enabled=0"], check=True)
    return rows


def print_bpf_costs(rows):
    print("\n### BPF programs on the fault storm, timed by the kernel (kernel.bpf_stats_enabled)\n")
    print("| configuration | BPF ns per fault | programs that ran (runs per fault × ns per run) |")
    print("| --- | ---: | --- |")
    for r in rows:
        progs = ", ".join(f"{p} {runs:.2f}×{ns:.0f}" for p, (runs, ns) in
                          sorted(r["progs"].items(), key=lambda kv: -kv[1][0] * kv[1][1]) if runs * ns >= 0.5)
        print(f"| {r['config']} | {r['ns_per_fault']:.0f} | {progs} |")


def idle_cpu(rounds, seconds, tmp):
    """memtrace's own CPU seconds against an idle target for `seconds`: start-up (BTF, verifier,
    attach) plus the per-interval work, what every run pays whatever the faults."""
    cpus = []
    for _ in range(rounds):
        sleeper = subprocess.Popen(["sleep", str(int(seconds) + 30)])
        tf = os.path.join(tmp, "idle-time.txt")
        subprocess.run([TIME, "-f", "TIME %e %U %S %M", "-o", tf, MEMTRACE, "--text", "-d", f"{seconds:.1f}", "-p",
                        str(sleeper.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        m = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", open(tf).read())
        cpus.append(float(m.group(2)) + float(m.group(3)))
        sleeper.kill()
        sleeper.wait()
    return statistics.median(cpus)


def attach_latency(rounds, tmp):
    """Seconds from starting memtrace -p to its 'tracing' line, against an idle process."""
    times = []
    for _ in range(rounds):
        sleeper = subprocess.Popen(["sleep", "60"])
        err_path = os.path.join(tmp, "attach.err")
        t0 = time.monotonic()
        with open(err_path, "w") as err:
            p = subprocess.Popen([MEMTRACE, "--text", "-p", str(sleeper.pid)], stdout=subprocess.DEVNULL, stderr=err)
        wait_for(err_path, "memtrace: tracing", p)
        times.append(time.monotonic() - t0)
        p.send_signal(signal.SIGINT)
        p.wait()
        sleeper.kill()
        sleeper.wait()
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--storm-rounds", type=int, default=48, help="64 MiB map/touch/unmap cycles per run")
    ap.add_argument("--quick", action="store_true", help="memtrace modes and the floor only")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--stacks", action="store_true",
                    help="only the stack configurations (issue 13): storm, python3, depths, beside perf record")
    ap.add_argument("--counting", action="store_true",
                    help="only -a and the exporter (issue 14): the storm beside 20 busy, 100 and 1,000 idle "
                         "processes, BPF cost, and 20 scrapers x 10/s for --load-seconds")
    ap.add_argument("--load-seconds", type=int, default=60)
    ap.add_argument("--record", action="store_true",
                    help="only memtrace record and report (issue 11): record beside text and live, trace size "
                         "per fault, report speed and RSS")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it loads BPF)")
    if not os.path.exists("/sys/kernel/tracing/events"):
        # perf trace and bpftrace attach through tracefs (memtrace does not need it).
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=True)
    names = ["untraced", "memtrace live (pty)", "memtrace text", "memtrace --events", "memtrace --json",
             "floor: tp_btf counter", "floor: tp_btf + ringbuf record"]
    if not args.quick:
        names += ["memtrace text --latency", "memtrace text --stacks", "bpftrace count", "perf trace -F all"]
    report = {}
    if args.stacks:
        return stacks_bench(args)
    if args.counting:
        return counting_bench(args)
    if args.record:
        return record_bench(args)
    with tempfile.TemporaryDirectory(prefix="memtrace-bench-") as tmp:
        storm = [STORM, "--wait", "--rounds", str(args.storm_rounds)]
        rows = bench("fault storm (64 MiB x %d, THP off)" % args.storm_rounds, storm, parse_storm, names,
                     args.rounds, tmp, report)
        many = [STORM, "--wait", "--rounds", str(args.storm_rounds), "--mappings", "10000"]
        many_names = ["untraced", "memtrace text", "memtrace --events"]
        bench("fault storm with 10,000 live mappings", many, parse_storm, many_names, args.rounds, tmp, report)
        py = [PYTHON, "-c", PY_SNIPPET]
        py_names = ["untraced", "memtrace text", "memtrace --events", "memtrace --json"]
        if not args.quick:
            py_names += ["bpftrace count", "perf trace -F all"]
        bench("python3: 4 x ([0]*10M + 300k strings)", py, parse_python, py_names, args.rounds, tmp, report)
        report["attach_s"] = attach_latency(args.rounds, tmp)
        report["idle_cpu_s"] = idle_cpu(args.rounds, rows[0]["median_s"], tmp)
        cost_names = ["memtrace text", "floor: tp_btf counter", "floor: tp_btf + ringbuf record"]
        if not args.quick:
            cost_names[1:1] = ["memtrace text --latency", "memtrace text --stacks", "bpftrace count"]
        report["bpf_costs"] = bpf_costs(storm, cost_names, 3, tmp)
    print_runs("benchmark", args, report)
    print_bpf_costs(report["bpf_costs"])
    print(f"\nmemtrace start to attached (memtrace -p against an idle process): {report['attach_s']:.3f} s")
    print(f"memtrace's own CPU against an idle process for as long as the untraced storm "
          f"({report['fault storm (64 MiB x %d, THP off)' % args.storm_rounds][0]['median_s']:.1f} s): "
          f"{report['idle_cpu_s']:.3f} s (start-up and per-interval work, in every CPU figure above)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


def stacks_bench(args):
    report = {}
    with tempfile.TemporaryDirectory(prefix="memtrace-bench-") as tmp:
        storm = [STORM, "--wait", "--rounds", str(args.storm_rounds)]
        names = ["untraced", "memtrace text", "memtrace --stacks --stack-sample 0", "memtrace text --stacks",
                 "memtrace --stacks --stack-sample 256", "memtrace --stacks --stack-sample 1",
                 "perf record -g (frame pointers)", "perf record --call-graph dwarf"]
        bench("fault storm (64 MiB x %d, THP off), stacks" % args.storm_rounds, storm, parse_storm, names,
              args.rounds, tmp, report)
        py = [PYTHON, "-c", PY_DICTS]
        py_names = ["untraced", "memtrace text", "memtrace --stacks --stack-sample 0", "memtrace text --stacks",
                    "memtrace --stacks --stack-sample 1", "perf record -g (frame pointers)",
                    "perf record --call-graph dwarf"]
        bench("python3: 200k dicts built and dumped, stacks", py, parse_python, py_names, args.rounds, tmp, report)
        report["idle_cpu_s"] = idle_cpu(args.rounds, report[list(report)[0]][0]["median_s"], tmp)
        costs = bpf_costs(storm, ["memtrace text", "memtrace --stacks --stack-sample 0", "memtrace text --stacks",
                                  "memtrace --stacks --stack-sample 256", "memtrace --stacks --stack-sample 1"], 3, tmp)
        depths = stack_depths(tmp)
    print_runs("stacks benchmark", args, report)
    print_bpf_costs(costs)
    print_depths(depths)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": report, "bpf_costs": costs, "depths": depths}, f, indent=1)


class Neighbours:
    """Other processes on the machine while the storm runs: `busy` ones faulting steadily (1 MiB
    mapped, touched and unmapped every 20 ms: ~12,800 faults/s each) or `idle` ones (sleep)."""

    def __init__(self, busy=0, idle=0):
        self.procs = [subprocess.Popen([STORM, "--rounds", "100000000", "--mib", "1", "--sleep-ms", "20"],
                                       stdout=subprocess.DEVNULL) for _ in range(busy)]
        self.procs += [subprocess.Popen(["sleep", "100000"]) for _ in range(idle)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


def exporter_load(seconds, storm_rounds, tmp):
    """20 scrapers at 10 scrapes/s each against `memtrace exporter -a` while the storm runs
    (restarted until the load ends): exporter_load's lines, and the exporter's CPU."""
    err_path = os.path.join(tmp, "exporter.err")
    tf = os.path.join(tmp, "exporter-time.txt")
    with open(err_path, "w") as err:
        exporter = subprocess.Popen([TIME, "-f", "TIME %e %U %S %M", "-o", tf, MEMTRACE, "exporter", "--listen",
                                     "127.0.0.1:0"], stdout=subprocess.DEVNULL, stderr=err)
    if not wait_for(err_path, "Ctrl-C to end", exporter):
        raise RuntimeError("exporter did not start: " + open(err_path).read())
    port = re.search(r"http://127\.0\.0\.1:(\d+)/", open(err_path).read()).group(1)
    memtrace_pid = open(f"/proc/{exporter.pid}/task/{exporter.pid}/children").read().split()[0]
    storm = subprocess.Popen(["/bin/sh", "-c", f"while :; do {STORM} --rounds {storm_rounds} >/dev/null; done"])
    load = subprocess.run([EXPORTER_LOAD, "--port", port, "--pid", memtrace_pid, "--scrapers", "20", "--rate", "10",
                           "--seconds", str(seconds)], capture_output=True, text=True)
    subprocess.run(["pkill", "-P", str(storm.pid)])
    storm.kill()
    storm.wait()
    os.kill(int(memtrace_pid), signal.SIGINT)
    exporter.wait()
    m = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", open(tf).read())
    cpu = float(m.group(2)) + float(m.group(3))
    return load.stdout + f"exporter CPU {cpu:.2f} s over {float(m.group(1)):.1f} s, peak RSS {int(m.group(4)) / 1024:.1f} MB\n"


def exporter_idle_cost(idle, seconds, tmp):
    """memtrace exporter -a's own CPU seconds per second and its RSS beside `idle` sleeping
    processes and nothing else: what the per-interval reading of the kernel's counts costs."""
    with Neighbours(0, idle):
        tf = os.path.join(tmp, "exporter-idle-time.txt")
        subprocess.run([TIME, "-f", "TIME %e %U %S %M", "-o", tf, MEMTRACE, "exporter", "--listen", "127.0.0.1:0",
                        "-d", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    m = re.search(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", open(tf).read())
    return (float(m.group(2)) + float(m.group(3))) / seconds, int(m.group(4)) / 1024


def trace_size(workload, tmp):
    """memtrace record of one gated run of `workload`: (records, faults, bytes of the file)."""
    data = os.path.join(tmp, "size.data")
    wl = subprocess.Popen(workload, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    err_path = os.path.join(tmp, "size.err")
    with open(err_path, "w") as err:
        rec = subprocess.Popen([MEMTRACE, "record", "-o", data, "-p", str(wl.pid)], stdout=subprocess.DEVNULL,
                               stderr=err)
    wait_for(err_path, "memtrace: tracing", rec)
    wl.communicate(b"g")
    rec.wait()
    m = re.search(r"([\d,]+) records, ([\d,]+) faults in", open(err_path).read())
    # What was lost, from the trace itself: the kernel's count for the process and the records the
    # ring had no room for, as memtrace report reads them back.
    replay = subprocess.run([MEMTRACE, "report", data, "--json"], capture_output=True, text=True, check=True)
    recorded, kernel, dropped = memtrace_summary(replay.stdout, replay.stderr)
    return (int(m.group(1).replace(",", "")), int(m.group(2).replace(",", "")), os.path.getsize(data), data,
            kernel - recorded, dropped)


def report_speed(data, records, rounds):
    """memtrace report FILE --text: median wall seconds, records per second, peak RSS MB."""
    walls, rss = [], 0
    for _ in range(rounds):
        t0 = time.monotonic()
        tf = data + ".time"
        subprocess.run([TIME, "-f", "%M", "-o", tf, MEMTRACE, "report", data, "--text"], stdout=subprocess.DEVNULL,
                       check=True)
        walls.append(time.monotonic() - t0)
        rss = max(rss, int(open(tf).read().split()[-1]))
    wall = statistics.median(walls)
    return wall, records / wall, rss / 1024


def record_bench(args):
    report = {}
    with tempfile.TemporaryDirectory(prefix="memtrace-bench-") as tmp:
        storm = [STORM, "--wait", "--rounds", str(args.storm_rounds)]
        names = ["untraced", "memtrace text", "memtrace live (pty)", "memtrace record"]
        bench("fault storm (64 MiB x %d, THP off), record" % args.storm_rounds, storm, parse_storm, names,
              args.rounds, tmp, report)
        py = [PYTHON, "-c", PY_SNIPPET]
        bench("python3: 4 x ([0]*10M + 300k strings), record", py, parse_python, ["untraced", "memtrace text",
                                                                                  "memtrace record"],
              args.rounds, tmp, report)
        report["idle_cpu_s"] = idle_cpu(args.rounds, report[list(report)[0]][0]["median_s"], tmp)
        sizes = {}
        for name, workload in [("fault storm x %d" % args.storm_rounds, storm), ("python3", py),
                               ("fault storm x %d" % (10 * args.storm_rounds),
                                [STORM, "--wait", "--rounds", str(10 * args.storm_rounds)])]:
            records, faults, size, data, lost, dropped = trace_size(workload, tmp)
            wall, per_s, rss = report_speed(data, records, args.rounds)
            sizes[name] = {"records": records, "faults": faults, "lost": lost, "dropped": dropped,
                           "bytes": size, "bytes_per_fault": size / faults,
                           "report_s": wall, "records_per_s": per_s, "report_rss_mb": rss}
            os.unlink(data)
    print_runs("record/report benchmark", args, report)
    print("\n### Trace files and memtrace report FILE --text\n")
    print("| workload | records | faults | lost (kernel - recorded) | dropped | file | bytes per fault | report s (median) "
          "| records/s | report peak RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in sizes.items():
        print(f"| {name} | {r['records']:,} | {r['faults']:,} | {r['lost']} | {r['dropped']} | {r['bytes'] / 1e6:.1f} MB "
              f"| {r['bytes_per_fault']:.2f} | "
              f"{r['report_s']:.3f} | {r['records_per_s'] / 1e6:.1f} M | {r['report_rss_mb']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": report, "traces": sizes}, f, indent=1)


def counting_bench(args):
    report = {}
    names = ["untraced", "memtrace -a --text", "memtrace exporter", "memtrace text", "floor: tp_btf counter",
             "floor: tp_btf + ringbuf record"]
    with tempfile.TemporaryDirectory(prefix="memtrace-bench-") as tmp:
        storm = [STORM, "--wait", "--rounds", str(args.storm_rounds)]
        for title, busy, idle in [("alone", 0, 0), ("beside 20 busy processes", 20, 0),
                                  ("beside 100 idle processes", 0, 100), ("beside 1,000 idle processes", 0, 1000)]:
            with Neighbours(busy, idle):
                bench(f"fault storm (64 MiB x {args.storm_rounds}) {title}", storm, parse_storm, names, args.rounds,
                      tmp, report)
        report["idle_cpu_s"] = idle_cpu(args.rounds, report[list(report)[0]][0]["median_s"], tmp)
        costs = bpf_costs(storm, ["memtrace -a --text", "memtrace exporter", "memtrace text",
                                  "floor: tp_btf counter", "floor: tp_btf + ringbuf record"], 3, tmp)
        load = exporter_load(args.load_seconds, args.storm_rounds, tmp)
        idle_costs = {n: exporter_idle_cost(n, 20, tmp) for n in (0, 100, 1000)}
    print_runs("counting benchmark (-a, exporter)", args, report)
    print_bpf_costs(costs)
    print("\n### memtrace exporter -a's own cost beside idle processes (20 s each)\n")
    print("| idle processes | exporter CPU s per s | peak RSS MB |")
    print("| ---: | ---: | ---: |")
    for n, (cpu, rss) in idle_costs.items():
        print(f"| {n} | {cpu:.4f} | {rss:.1f} |")
    print(f"\n### memtrace exporter -a under 20 scrapers x 10 scrapes/s for {args.load_seconds} s, fault storm running\n")
    print("```\n" + load + "```")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": report, "bpf_costs": costs, "load": load, "idle_costs": idle_costs}, f, indent=1)


if __name__ == "__main__":
    main()
