"""The throwaway PostgreSQL cluster lives in the package (the demo and the
benchmarks use it too); tests import it from here."""

from aura_sim.pgcluster import PG_BIN, PostgresCluster, free_port, wait_until

__all__ = ["PG_BIN", "PostgresCluster", "free_port", "wait_until"]
