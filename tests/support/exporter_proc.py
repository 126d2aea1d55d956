"""Run the real ``aura-exporter`` command: as a server (from the package) or once."""

from __future__ import annotations

import os
import subprocess

from aura_sim.processes import EXPORTER_BIN, ExporterProcess

__all__ = ["ExporterProcess", "run_exporter"]


def run_exporter(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AURA_EXPORTER_")}
    full_env.update(env or {})
    return subprocess.run([str(EXPORTER_BIN), *args], capture_output=True, text=True, env=full_env, timeout=timeout)
