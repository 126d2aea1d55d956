from aura_sim.processes import PrometheusServer

__all__ = ["PrometheusServer"]
