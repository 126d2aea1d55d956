"""Prometheus exporter sidecar for Aura's Mothership."""

__version__ = "0.1.0"
