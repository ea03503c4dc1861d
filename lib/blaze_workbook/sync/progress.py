"""Progress of a sync as events, and two displays: tqdm bars in notebooks, rich on the terminal.

The engine only calls ``progress(event)``; what a person sees is chosen by the caller, so the
engine stays free of display code and tests can record events (or stop a run at a given page).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from tqdm.contrib.logging import logging_redirect_tqdm


@dataclass(frozen=True)
class Progress:
    """One step of a run.

    ``kind``: ``start`` (an entity's phase begins; ``windows`` in it, ``done`` already, ``message``
    the phase: ``''`` or ``tail``), ``page`` (a page stored;
    ``records`` in it), ``window`` (a window done), ``done`` (the entity finished; ``records``
    in all), ``skip`` (cadence), ``failed``, ``push``.
    """

    kind: str
    entity: str
    windows: int = 0
    done: int = 0
    records: int = 0
    message: str = ""


ProgressCallback = Callable[[Progress], None]


class TqdmProgress:
    """One ``tqdm.auto`` bar for the entities running at the time, counting their windows; each
    entity's records in the postfix.

    The entities run side by side (:mod:`.together`): a bar each would interleave their redraws
    in a text stream (a papermill run, its report), and a report would show bars stuck at 0%.
    One bar grows as entities start (a tail phase adds its windows) and closes, in its final
    state, when none is running; an entity that starts later gets the next bar.
    """

    def __init__(self, **tqdm_kwargs: Any) -> None:
        with warnings.catch_warnings():  # without ipywidgets tqdm.auto falls back to text, and says so
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm

        self._tqdm = tqdm
        #: what the open bar set up (the log redirection), undone when it closes
        self._open = ExitStack()
        self._kwargs = {"leave": True, "unit": "window", "mininterval": 0.5, **tqdm_kwargs}
        self._bar: Any = None
        #: the entities running now, and every entity the open bar has counted
        self._running: list[str] = []
        self._counted: list[str] = []
        self._records: dict[str, int] = {}

    def __call__(self, event: Progress) -> None:
        if event.kind == "start":
            if event.entity not in self._running:
                self._running.append(event.entity)
            if event.entity not in self._counted:
                self._counted.append(event.entity)
            self._records.setdefault(event.entity, 0)
            if self._bar is None:  # drawn at once with its name and size
                self._bar = self._tqdm(total=event.windows, initial=event.done, desc=event.entity, **self._kwargs)
                # the workbook's log lines (a retried call) go through tqdm.write while the bar is
                # open: printed between its redraws they would split it into lines of its own
                self._open.enter_context(logging_redirect_tqdm(loggers=[logging.getLogger("blaze_workbook")], tqdm_class=self._tqdm))
            else:
                self._bar.total += event.windows
                self._bar.update(event.done)
                self._bar.set_description("+".join(self._counted), refresh=False)
            self._postfix()
        elif event.entity not in self._running:
            if event.kind in ("skip", "failed", "push") and event.message:
                self._tqdm.write(event.message, file=self._kwargs.get("file"))
        elif event.kind == "page":
            self._records[event.entity] += event.records
            self._postfix()
        elif event.kind == "window":
            self._bar.update(1)
        elif event.kind in ("done", "failed"):
            self._running.remove(event.entity)
            if event.kind == "failed" and event.message:
                self._tqdm.write(event.message, file=self._kwargs.get("file"))
            if not self._running:
                self._postfix()
                self._bar.close()
                self._open.close()
                self._bar, self._counted = None, []

    def _postfix(self) -> None:
        self._bar.set_postfix_str(", ".join(f"{e} {self._records[e]:,} records" for e in self._counted), refresh=False)


class RichProgress:
    """A ``rich`` progress display (for the command line); use as a context manager."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self._bars = Bars(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[records]:,} records"), TimeElapsedColumn(), console=console)
        self._tasks: dict[str, Any] = {}
        self._records: dict[str, int] = {}

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def __call__(self, event: Progress) -> None:
        task = self._tasks.get(event.entity)
        if event.kind == "start":
            if task is None:
                task = self._tasks[event.entity] = self._bars.add_task(event.entity, total=event.windows, records=0)
                self._records[event.entity] = 0
            self._bars.update(task, description=f"{event.entity} {event.message}".strip(), total=event.windows,
                              completed=event.done)
        elif task is None:
            if event.message:
                self._bars.console.print(event.message)
        elif event.kind == "page":
            self._records[event.entity] += event.records
            self._bars.update(task, records=self._records[event.entity])
        elif event.kind == "window":
            self._bars.advance(task)
        elif event.kind in ("done", "failed") and event.message:
            self._bars.console.print(event.message)


def tqdm_progress(**tqdm_kwargs: Any) -> TqdmProgress:
    """Progress bars for a notebook."""
    return TqdmProgress(**tqdm_kwargs)


__all__ = ["Progress", "ProgressCallback", "RichProgress", "TqdmProgress", "tqdm_progress"]
