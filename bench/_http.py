"""What the HTTP benchmarks share: bench-only secrets, a gunicorn under test, two load generators
(a small asyncio client that keeps connections open and sends pre-encoded requests, and ``wrk``
driven by a Lua script), the CPU each process spent per request, and the rounds: the phases run
interleaved, round after round, so that a phase is compared with its neighbours of the same
round (the machine's speed swings from minute to minute), and a summary gives the medians."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import servers  # noqa: E402
from tests.servers import free_port  # noqa: E402,F401  (re-exported for the scripts)

FORM = "application/x-www-form-urlencoded"


def bench_env(wrap_key_label: bytes) -> dict[str, str]:
    """Production settings with bench-only secrets (the production settings refuse dev ones)."""
    return {
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 48,
        "CREDENTIAL_SECRET_PEPPER": "bench-only-pepper-" + "y" * 48,
        "SIGNING_KEY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(wrap_key_label).decode(),
    }


@contextlib.contextmanager
def gunicorn(
    port: int,
    env: dict[str, str],
    *,
    workers: int,
    threads: int,
    worker_class: str = "gthread",
    preload: bool = False,
) -> Iterator[subprocess.Popen]:
    """``gunicorn governance.wsgi`` with the project's config on 127.0.0.1:``port``, up when the
    block starts (the tests' server, with this shape)."""
    shape = ["-k", worker_class, "--threads", str(threads), "--keep-alive", "30"]
    # Metrics as in production: every worker writes its samples to a shared folder
    # (prometheus_client's multiprocess mode), which /metrics adds up.
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as metrics_dir:
        env = {"PROMETHEUS_MULTIPROC_DIR": metrics_dir, **env}
        with servers.gunicorn(
            port, env, workers=workers, extra=[*shape, *(["--preload"] if preload else [])]
        ) as server:
            yield server


def post(
    port: int,
    path: str,
    body: bytes | str,
    auth: str | None = None,
    content_type: str | None = FORM,
) -> bytes:
    """A pre-encoded HTTP/1.1 POST (``auth`` is the whole Authorization value)."""
    data = body.encode() if isinstance(body, str) else body
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(data)}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    if auth:
        head += f"Authorization: {auth}\r\n"
    return (head + "\r\n").encode() + data


async def _client(host, port, requests: list[bytes], until, latencies, errors, ok_marker):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        i = 0
        while time.perf_counter() < until and i < len(requests):
            request = requests[i]
            i += 1
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 200") or ok_marker not in body:
                errors.append(head.split(b"\r\n", 1)[0] + b" " + body[:200])
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _drive(host, port, per_connection: list[list[bytes]], seconds, ok_marker):
    latencies: list[float] = []
    errors: list[bytes] = []
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(host, port, reqs, until, latencies, errors, ok_marker) for reqs in per_connection)
    )
    return latencies, errors, time.perf_counter() - started


def drive(
    port: int, per_connection: list[list[bytes]], seconds: float, ok_marker: bytes
) -> tuple[list[float], list[bytes], float]:
    """Send each connection's requests in turn until ``seconds`` pass; a 200 whose body lacks
    ``ok_marker`` counts as an error. Returns (latencies, errors, elapsed)."""
    return asyncio.run(_drive("127.0.0.1", port, per_connection, seconds, ok_marker))


def repeat(request: bytes, connections: int, times: int = 100_000) -> list[list[bytes]]:
    """The same request on every connection."""
    return [[request] * times for _ in range(connections)]


def default_client() -> str:
    """wrk when it is installed (``apt-get install wrk``): C and epoll, it costs the shared CPU
    far less than the asyncio client."""
    return "wrk" if shutil.which("wrk") else "asyncio"


WRK_LUA = r"""
-- One request body per line of BODIES; thread i of n sends lines i, i+n, ... in turn.
local counter, threads = 0, {}
function setup(thread)
  thread:set("id", counter); counter = counter + 1; table.insert(threads, thread)
end
function init(args)
  bodies, pos, bad = {}, 0, 0
  local n, i = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if i % n == id then table.insert(bodies, line) end
    i = i + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = args[4]
  if args[3] and args[3] ~= "" then wrk.headers["Authorization"] = args[3] end
end
function request()
  pos = pos + 1
  if pos > #bodies then pos = 1 end  -- out of bodies: starts again (single-use ones then fail)
  return wrk.format(nil, nil, nil, bodies[pos])
end
-- RESPONSE --
function done(summary, latency, requests)
  local e, bad = summary.errors, 0
  for _, thread in ipairs(threads) do bad = bad + (thread:get("bad") or 0) end
  io.write(string.format("WRK %d %d %d %d %d %d %d %d\n", summary.requests,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, bad))
end
"""

# Only when a marker is asked for: a ``response`` function makes wrk hand every body to Lua.
WRK_RESPONSE_LUA = """
function response(status, headers, body)
  if status == 200 and not string.find(body, %s, 1, true) then bad = bad + 1 end
end
"""


def wrk_drive(
    port: int,
    path: str,
    bodies: list[str],
    auth: str,
    seconds: float,
    conns: int,
    tmp: str,
    *,
    content_type: str = FORM,
    ok_marker: bytes | None = None,
) -> tuple[int, int, float, float, float]:
    """Drive ``path`` with wrk (1 thread, ``conns`` keep-alive connections) for ``seconds``.

    Returns (requests, errors, elapsed, p50 ms, p99 ms); errors are non-2xx answers, socket
    errors and, with ``ok_marker``, 200s whose body lacks it."""
    script, data = Path(tmp) / "bench.lua", Path(tmp) / "bodies.txt"
    marker = "" if ok_marker is None else WRK_RESPONSE_LUA % _lua_string(ok_marker.decode())
    script.write_text(WRK_LUA.replace("-- RESPONSE --", marker))
    data.write_text("\n".join(bodies) + "\n")
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
            "--",
            str(data),
            "1",
            auth,
            content_type,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    n, duration_us, status_errors, socket_errors, p50, p99, _, bad = (
        int(v) for v in line.split()[1:]
    )
    return n, status_errors + socket_errors + bad, duration_us / 1e6, p50 / 1000, p99 / 1000


def _lua_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " _-:" else f"\\{ord(c)}" for c in text) + '"'


def _proc_cpu(pid: int) -> float:
    """CPU-seconds (user + system) a process has used so far; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_pid(url: str | None) -> int | None:
    """The Redis server's pid when it runs on this machine (its CPU is then measurable)."""
    if not url:
        return None
    try:
        import redis

        pid = int(redis.Redis.from_url(url, socket_timeout=2).info("server")["process_id"])
    except Exception:  # no Redis, or not ours to see: simply not metered
        return None
    return pid if Path(f"/proc/{pid}/stat").exists() else None


class CpuMeter:
    """CPU-seconds used by the server (gunicorn and its workers), the database server's backends
    of the bench database (PostgreSQL), Redis (the whole server: other users of it count too)
    and the load generator (wrk, a finished child, or the asyncio client in this process), per
    phase. Unlike req/s, these hardly
    depend on what else the shared machine is running."""

    def __init__(self, master: int, database: str | None, redis: int | None = None) -> None:
        self.master, self.database, self.redis = master, database, redis

    def _server_pids(self) -> list[int]:
        children = Path(f"/proc/{self.master}/task/{self.master}/children").read_text().split()
        return [self.master, *map(int, children)]

    def _db_pids(self) -> list[int]:
        if not self.database:
            return []
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            )
            return [row[0] for row in cursor.fetchall()]

    def sample(self) -> tuple[dict[int, float], dict[int, float], float, float]:
        server = {pid: _proc_cpu(pid) for pid in self._server_pids()}
        db = {pid: _proc_cpu(pid) for pid in self._db_pids()}
        # The load generator: wrk (a finished child) or the asyncio client (this process).
        loadgen = sum(
            usage.ru_utime + usage.ru_stime
            for usage in map(resource.getrusage, (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF))
        )
        redis = _proc_cpu(self.redis) if self.redis else 0.0
        return server, db, loadgen, redis

    @staticmethod
    def since(before, after) -> tuple[float, float, float, float]:
        """(server, database, load generator, redis) CPU-seconds between two samples."""

        def used(a: dict[int, float], b: dict[int, float]) -> float:
            return sum(b[pid] - a.get(pid, 0.0) for pid in b)  # new backends count from 0

        return (
            used(before[0], after[0]),
            used(before[1], after[1]),
            after[2] - before[2],
            after[3] - before[3],
        )


def cpu_line(meter: CpuMeter, before, n: int) -> float:
    """Print CPU per request of the phase that started at ``before``; returns the µs per
    request of the server, the database backends and Redis (not the load generator)."""
    server, db, loadgen, redis = CpuMeter.since(before, meter.sample())
    per = 1e6 / max(n, 1)
    print(
        f"  CPU per request: server {server * per:,.0f} µs"
        + (f" + database {db * per:,.0f} µs" if meter.database else "")
        + (f" + Redis {redis * per:,.0f} µs" if meter.redis else "")
        + f" = {(server + db + redis) * per:,.0f} µs; load generator {loadgen * per:,.0f} µs"
    )
    return (server + db + redis) * per


@dataclass
class Phase:
    """One timed phase of one round. ``cpu``: µs per request of the server, the database
    backends and Redis. ``audited``: the audit entries written during the phase, when each answer
    must have one (``slack``: how many more are fine, answers in flight when the client stopped).
    """

    name: str
    n: int
    bad: int
    elapsed: float
    p50: float
    p99: float
    cpu: float = 0.0
    audited: int | None = None
    slack: int = 0

    @property
    def rate(self) -> float:
        return self.n / self.elapsed if self.elapsed else 0.0

    @property
    def ok(self) -> int:
        return self.n - self.bad

    @property
    def audit_ok(self) -> bool:
        return self.audited is not None and self.ok <= self.audited <= self.ok + self.slack


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    """(p50, p99) in ms; NaN when nothing was answered."""
    if not latencies:
        return math.nan, math.nan
    ms = sorted(x * 1000 for x in latencies)
    return statistics.median(ms), ms[int(len(ms) * 0.99)]


@dataclass
class Driver:
    """What every phase of a run shares: the load generator (wrk or asyncio), the CPU meter, the
    server's port, the length of a phase and a scratch directory."""

    client: str
    meter: CpuMeter
    port: int
    seconds: float
    tmp: str

    def phase(
        self,
        name: str,
        path: str,
        bodies: list[str],
        auth: str,
        conns: int,
        *,
        content_type: str = FORM,
        ok_marker: bytes | None = None,
    ) -> Phase:
        """Drive ``path`` over ``conns`` connections for ``seconds``, each body sent once in turn
        (a single body: again and again); print the phase's line and its CPU per request.

        With ``ok_marker`` a 200 whose body lacks it is an error (with wrk this costs the load
        generator a Lua call per response)."""
        port, first_error = self.port, b""
        if self.client == "wrk":
            before = self.meter.sample()
            n, bad, elapsed, p50, p99 = wrk_drive(
                port, path, bodies, auth, self.seconds, conns, self.tmp,
                content_type=content_type, ok_marker=ok_marker,
            )  # fmt: skip
        else:
            requests = [post(port, path, body, auth or None, content_type) for body in bodies]
            per_connection = (
                repeat(requests[0], conns)
                if len(requests) == 1
                else [requests[i::conns] for i in range(conns)]
            )
            before = self.meter.sample()
            latencies, errors, elapsed = drive(port, per_connection, self.seconds, ok_marker or b"")
            n, bad, (p50, p99) = len(latencies), len(errors), _percentiles(latencies)
            first_error = errors[0][:300] if errors else b""
        phase = Phase(name, n, bad, elapsed, p50, p99)
        print(
            f"{name}: {phase.rate:,.0f} req/s over {elapsed:.1f} s ({n} requests, {bad} errors)"
            f"  p50 {p50:.2f} ms  p99 {p99:.2f} ms"
        )
        if first_error:
            print("  first error:", first_error)
        if len(bodies) > 1 and n + conns >= len(bodies):
            print(f"  (used up its {len(bodies)} bodies: a single-use one sent again is refused)")
        phase.cpu = cpu_line(self.meter, before, n)
        return phase


class Rounds(dict[str, list[Phase]]):
    """Every phase's figures by phase name, in round order."""

    def add(self, phase: Phase) -> Phase:
        self.setdefault(phase.name, []).append(phase)
        return phase


def round_header(number: int, rounds: int) -> None:
    print(
        f"— round {number} of {rounds}, {time.strftime('%H:%M:%S')}, load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def _each(values: list[float], spec: str) -> str:
    return ", ".join(format(v, spec) for v in values)


def audit_text(phases: list[Phase], what: str, received: str) -> str:
    """``audited <what> A for B <received>`` over ``phases``, flagging the rounds whose count is
    off (each round is checked on its own: a surplus in one cannot hide a shortfall in another).
    """
    audited = sum(p.audited or 0 for p in phases)
    ok = sum(p.ok for p in phases)
    off = [str(i) for i, p in enumerate(phases, 1) if not p.audit_ok]
    rounds = f" over {len(phases)} rounds" if len(phases) > 1 else ""
    where = f" in round {', '.join(off)}" if rounds else ""
    return f"audited {what} {audited} for {ok} {received}{rounds}" + (
        f"  (MISMATCH{where})" if off else ""
    )


def summary_header(rounds: int) -> None:
    print(f"— summary of {rounds} rounds: medians over the rounds, per-round figures in order")


def summarise(
    phases: list[Phase],
    *,
    ceiling: list[Phase] | None = None,
    audit: tuple[str, str] | None = None,
    rate_target: float | None = None,
    p99_target: float | None = None,
) -> None:
    """Print one phase's summary over the rounds: median req/s, p50 and CPU per request, p99 of
    each round (median, worst); with ``ceiling`` (the same rounds' no-op phases) the ratio of
    each round to its own no-op and the CPU ratio; with ``audit`` (what, received) the audit
    check; with targets, in how many rounds each was met."""
    rates, p99s = [p.rate for p in phases], [p.p99 for p in phases]
    cpu = statistics.median(p.cpu for p in phases)
    print(
        f"{phases[0].name}: {statistics.median(rates):,.0f} req/s, "
        f"p50 {statistics.median(p.p50 for p in phases):.2f} ms, CPU per request {cpu:,.0f} µs"
        f"\n  per round: {_each(rates, ',.0f')} req/s; p99 {_each(p99s, '.1f')} ms "
        f"(median {statistics.median(p99s):.1f}, worst {max(p99s):.1f})"
    )
    if ceiling:
        ratios = [ratio(p.rate, c.rate) for p, c in zip(phases, ceiling, strict=True)]
        no_op = statistics.median(c.cpu for c in ceiling)
        print(
            f"  of the round's no-op ceiling: {_each(ratios, '.0%')} "
            f"(median {statistics.median(ratios):.0%})\n  CPU ratio no-op/this phase "
            f"{no_op:,.0f}/{cpu:,.0f} µs = {ratio(no_op, cpu):.0%}, the req/s ratio to expect "
            "when the server alone has the CPUs"
        )
    if rate_target is not None and p99_target is not None:
        fast = sum(r >= rate_target for r in rates)
        short = sum(x <= p99_target for x in p99s)
        print(
            f"  targets: ≥ {rate_target:,.0f}/s in {fast} of {len(phases)} rounds (median "
            f"{'met' if statistics.median(rates) >= rate_target else 'missed'}), p99 ≤ "
            f"{p99_target:g} ms in {short} of {len(phases)} (median "
            f"{'met' if statistics.median(p99s) <= p99_target else 'missed'})"
        )
    if audit:
        print(f"  {audit_text(phases, *audit)}")
