"""Helpers to look at what an exporter produced."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from aura_exporter.collector import ExporterCollector
from aura_exporter.deadline import Deadline


def registry_for(*sources, timeout: float = 5.0) -> tuple[CollectorRegistry, ExporterCollector]:
    """An isolated registry holding one exporter collector over ``sources``."""
    collector = ExporterCollector(list(sources), default_timeout=timeout)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry, collector


def families_by_name(metrics) -> dict:
    return {m.name: m for m in metrics}


def scrape_families(collector: ExporterCollector, timeout: float = 5.0) -> dict:
    return families_by_name(collector.scrape(Deadline(timeout)))


def parse(text: str) -> dict:
    return {m.name: m for m in text_string_to_metric_families(text)}


def sample(families: dict, family: str, name: str | None = None, **labels) -> float | None:
    metric = families.get(family)
    if metric is None:
        return None
    for s in metric.samples:
        if s.name == (name or family) and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return None
