"""Progress of a sync as events, and two displays: tqdm bars in notebooks, rich on the terminal.

The engine only calls ``progress(event)``; what a person sees is chosen by the caller, so the
engine stays free of display code and tests can record events (or stop a run at a given page).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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
    """One ``tqdm.auto`` bar per entity, counting windows; records in the postfix."""

    def __init__(self, **tqdm_kwargs: Any) -> None:
        with warnings.catch_warnings():  # without ipywidgets tqdm.auto falls back to text, and says so
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._kwargs = {"leave": True, "unit": "window", "mininterval": 0.5, **tqdm_kwargs}
        self._bars: dict[str, Any] = {}
        self._records: dict[str, int] = {}

    def __call__(self, event: Progress) -> None:
        bar = self._bars.get(event.entity)
        if event.kind == "start":
            if bar is not None:  # the next phase (the tail) gets a bar of its own
                bar.close()
            desc = f"{event.entity} {event.message}".strip()
            bar = self._bars[event.entity] = self._tqdm(total=event.windows, initial=event.done, desc=desc, **self._kwargs)
            self._records.setdefault(event.entity, 0)
        elif bar is None:
            if event.kind in ("skip", "failed", "push"):
                self._tqdm.write(event.message, file=self._kwargs.get("file"))
            return
        elif event.kind == "page":
            self._records[event.entity] += event.records
            bar.set_postfix(records=self._records[event.entity], refresh=False)
        elif event.kind == "window":
            bar.update(1)
        elif event.kind in ("done", "failed"):
            bar.set_postfix_str(event.message[:60] or f"{self._records[event.entity]:,} records")
            bar.close()
            self._bars.pop(event.entity, None)


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
