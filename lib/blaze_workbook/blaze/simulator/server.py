"""Running a simulator: uvicorn in a thread (:func:`serve`), in a child process
(:func:`start_background`), or in the foreground for ``blaze-workbook simulate``
(:func:`run_foreground`).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import uvicorn

from ...errors import ConfigurationError
from ...redact import redact
from .app import build_app, quiet_cut_connections
from .dataset import Dataset
from .endpoints import PREFIX
from .engine import Engine
from .faults import Faults
from .settings import SimulatorConfig


class Simulator:
    """A simulator served from a thread of this process; see :func:`serve`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        #: base URL without the API path, e.g. ``http://127.0.0.1:8088``
        self.url = url

    @property
    def api_url(self) -> str:
        return self.url + PREFIX

    @property
    def config(self) -> SimulatorConfig:
        return self.engine.config

    @property
    def dataset(self) -> Dataset:
        return self.engine.dataset

    @property
    def faults(self) -> Faults:
        return self.engine.injector.faults

    def keys_headers(self) -> dict[str, str]:
        """Headers with the accepted keys, for tests and notebooks talking to this simulator."""
        partner, developer = self.config.accepted_keys()
        return {"partner_key": partner, "x-api-key": partner, "Authorization": developer}

    def stats(self) -> dict[str, Any]:
        return self.engine.stats_snapshot()

    def reset_stats(self) -> None:
        self.engine.stats.reset()

    def step(self, n: int = 1) -> list[dict[str, Any]]:
        """Apply the next ``n`` live events (member edits, new sales, refunds, price changes)."""
        return self.engine.step(n)

    def amend(self, entity: str, id: str, *, deleted: bool | None = None, modified_ms: int | None = None) -> dict[str, Any]:
        """Delete a member or product in Blaze (``deleted=True``, ``modified`` bumped to now), or
        set its ``modified`` (e.g. a late write in the past); see ``POST /_sim/amend``."""
        amended = self.engine.amend(entity, id, deleted=deleted, modified_ms=modified_ms)
        if amended is None:
            raise ConfigurationError(f"no {entity} record {id!r} to amend")
        return amended

    def set_faults(self, **changes: Any) -> Faults:
        """Change faults while serving, e.g. ``sim.set_faults(error_rate=0.1)``."""
        return self.engine.set_faults(**changes)

    def truth(self) -> dict[str, pl.DataFrame]:
        with self.engine.lock:
            return self.dataset.truth()

    def export_truth(self, directory: str | Path) -> list[Path]:
        with self.engine.lock:
            return self.dataset.export_truth(Path(directory))

    def __repr__(self) -> str:
        return f"Simulator(url={self.url!r}, scale={self.config.scale!r}, seed={self.config.seed})"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted sockets only when it does, and
    # without it Nagle holds each keep-alive answer's body for the client's delayed ACK (~40 ms)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc}", hint="pick another --port") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.contextmanager
def serve(config: SimulatorConfig | None = None, *, dataset: Dataset | None = None,
          ready_timeout: float = 30.0) -> Iterator[Simulator]:
    """Serve a simulator on ``config.host`` (port 0 = a free one) from a daemon thread.

    Yields once the server accepts connections; stops it cleanly on exit.
    """
    config = config or SimulatorConfig()
    engine = Engine(config, dataset)
    sock = _bind(config.host, config.port)
    port = sock.getsockname()[1]
    quiet_cut_connections()
    server = uvicorn.Server(uvicorn.Config(
        build_app(engine=engine), log_config=None, log_level=config.log_level, access_log=False,
        lifespan="off", timeout_graceful_shutdown=2, timeout_keep_alive=30,
    ))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"blaze-simulator-{port}")
    thread.start()
    try:
        deadline = time.monotonic() + ready_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigurationError(f"the simulator did not start on {config.host}:{port}")
            time.sleep(0.01)
        yield Simulator(engine, _url(config.host, port))
    finally:
        server.should_exit = True
        thread.join(10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        sock.close()


# -- a child process ---------------------------------------------------------------------------
def config_args(config: SimulatorConfig) -> list[str]:
    """``simulate`` options for ``config`` (keys travel in the environment, never in argv)."""
    args = ["--host", config.host, "--port", str(config.port), "--scale", config.scale,
            "--seed", str(config.seed), "--rate-limit-calls", str(config.rate_limit_calls),
            "--rate-limit-seconds", str(config.rate_limit_seconds),
            "--live-events-per-call", str(config.live_events_per_call), "--log-level", config.log_level]
    if config.now_ms is not None:
        args += ["--now", str(config.now_ms)]
    for f in fields(Faults):
        value = getattr(config.faults, f.name)
        flag = "--fault-" + f.name.replace("_", "-")
        args += [flag if value else "--no-" + flag[2:]] if isinstance(value, bool) else [flag, str(value)]
    return args


class BackgroundSimulator:
    """A simulator in a child process; stopped by :meth:`stop`, at exit at the latest."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.process = process
        self.url = url
        self.log = log
        atexit.register(self.stop)

    @property
    def api_url(self) -> str:
        return self.url + PREFIX

    @property
    def pid(self) -> int:
        return self.process.pid

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(self.url + "/_sim/stats", timeout=10).json()
        return stats

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after ``timeout``); idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        atexit.unregister(self.stop)

    def __enter__(self) -> BackgroundSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"BackgroundSimulator(url={self.url!r}, pid={self.pid})"


def start_background(config: SimulatorConfig | None = None, *, ready_timeout: float = 300.0) -> BackgroundSimulator:
    """Start ``python -m blaze_workbook.blaze.simulator`` and wait until it serves."""
    config = config or SimulatorConfig()
    workdir = Path(tempfile.mkdtemp(prefix="blaze-sim-"))
    ready, log = workdir / "ready", workdir / "simulator.log"
    partner, developer = config.accepted_keys()
    env = {**os.environ, "BLAZE_PARTNER_KEY": partner, "BLAZE_DEVELOPER_KEY": developer}
    cmd = [sys.executable, "-m", "blaze_workbook.blaze.simulator", *config_args(config),
           "--ready-file", str(ready), "--parent-pid", str(os.getpid())]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + ready_timeout
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            tail = log.read_text(errors="replace")[-2000:]
            raise ConfigurationError(f"the background simulator did not start: {redact(tail)}")
        time.sleep(0.05)
    return BackgroundSimulator(process, ready.read_text().strip(), log)


# -- the foreground command --------------------------------------------------------------------
def write_ready_file(path: Path, url: str) -> None:
    """Write ``url`` atomically, so a watcher never reads half a line."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(url + "\n")
    tmp.replace(path)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


#: young-generation threshold of a simulator process: a page renders ~10^5 short-lived, acyclic
#: dicts (freed by reference counting), and the default 700 spends 10-15% of a page in collections
GC_THRESHOLD = (200_000, 20, 100)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_foreground(config: SimulatorConfig, *, ready_file: Path | None = None, export_truth: Path | None = None,
                   parent_pid: int | None = None, echo: Any = print) -> None:
    """``blaze-workbook simulate``: serve until Ctrl-C or SIGTERM, or export the truth and return.

    ``parent_pid`` (set by :func:`start_background`): also stop once that process is gone, so a
    crashed parent leaves no simulator behind.
    """
    if export_truth is not None:
        from .presets import DEFAULT_NOW_MS

        ds = Dataset.generate(scale=config.scale, seed=config.seed, now_ms=config.now_ms or DEFAULT_NOW_MS)
        for path in ds.export_truth(Path(export_truth)):
            echo(str(path))
        return
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if main else None
    if ready_file is not None:
        Path(ready_file).unlink(missing_ok=True)
    gc_threshold = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        with contextlib.suppress(KeyboardInterrupt), serve(config) as sim:
            echo(f"Blaze simulator (scale {config.scale}, seed {config.seed}) serving at {sim.url}")
            echo(f"API root {sim.api_url}; Ctrl-C stops it")
            if ready_file is not None:
                write_ready_file(Path(ready_file), sim.url)
            while parent_pid is None or _alive(parent_pid):
                time.sleep(0.2)
    finally:
        gc.set_threshold(*gc_threshold)
        if main:
            signal.signal(signal.SIGTERM, previous)
        if ready_file is not None:
            Path(ready_file).unlink(missing_ok=True)
