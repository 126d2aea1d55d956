"""Runs every configured source concurrently within the scrape deadline and
adds the exporter's own metrics about them."""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from aura_exporter import __version__
from aura_exporter.deadline import Deadline
from aura_exporter.errors import SourceError
from aura_exporter.sources.base import Collected, Source

log = logging.getLogger("aura_exporter.collector")


@dataclass
class SourceOutcome:
    source: Source
    duration: float
    collected: Collected | None = None
    error: SourceError | None = None

    @property
    def up(self) -> bool:
        return self.collected is not None


@dataclass
class _SourceState:
    errors: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    notes_logged: set[str] = field(default_factory=set)


class ExporterCollector(Collector):
    """A custom collector: each ``collect`` call reads every source afresh.

    Sources run in their own threads. The scrape waits for them until the
    deadline; a source still running then is aborted and reported down
    (``aura_exporter_source_up 0``, reason ``timeout``) while the others'
    metrics are served.
    """

    def __init__(self, sources: Sequence[Source], default_timeout: float = 10.0) -> None:
        self.sources = list(sources)
        self.default_timeout = default_timeout
        self._states = {s.name: _SourceState(errors={r: 0 for r in s.error_reasons}) for s in self.sources}
        self._states_lock = threading.Lock()

    # prometheus_client's Collector interface (used with a CollectorRegistry)
    def collect(self) -> Iterable[Metric]:
        return self.scrape(Deadline(self.default_timeout))

    def run_sources(self, deadline: Deadline) -> list[SourceOutcome]:
        results: dict[str, SourceOutcome] = {}
        threads = []
        for source in self.sources:
            thread = threading.Thread(
                target=self._run_one, args=(source, deadline, results), name=f"source-{source.name}", daemon=True
            )
            thread.start()
            threads.append((source, thread, time.monotonic()))
        outcomes = []
        for source, thread, started in threads:
            thread.join(deadline.remaining())
            outcome = results.get(source.name)
            if outcome is None:
                # Still running at the deadline: cut it loose.
                source.abort(deadline)
                outcome = SourceOutcome(
                    source,
                    time.monotonic() - started,
                    error=SourceError("timeout", f"no answer from {source.target()} before the scrape deadline"),
                )
            outcomes.append(outcome)
            self._record(outcome)
        return outcomes

    def scrape(self, deadline: Deadline) -> list[Metric]:
        outcomes = self.run_sources(deadline)
        metrics: list[Metric] = []
        for outcome in outcomes:
            if outcome.collected is not None:
                metrics.extend(outcome.collected.metrics)
        metrics.extend(self._self_metrics(outcomes))
        return metrics

    @staticmethod
    def _run_one(source: Source, deadline: Deadline, results: dict[str, SourceOutcome]) -> None:
        started = time.monotonic()
        try:
            collected = source.collect(deadline)
            outcome = SourceOutcome(source, time.monotonic() - started, collected=collected)
        except SourceError as exc:
            outcome = SourceOutcome(source, time.monotonic() - started, error=exc)
        except Exception as exc:  # a bug must not take the scrape down
            log.exception("source %s failed unexpectedly", source.name)
            outcome = SourceOutcome(
                source, time.monotonic() - started, error=SourceError("internal", f"{type(exc).__name__}: {exc}")
            )
        if not deadline.expired():
            results[source.name] = outcome

    def _record(self, outcome: SourceOutcome) -> None:
        name = outcome.source.name
        with self._states_lock:
            state = self._states[name]
            if outcome.error is not None:
                reason = outcome.error.reason
                state.errors[reason] = state.errors.get(reason, 0) + 1
                if state.last_error != outcome.error.message:
                    log.warning("source %s down (%s): %s", name, reason, outcome.error.message)
                state.last_error = outcome.error.message
            else:
                if state.last_error is not None:
                    log.info("source %s recovered", name)
                state.last_error = None
                for note in outcome.collected.notes:
                    if note not in state.notes_logged:
                        log.warning("source %s: %s", name, note)
                        state.notes_logged.add(note)

    def _self_metrics(self, outcomes: list[SourceOutcome]) -> list[Metric]:
        up = GaugeMetricFamily(
            "aura_exporter_source_up", "1 if the source was read successfully in this scrape, else 0.", labels=["source"]
        )
        duration = GaugeMetricFamily(
            "aura_exporter_source_duration_seconds",
            "Time this scrape spent reading the source.",
            labels=["source"],
        )
        errors = CounterMetricFamily(
            "aura_exporter_source_errors",
            "Failed reads of a source since the exporter started, by reason.",
            labels=["source", "reason"],
        )
        target_up: list[Metric] = []
        for outcome in outcomes:
            name = outcome.source.name
            up.add_metric([name], 1.0 if outcome.up else 0.0)
            duration.add_metric([name], outcome.duration)
            family = GaugeMetricFamily(*outcome.source.up_metric)
            family.add_metric([], 1.0 if outcome.up else 0.0)
            target_up.append(family)
        with self._states_lock:
            for name, state in self._states.items():
                for reason, count in sorted(state.errors.items()):
                    errors.add_metric([name, reason], count)
        info = GaugeMetricFamily(
            "aura_exporter_build_info",
            "Version of the exporter, always 1.",
            labels=["version", "python_version"],
        )
        info.add_metric([__version__, platform.python_version()], 1.0)
        return target_up + [up, duration, errors, info]

    def close(self) -> None:
        for source in self.sources:
            source.close()
