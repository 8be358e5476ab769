"""Every benchmark in bench/, one after the other, with a progress display; the figures as JSON
and as the README's table, with the machine and the time they were measured on.

    bench/run                 # the full sizes (the README's figures; ~30 min on 2 cores)
    bench/run --quick         # smaller sizes and one round each: under 10 minutes
    bench/run --smoke         # tiny sizes: proves every benchmark still runs
    bench/run --only tokens,audit_verify      bench/run --list
    bench/run --out results.json              # default var/bench/<UTC time>.json

Each benchmark runs as its own process (the scripts stay usable alone); its output goes to
``var/bench/<time>/<name>.log`` and the figures the table needs are read from its summary lines.
The token benchmark runs django-oauth-toolkit's token endpoint beside ours (``--versus-dot``).
Scripts that other parts add (``trust_recompute.py``, ``campaign_open.py``) run when present.
PostgreSQL (``127.0.0.1:5432``, user postgres) and Redis (``REDIS_URL``, default db 14) are
needed, as for the scripts themselves; each script makes its own ``bench_*`` database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from _catalogue import Bench, benches

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


# -- running ----------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    def first(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    cpu = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        mem_kb = int(info.readline().split()[1])
    return {
        "host": platform.node(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": first(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SHOW server_version"]
        ),
        "redis": first(["redis-server", "--version"]).split(" ")[2].removeprefix("v=")
        if shutil.which("redis-server")
        else "",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "git_commit": first(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]),
    }


class Progress:
    """One status line: which benchmark, how far, for how long; the log's last line under it."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.name, self.started = total, 0, "", time.monotonic()
        self.tty = sys.stdout.isatty()
        self._stop = threading.Event()
        self.last = ""

    def begin(self, name: str) -> None:
        self.name, self.step_started, self.last = name, time.monotonic(), ""
        if not self.tty:
            print(f"[{self.done + 1}/{self.total}] {name} …", flush=True)

    def line(self, text: str) -> None:
        self.last = text.strip()[:90]

    def tick(self) -> None:
        while not self._stop.wait(0.5):
            if self.tty and self.name:
                bar = "#" * self.done + "." * (self.total - self.done)
                print(
                    f"\r\033[K[{bar}] {self.done + 1}/{self.total} {self.name} "
                    f"{time.monotonic() - self.step_started:5.0f} s (total "
                    f"{time.monotonic() - self.started:4.0f} s)  {self.last}",
                    end="",
                    flush=True,
                )

    def end(self, status: str) -> None:
        elapsed = time.monotonic() - self.step_started
        self.done += 1
        prefix = "\r\033[K" if self.tty else "   "
        print(
            f"{prefix}[{self.done}/{self.total}] {self.name}: {status} in {elapsed:.0f} s",
            flush=True,
        )

    def stop(self) -> None:
        self._stop.set()


def run_one(bench: Bench, size: str, logs: Path, progress: Progress) -> dict[str, object]:
    args = bench.sizes.get(size)
    result: dict[str, object] = {"title": bench.title, "script": f"bench/{bench.script}"}
    if args is None:
        return {**result, "status": f"skipped (not run at size {size})"}
    if not (BENCH / bench.script).exists():
        return {**result, "status": "skipped (script not present)"}
    env = {**os.environ, **bench.env}
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    env["PYTHONUNBUFFERED"] = "1"
    log = logs / f"{bench.name}.log"
    started = time.monotonic()
    if bench.setup is not None:  # a fresh database of its own, say
        bench.setup()
    command = [sys.executable, str(BENCH / bench.script), *args]
    with log.open("w") as sink:
        sink.write("$ " + " ".join(command) + "\n")
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            sink.write(line)
            lines.append(line)
            progress.line(line)
        code = process.wait()
    out = "".join(lines)
    figures = bench.parse(out) if code == 0 else {}
    return {
        **result,
        "status": "ok" if code == 0 else f"failed (exit {code}, see {log})",
        "arguments": args,
        "seconds": round(time.monotonic() - started, 1),
        "figures": figures,
        "rows": bench.rows(figures) if figures else [],
        "log": str(log.relative_to(ROOT)) if log.is_relative_to(ROOT) else str(log),
    }


def table(results: dict[str, dict[str, object]], info: dict[str, object]) -> str:
    lines = [
        f"Measured by `bench/run{info['size_flag']}` on {info['machine']['host']} "  # type: ignore[index]
        f"({info['machine']['cpus']} × {info['machine']['cpu']}, "  # type: ignore[index]
        f"{info['machine']['memory_gb']} GB; PostgreSQL {info['machine']['postgresql']}, "  # type: ignore[index]
        f"Redis {info['machine']['redis']}), {info['started']} – {info['finished']} UTC, "  # type: ignore[index]
        f"load average at start {' '.join(map(str, info['machine']['load_average_at_start']))}.",  # type: ignore[index]
        "",
        "| what | figure | target | met |",
        "|---|---|---|---|",
    ]
    for result in results.values():
        rows = result.get("rows") or []
        if not rows:
            lines.append(f"| {result['title']} | {result['status']} | | |")
        for what, figure, target, met in rows:  # type: ignore[misc]
            lines.append(f"| {what} | {figure} | {target} | {met} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes: under 10 minutes")
    size.add_argument("--smoke", action="store_true", help="tiny sizes: does everything run?")
    ap.add_argument("--only", help="comma-separated names (see --list)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("--out", help="the JSON file (default var/bench/<time>.json)")
    args = ap.parse_args()
    chosen = benches()
    if args.list:
        for b in chosen:
            present = "" if (BENCH / b.script).exists() else "  (script not present)"
            print(f"{b.name:20} bench/{b.script:22} {b.title}{present}")
        return
    if args.only:
        wanted = set(args.only.split(","))
        unknown = wanted - {b.name for b in chosen}
        if unknown:
            ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
        chosen = [b for b in chosen if b.name in wanted]
    size_name = "quick" if args.quick else "smoke" if args.smoke else "full"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    logs = ROOT / "var" / "bench" / stamp
    logs.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else ROOT / "var" / "bench" / f"{stamp}.json"
    info: dict[str, object] = {
        "size": size_name,
        "size_flag": {"full": "", "quick": " --quick", "smoke": " --smoke"}[size_name],
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
    }
    progress = Progress(len(chosen))
    ticker = threading.Thread(target=progress.tick, daemon=True)
    ticker.start()
    results: dict[str, dict[str, object]] = {}
    try:
        for bench in chosen:
            progress.begin(bench.name)
            results[bench.name] = run_one(bench, size_name, logs, progress)
            progress.end(str(results[bench.name]["status"]))
            info["finished"] = dt.datetime.now(dt.UTC).strftime("%H:%M")
            out.write_text(json.dumps({**info, "results": results}, indent=2, default=str))
    except KeyboardInterrupt:
        progress.stop()
        print("\ninterrupted; what ran so far is in", out)
        raise SystemExit(130) from None
    progress.stop()
    info["finished"] = dt.datetime.now(dt.UTC).strftime("%H:%M")
    out.write_text(json.dumps({**info, "results": results}, indent=2, default=str))
    print()
    print(table(results, info))
    print(f"\nJSON: {out}\nlogs: {logs}")
    if any(str(r["status"]).startswith("failed") for r in results.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
