"""`scimhub serve --workers 1` as a separate process pinned to one core, with what the
benchmark reads about it: memory (VmRSS / VmHWM) and CPU time from /proc."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from procfs import memory_mib, process_cpu_seconds


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class Server:
    def __init__(self, database_url: str, port: int, core: int, log: Path) -> None:
        self.port = port
        self.log = log
        command = [sys.executable, "-m", "scimhub", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--database-url", database_url, "--workers", "1"]
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Pinned before exec, so every thread the server starts inherits it.
                preexec_fn=lambda: os.sched_setaffinity(0, {core}),
            )
        deadline = time.monotonic() + 60
        while not _healthy(port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"scimhub serve did not start; see {log}")
            time.sleep(0.2)

    def memory_mib(self) -> tuple[float, float]:
        """(resident now, peak resident) in MiB."""
        return memory_mib(self.process.pid)

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
