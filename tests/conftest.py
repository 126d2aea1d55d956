from __future__ import annotations

from importlib import resources

import pytest

from tests.support.pg import PostgresCluster
from tests.support.stats_server import StatsServer

CATALOG_SQL = resources.files("aura_exporter.contract").joinpath("catalog.sql").read_text()


def _cluster() -> PostgresCluster:
    cluster = PostgresCluster().init().start()
    cluster.bootstrap(CATALOG_SQL)
    return cluster


@pytest.fixture(scope="session")
def pg():
    """One PostgreSQL cluster shared by tests that do not stop or freeze it."""
    cluster = _cluster()
    yield cluster
    cluster.destroy()


@pytest.fixture
def private_pg():
    """A cluster of the test's own, for tests that stop, freeze or restart it."""
    cluster = _cluster()
    yield cluster
    cluster.destroy()


@pytest.fixture
def stats_server():
    server = StatsServer()
    yield server
    server.close()
