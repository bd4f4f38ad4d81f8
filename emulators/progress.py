"""Progress of long work, one line shared by the demo, the benches, the chaos soak and `returns flows test`: how
many of how many are done, the time elapsed, the rate and an estimate of the time left.

    returns settled  41/61  67%  2.0/s  elapsed 0:00:21  left ~0:00:10

Where it shows: on standard error, and only when standard error is a terminal. There it is one line redrawn in
place (carriage return, then erase to the end of the line), cut to the terminal's width, and erased when the work
is done: what a command prints on standard output (its tables and summary lines) is the same with it or without.
Anywhere else (CI, a pipe, a file, a test capturing the output) it prints nothing: the command's own lines are the
record there. The estimate is the mean rate since the work started, applied to what is left; none before the
first item is done and a second has passed.

Hand-written rather than `rich`: rich is in requirements-dev.lock only as pip-audit's dependency, declared by
neither distribution, and one line needs no more than this.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import TextIO

ERASE = "\x1b[K"  # erase from the cursor to the end of the line
MEASURED = 1.0  # seconds of work before a rate (and so an estimate) means anything


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def duration(seconds: float) -> str:
    return str(timedelta(seconds=max(round(seconds), 0)))


def estimate(done: int, total: int, elapsed: float) -> float | None:
    """Seconds left at the mean rate so far: None before anything is done or a second has passed."""
    if done >= total:
        return 0.0
    if done <= 0 or elapsed < MEASURED:
        return None
    return (total - done) * elapsed / done


def rate(done: int, elapsed: float) -> str:
    if elapsed < MEASURED:
        return "?/s"
    per_second = done / elapsed
    return f"{per_second:.1f}/s" if per_second >= 1 or done == 0 else f"{per_second * 60:.1f}/min"


def render(label: str, done: int, total: int, elapsed: float, detail: str = "") -> str:
    left = estimate(done, total, elapsed)
    parts = [
        label,
        f"{done}/{total}",
        f"{100 * done // total if total else 100}%",
        rate(done, elapsed),
        f"elapsed {duration(elapsed)}",
        f"left ~{duration(left)}" if left is not None else "left ?",
    ]
    return "  ".join(parts + ([detail] if detail else []))


class Progress:
    """One piece of long work. `update`/`advance` as it goes (cheap when nothing is shown: call it freely);
    `say` for a line of the command's own output while the progress line is up; `close` (or the `with`/`ticking`
    block's end) erases it. The clock starts at the first `update` or `ticking`, not at creation."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        stream: TextIO | None = None,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = 0.1,
    ) -> None:
        self.label, self.total = label, total
        self.stream = stream if stream is not None else sys.stderr
        self.live = is_terminal(self.stream) if live is None else live
        self.clock = clock
        self.every = every  # at most one redraw per this many seconds
        self.started: float | None = None  # the first update or `ticking` starts the clock
        self.done = 0
        self.detail = ""
        self._drawn_at: float | None = None
        self._shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def line(self) -> str:
        elapsed = self.clock() - self.started if self.started is not None else 0.0
        return render(self.label, self.done, self.total, elapsed, self.detail)

    def start(self) -> None:
        if self.started is None:
            self.started = self.clock()

    def update(self, done: int | None = None, *, detail: str | None = None) -> None:
        self.start()
        if done is not None:
            self.done = done
        if detail is not None:
            self.detail = detail
        if self.live and (self._drawn_at is None or self.clock() - self._drawn_at >= self.every):
            self._draw()

    def advance(self, count: int = 1) -> None:
        self.update(self.done + count)

    def _draw(self) -> None:
        width = shutil.get_terminal_size().columns
        self.stream.write("\r" + self.line()[: max(width - 1, 10)] + ERASE)
        self.stream.flush()
        self._drawn_at = self.clock()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r" + ERASE)
            self.stream.flush()
            self._shown = False

    def say(self, text: str, out: Callable[[str], None] = print) -> None:
        """A line of the command's own output, above the progress line."""
        self.clear()
        out(text)
        if self.live:
            sys.stdout.flush()  # the line is out before the progress line comes back under it
            self._draw()

    def above(self, out: Callable[[str], None]) -> Callable[[str], None]:
        """`out` (print, a `say` callback) made to print above the progress line."""
        return lambda text: self.say(text, out)

    def close(self) -> None:
        self.clear()
        self.live = False

    @contextlib.asynccontextmanager
    async def ticking(self, count: Callable[[], int] | None = None, every: float = 0.5) -> AsyncIterator[Progress]:
        """The line kept up while the block runs: redrawn every `every` seconds (so the elapsed time moves while
        nothing finishes), with the count read from `count` when given. Erased at the end. Nothing runs when the
        line is not shown."""
        self.start()
        task: asyncio.Task[None] | None = None
        if self.live:

            async def tick() -> None:
                while True:
                    self.update(count() if count is not None else None)
                    await asyncio.sleep(every)

            task = asyncio.create_task(tick())
        try:
            yield self
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self.close()
