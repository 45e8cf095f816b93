"""Measure stub reading on the labelled image set: per-field accuracy and time per image.

    .venv/bin/python bench/evaluate_reader.py                 # the offline engine (default)
    GEMINI_API_KEY=... .venv/bin/python bench/evaluate_reader.py --engine gemini
    .venv/bin/python bench/evaluate_reader.py --show-misses   # what was read wrong

Each image goes through the same path as an upload (decoded, re-encoded, EXIF stripped)
and then through the configured reader. A field counts as correct when the value read
equals the label after case folding and whitespace/punctuation trimming; labels that are
``null`` (not printed) are not scored, but a value read for them counts as "spurious".
Time is the reader alone, after one warm-up image (the engine loads once per process),
as wall-clock seconds and as CPU seconds of this process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from stubcollector.adapters.images import prepare_upload  # noqa: E402
from stubcollector.adapters.ocr.base import READ_FIELDS, StubReader  # noqa: E402
from stubcollector.adapters.ocr.rapid import RapidOcrReader  # noqa: E402


def normalise(value: str | None) -> str:
    if value is None:
        return ""
    return re.sub(r"\s+", " ", value).strip(" .,;:-").casefold()


def build_reader(engine: str) -> StubReader:
    offline = RapidOcrReader()
    if engine == "offline":
        return offline
    from stubcollector.adapters.ocr.gemini import GeminiStubReader

    return GeminiStubReader(
        api_key=os.environ["GEMINI_API_KEY"],
        model=os.environ.get("GEMINI_MODEL", "gemini-2.5-flash"),
        fallback=offline,
        base_url=os.environ.get("GEMINI_API_BASE", ""),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=HERE / "stubs")
    parser.add_argument("--engine", choices=("offline", "gemini"), default="offline")
    parser.add_argument("--limit", type=int, default=0, help="only the first N images")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    labels: dict[str, dict[str, str | None]] = json.loads(
        (args.images / "labels.json").read_text(encoding="utf-8")
    )
    names = sorted(labels)[: args.limit or None]
    reader = build_reader(args.engine)
    prepared = {
        name: prepare_upload(
            (args.images / name).read_bytes(), max_bytes=50_000_000, max_pixels=100_000_000
        )
        for name in names
    }
    warm = prepared[names[0]]
    reader.read(warm.data, warm.content_type)

    correct = dict.fromkeys(READ_FIELDS, 0)
    scored = dict.fromkeys(READ_FIELDS, 0)
    spurious = dict.fromkeys(READ_FIELDS, 0)
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    misses: list[str] = []
    fallbacks = 0
    for name in names:
        image = prepared[name]
        started, cpu_started = time.perf_counter(), time.process_time()
        reading = reader.read(image.data, image.content_type)
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
        if reading.notes and "Gemini" in reading.notes:
            fallbacks += 1
        for field in READ_FIELDS:
            expected = labels[name][field]
            found = reading.fields.get(field)
            got = found.value if found else None
            if expected is None:
                spurious[field] += got is not None
                continue
            scored[field] += 1
            if normalise(got) == normalise(expected):
                correct[field] += 1
            else:
                misses.append(f"{name:28} {field:11} expected {expected!r:40} got {got!r}")

    total_correct, total_scored = sum(correct.values()), sum(scored.values())
    print(f"engine: {reader.name}   images: {len(names)}   from: {args.images}")
    print(f"{'field':12} {'accuracy':>9} {'correct':>8} {'spurious':>9}")
    for field in READ_FIELDS:
        share = correct[field] / scored[field] if scored[field] else 0.0
        print(
            f"{field:12} {share:>9.0%} {correct[field]:>4}/{scored[field]:<3} {spurious[field]:>9}"
        )
    print(
        f"{'all fields':12} {total_correct / total_scored:>9.1%} {total_correct:>4}/{total_scored}"
    )
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(
        f"time per image: mean {statistics.mean(seconds):.2f} s, "
        f"median {statistics.median(seconds):.2f} s, p95 {p95:.2f} s, max {max(seconds):.2f} s"
    )
    # CPU time counts every thread of this process and ignores other processes' load, so it
    # compares runs on a busy machine better than the wall clock does.
    print(
        f"CPU time per image: mean {statistics.mean(cpu_seconds):.2f} s "
        f"(load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())})"
    )
    if fallbacks:
        print(f"Gemini fell back to the offline engine on {fallbacks} image(s)")
    if args.show_misses:
        print("\n".join(["", "misses:", *misses]))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "engine": reader.name,
                    "images": len(names),
                    "accuracy": {
                        f: (correct[f] / scored[f] if scored[f] else None) for f in READ_FIELDS
                    },
                    "overall": total_correct / total_scored,
                    "cpu_seconds_mean": statistics.mean(cpu_seconds),
                    "seconds": {
                        "mean": statistics.mean(seconds),
                        "median": statistics.median(seconds),
                    },
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
