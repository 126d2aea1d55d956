"""``aura-exporter check``: read every configured source once and say what
works, what is missing and what failed. The first command to run when
wiring the sidecar."""

from __future__ import annotations

import sys
from typing import TextIO

from aura_exporter.collector import ExporterCollector
from aura_exporter.deadline import Deadline


def run_check(collector: ExporterCollector, timeout: float, out: TextIO = sys.stdout) -> int:
    if not collector.sources:
        print(
            "no source is configured: set --mothership-url, --postgres-dsn(-file) or --process-pid-file/--process-match",
            file=out,
        )
        return 2
    outcomes = collector.run_sources(Deadline(timeout))
    rows = []
    failed = 0
    for outcome in outcomes:
        if outcome.collected is not None:
            series = sum(len(m.samples) for m in outcome.collected.metrics)
            status, detail = "ok", f"{series} series"
            notes = outcome.collected.notes
        else:
            failed += 1
            status, detail = "FAILED", f"{outcome.error.reason}: {outcome.error.message}"
            notes = []
        rows.append((outcome.source.name, status, f"{outcome.duration * 1000:.0f} ms", outcome.source.target(), detail, notes))
    widths = [max(len(r[i]) for r in rows + [("source", "status", "latency", "target", "", [])]) for i in range(4)]
    header = ("source", "status", "latency", "target")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  detail", file=out)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4], file=out)
        for note in row[5]:
            print(" " * (sum(widths) + 8) + "note: " + note, file=out)
    print(f"{len(rows) - failed} of {len(rows)} sources ok", file=out)
    return 1 if failed else 0
