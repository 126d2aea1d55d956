"""The Mothership process itself, through psutil: CPU, memory, fds, threads.

The process is found by pid file or by a regular expression over its command
line. The match is cached and re-checked each scrape (a restarted Mothership
gets a new pid and a new start time)."""

from __future__ import annotations

import re
import threading

import psutil
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from aura_exporter.deadline import Deadline
from aura_exporter.errors import SourceError
from aura_exporter.sources.base import Collected


class ProcessSource:
    name = "process"
    up_metric = ("aura_mothership_process_up", "1 if the Mothership process was found and read, else 0.")
    error_reasons = ("not_found", "pid_file", "access_denied")

    def __init__(self, pid_file: str | None = None, cmdline_pattern: str | None = None) -> None:
        if not pid_file and not cmdline_pattern:
            raise ValueError("the process source needs a pid file or a command-line pattern")
        self.pid_file = pid_file
        self.pattern = re.compile(cmdline_pattern) if cmdline_pattern else None
        self._proc: psutil.Process | None = None
        self._lock = threading.Lock()

    def target(self) -> str:
        return f"pid file {self.pid_file}" if self.pid_file else f"process matching /{self.pattern.pattern}/"

    def _find(self) -> psutil.Process:
        if self.pid_file:
            try:
                with open(self.pid_file, encoding="utf-8") as handle:
                    text = handle.read().strip()
            except OSError as exc:
                raise SourceError("pid_file", f"cannot read pid file {self.pid_file}: {exc.strerror}") from None
            if not text.isdigit():
                raise SourceError("pid_file", f"pid file {self.pid_file} does not hold a pid")
            try:
                return psutil.Process(int(text))
            except psutil.NoSuchProcess:
                raise SourceError("not_found", f"no process with pid {text} (from {self.pid_file})") from None
        own = psutil.Process().pid
        for proc in psutil.process_iter(["pid", "cmdline"]):
            cmdline = " ".join(proc.info.get("cmdline") or [])
            if proc.info["pid"] != own and cmdline and self.pattern.search(cmdline):
                return proc
        raise SourceError("not_found", f"no process matches /{self.pattern.pattern}/")

    def collect(self, deadline: Deadline) -> Collected:
        with self._lock:
            proc = self._proc
            if proc is None or not proc.is_running() or self.pid_file:
                proc = self._proc = self._find()
            try:
                with proc.oneshot():
                    cpu = proc.cpu_times()
                    mem = proc.memory_info()
                    threads = proc.num_threads()
                    started = proc.create_time()
                    fds = proc.num_fds() if hasattr(proc, "num_fds") else None
                    try:
                        cpus = len(proc.cpu_affinity())
                    except (AttributeError, psutil.Error):
                        cpus = psutil.cpu_count()
            except psutil.NoSuchProcess:
                self._proc = None
                raise SourceError("not_found", f"the Mothership process ({proc.pid}) exited") from None
            except psutil.AccessDenied:
                raise SourceError(
                    "access_denied", f"not allowed to read process {proc.pid}; run the exporter as the same user"
                ) from None

        cpu_total = CounterMetricFamily(
            "aura_mothership_process_cpu_seconds", "CPU time used by the Mothership process (user + system)."
        )
        cpu_total.add_metric([], cpu.user + cpu.system)
        out = [cpu_total]
        for name, doc, value in (
            ("aura_mothership_process_resident_memory_bytes", "Resident memory of the Mothership process.", mem.rss),
            ("aura_mothership_process_virtual_memory_bytes", "Virtual memory of the Mothership process.", mem.vms),
            ("aura_mothership_process_threads", "OS threads of the Mothership process.", threads),
            ("aura_mothership_process_start_time_seconds", "Unix time the Mothership process started.", started),
            ("aura_mothership_process_cpus", "CPUs the Mothership process may run on.", cpus),
            ("aura_mothership_process_open_fds", "Open file descriptors of the Mothership process.", fds),
        ):
            if value is None:
                continue
            family = GaugeMetricFamily(name, doc)
            family.add_metric([], float(value))
            out.append(family)
        return Collected(metrics=out)

    def abort(self, deadline: Deadline) -> None:
        pass

    def close(self) -> None:
        pass
