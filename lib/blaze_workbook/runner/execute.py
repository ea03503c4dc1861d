"""Execute one notebook with papermill, keeping the executed copy in memory.

Two choices matter:

- **The kernel** is named ``python3`` and always runs *this* interpreter (``sys.executable`` with
  ``-m ipykernel_launcher``), whatever kernelspecs the machine has: a ``python3`` kernelspec in
  ``~/.local/share/jupyter`` pointing at another Python would otherwise run the notebook without
  our packages. :class:`ThisInterpreterKernelManager` is handed to papermill's engine.
- **Nothing touches the disk** until the caller has scanned the result for secrets: papermill
  writes its (auto-saved and final) copies through an in-memory I/O handler registered under
  :data:`MEMORY_SCHEME`, so a secret a cell printed is redacted before any file holds it.
"""

from __future__ import annotations

import logging
import math
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import nbformat
import papermill
import zmq
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from papermill.exceptions import PapermillExecutionError
from papermill.iorw import papermill_io
from traitlets import default

from ..redact import redact

KERNEL_NAME = "python3"
MEMORY_SCHEME = "blaze-memory://"


class ThisInterpreterKernelManager(AsyncKernelManager):
    """Kernel manager whose kernel is the running interpreter, not a kernelspec's ``python``.

    Outputs carry business data, so the kernel's sockets are CurveZMQ-encrypted when pyzmq
    supports it (ipykernel declares support; jupyter_client provisions the keys).
    """

    @default("transport_encryption")
    def _encrypt_when_possible(self) -> str:
        return "auto" if zmq.has("curve") else "disabled"

    @property
    def kernel_spec(self) -> KernelSpec:
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name=f"Python {sys.version_info.major}.{sys.version_info.minor} (blaze-workbook)",
                language="python",
                metadata={"debugger": False, "supported_encryption": ["curve"]},
            )
        return self._kernel_spec


class _MemoryIO:
    """papermill I/O handler that keeps notebooks in a dict, keyed by their ``blaze-memory://`` path."""

    store: ClassVar[dict[str, str]] = {}

    @classmethod
    def read(cls, path: str) -> str:
        return cls.store[path]

    @classmethod
    def write(cls, buf: str, path: str) -> None:
        cls.store[path] = buf

    @classmethod
    def listdir(cls, path: str) -> list[str]:
        return [k for k in cls.store if k.startswith(path)]

    @classmethod
    def pretty_path(cls, path: str) -> str:
        return path


def _ensure_memory_io() -> None:
    if papermill_io.get_handler(MEMORY_SCHEME + "probe") is not _MemoryIO:
        papermill_io.register(MEMORY_SCHEME, _MemoryIO)


@contextmanager
def _quiet_papermill() -> Iterator[None]:
    """papermill logs every cell and warns about undeclared parameters (``run_dir``): hush it."""
    logger = logging.getLogger("papermill")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass(frozen=True)
class Execution:
    """An executed notebook (still unscanned) and the error that stopped it, if any."""

    nb: nbformat.NotebookNode
    error: str | None


def execute(
    path: Path,
    parameters: Mapping[str, Any],
    *,
    timeout_s: float | None = None,
    start_timeout_s: float = 60.0,
) -> Execution:
    """Run the notebook at ``path`` with ``parameters`` injected; never raises for a failing cell.

    A cell error, a dead kernel or a timeout all come back as :attr:`Execution.error` with the
    notebook as far as it got, so the caller can still write a report of the failure.
    """
    _ensure_memory_io()
    key = f"{MEMORY_SCHEME}{uuid.uuid4().hex}.ipynb"
    error: str | None = None
    try:
        with _quiet_papermill():
            papermill.execute_notebook(
                str(path),
                key,
                parameters=dict(parameters),
                kernel_name=KERNEL_NAME,
                language="python",
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=True,
                start_timeout=int(start_timeout_s),
                execution_timeout=max(1, math.ceil(timeout_s)) if timeout_s else None,
                kernel_manager_class=ThisInterpreterKernelManager,
            )
    except PapermillExecutionError as exc:
        error = f"{exc.ename}: {exc.evalue} (in cell [{exc.exec_count}])"
    except Exception as exc:  # a dead kernel, a timeout, a broken notebook: report it, don't lose it
        error = f"{type(exc).__name__}: {exc}"
    finally:
        text = _MemoryIO.store.pop(key, None)
    nb = nbformat.reads(text, as_version=4) if text else nbformat.read(str(path), as_version=4)
    return Execution(nb, redact(error) if error else None)
