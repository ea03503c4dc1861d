"""One run at a time per workbook home.

Two notebooks writing the same warehouse, sync state and reports at once would corrupt them, so
every run holds ``<home>/run.lock`` (an OS file lock through :mod:`fasteners`: released by the
kernel when the holder dies, so a crash never leaves the home locked) and writes
``<home>/run.lock.pid`` saying who holds it. A PID file whose process is gone is stale: the next
run clears it and says so. A run that finds the lock held gets :class:`LockedError`; the command
line turns that into exit status 75 (``EX_TEMPFAIL``: try again later).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import fasteners

from ..errors import LockedError

LOCK_NAME = "run.lock"
PID_NAME = "run.lock.pid"
#: the exit status of a run refused because the lock is held (sysexits.h EX_TEMPFAIL)
EXIT_LOCKED = 75

#: homes locked by this process: POSIX record locks do not exclude the same process
_held: set[Path] = set()
_held_guard = threading.Lock()


@dataclass(frozen=True)
class Holder:
    """What a PID file says about the run holding the lock."""

    pid: int
    owner: str
    since: str
    host: str

    def describe(self) -> str:
        what = f" ({self.owner})" if self.owner else ""
        return f"PID {self.pid}{what} on {self.host} since {self.since}"


def pid_alive(pid: int) -> bool:
    """True when a process with this PID exists (on this host)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkbookLock:
    """Exclusive lock on a workbook home; use as a context manager.

    ``stale`` is the holder whose leftover PID file was cleared on acquiring, if any.
    """

    def __init__(self, home: Path, *, owner: str = "") -> None:
        self.home = Path(home).resolve()
        self.owner = owner
        self.stale: Holder | None = None
        self._lock = fasteners.InterProcessLock(str(self.home / LOCK_NAME))
        self._pid_path = self.home / PID_NAME
        self._acquired = False

    def holder(self) -> Holder | None:
        """The run named in the PID file, or ``None`` when there is none (or it is unreadable)."""
        try:
            data = json.loads(self._pid_path.read_text(encoding="utf-8"))
            return Holder(int(data["pid"]), str(data.get("owner", "")), str(data.get("since", "?")),
                          str(data.get("host", "?")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def acquire(self) -> WorkbookLock:
        """Take the lock now or raise :class:`LockedError`; never waits."""
        self.home.mkdir(parents=True, exist_ok=True)
        with _held_guard:
            if self.home in _held:
                raise LockedError(f"this process already runs a notebook in {self.home}")
            if not self._lock.acquire(blocking=False):
                holder = self.holder()
                who = holder.describe() if holder else "another process"
                raise LockedError(f"another run holds the workbook lock of {self.home}: {who}")
            _held.add(self.home)
        self._acquired = True
        previous = self.holder()
        if previous is not None and previous.pid != os.getpid():
            # We hold the OS lock, so whoever wrote this file is gone without cleaning up.
            self.stale = previous
        self._write_pid_file()
        return self

    def release(self) -> None:
        """Remove our PID file and let the next run in. Safe to call twice."""
        if not self._acquired:
            return
        try:
            holder = self.holder()
            if holder is not None and holder.pid == os.getpid():
                self._pid_path.unlink(missing_ok=True)
        finally:
            self._lock.release()
            with _held_guard:
                _held.discard(self.home)
            self._acquired = False

    def _write_pid_file(self) -> None:
        record = {
            "pid": os.getpid(),
            "owner": self.owner,
            "since": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "host": socket.gethostname(),
        }
        tmp = self._pid_path.with_name(f"{PID_NAME}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, self._pid_path)

    def __enter__(self) -> WorkbookLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
