"""Closed-loop load with ``wrk`` (Debian package ``wrk``) when it is installed.

wrk spends far less CPU per request than a Python client, which matters when client and
server share a small machine. Requests come from the scenario's own factory: the first
``VARIANTS`` of them are written into a Lua script that wrk cycles through, and the Lua
``done`` hook prints the figures as JSON.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import Request

VARIANTS = 5000  # a slice of 10 s at 500 requests a second sends no request twice

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"socket_errors":%d,"non_2xx_3xx":%d,"duration_us":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\\n',
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def write_script(path: Path, make_request: Callable[[int], Request]) -> None:
    lines = ["local requests = {}"]
    for number in range(VARIANTS):
        request = make_request(number)
        headers = ", ".join(
            # The spaces matter: "[[==[" would open a long string instead of a table key.
            f"[ {_lua_string(k)} ] = {_lua_string(v)}"
            for k, v in request.headers.items()
        )
        body = _lua_string(request.body.decode()) if request.body else "nil"
        lines.append(
            f"requests[{number + 1}] = wrk.format({_lua_string(request.method)}, "
            f"{_lua_string(request.path)}, {{{headers}}}, {body})"
        )
    lines.append("local i = 0")
    lines.append("request = function() i = i % #requests + 1; return requests[i] end")
    path.write_text("\n".join(lines) + _DONE)


@dataclass
class WrkResult:
    requests: int
    errors: int
    non_2xx: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


def run(
    host: str,
    port: int,
    make_request: Callable[[int], Request],
    *,
    concurrency: int,
    duration: float,
    script: Path,
) -> WrkResult:
    write_script(script, make_request)
    completed = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://{host}:{port}",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    return WrkResult(
        requests=figures["requests"],
        errors=figures["socket_errors"],
        non_2xx=figures["non_2xx_3xx"],
        seconds=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p90_ms=figures["p90_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        max_ms=figures["max_us"] / 1000,
    )


def summarize(results: list[WrkResult]) -> dict[str, Any]:
    """Several slices as one: rates add up; percentiles are per slice (median p50, worst p99)."""
    requests = sum(r.requests for r in results)
    seconds = sum(r.seconds for r in results)
    p50s = sorted(r.p50_ms for r in results)
    return {
        "client": "wrk",
        "requests": requests,
        "ok_2xx": requests - sum(r.non_2xx for r in results),
        "errors": sum(r.errors for r in results),
        "seconds": round(seconds, 2),
        "requests_per_second": round(requests / seconds, 1) if seconds else 0,
        "p50_ms": round(p50s[len(p50s) // 2], 2),
        "p90_ms": round(max(r.p90_ms for r in results), 2),
        "p99_ms": round(max(r.p99_ms for r in results), 2),
        "max_ms": round(max(r.max_ms for r in results), 2),
        # Each slice opens new connections, and how they fall on the server's processes
        # changes its rate (docs/PERFORMANCE.md, third pass): the spread shows it.
        "slice_rates": [round(r.requests / r.seconds, 1) if r.seconds else 0 for r in results],
    }
