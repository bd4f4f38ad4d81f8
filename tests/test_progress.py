"""The progress line of long work (emulators.progress): its arithmetic, a live line on a terminal, and nothing at
all anywhere else."""

from __future__ import annotations

import asyncio
import io

from emulators.progress import ERASE, Progress, estimate, render


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_estimate_is_the_mean_rate_so_far_applied_to_what_is_left() -> None:
    assert estimate(5, 20, 10.0) == 30.0  # 2 s each so far, 15 to go
    assert estimate(1, 3, 7.5) == 15.0
    assert estimate(0, 20, 10.0) is None  # nothing done: no rate yet
    assert estimate(3, 20, 0.5) is None  # under a second: no telling yet
    assert estimate(20, 20, 10.0) == 0.0
    assert estimate(25, 20, 10.0) == 0.0


def test_the_line_says_count_share_rate_elapsed_and_time_left() -> None:
    settled = "returns settled  41/61  67%  2.0/s  elapsed 0:00:21  left ~0:00:10"
    assert render("returns settled", 41, 61, 21.0) == settled
    cases = "cases  3/12  25%  6.0/min  elapsed 0:00:30  left ~0:01:30  1 failed"
    assert render("cases", 3, 12, 30.0, "1 failed") == cases
    assert render("pushes", 0, 245, 0.0) == "pushes  0/245  0%  ?/s  elapsed 0:00:00  left ?"
    assert render("pushes", 1, 16, 0.001) == "pushes  1/16  6%  ?/s  elapsed 0:00:00  left ?"  # not a rate yet
    assert render("runs", 0, 0, 3.0) == "runs  0/0  100%  0.0/s  elapsed 0:00:03  left ~0:00:00"
    assert render("returns opened", 9000, 10000, 4000.0).endswith("elapsed 1:06:40  left ~0:07:24")


def test_off_a_terminal_nothing_is_written_and_the_command_s_lines_pass_unchanged() -> None:
    stream, said = io.StringIO(), []
    progress = Progress("cases", 3, stream=stream)
    assert not progress.live
    progress.update(1, detail="1 failed")
    progress.advance()
    progress.say("  PASS a case", said.append)
    progress.close()
    assert stream.getvalue() == "" and said == ["  PASS a case"]


def test_on_a_terminal_one_line_is_redrawn_in_place_at_most_every_tenth_of_a_second_then_erased() -> None:
    clock, stream, said = Clock(), Terminal(), []
    progress = Progress("pushes", 10, stream=stream, clock=clock)
    assert progress.live
    progress.update(0)
    assert stream.getvalue() == "\rpushes  0/10  0%  ?/s  elapsed 0:00:00  left ?" + ERASE
    clock.now += 0.05
    progress.advance()  # too soon to redraw
    assert stream.getvalue().count("\r") == 1
    clock.now += 1.95
    progress.advance()
    assert stream.getvalue().endswith("\rpushes  2/10  20%  1.0/s  elapsed 0:00:02  left ~0:00:08" + ERASE)
    stream.seek(0), stream.truncate()
    progress.say("pushed 2", said.append)  # erased, the line printed, the progress line back under it
    assert said == ["pushed 2"]
    assert stream.getvalue() == "\r" + ERASE + "\rpushes  2/10  20%  1.0/s  elapsed 0:00:02  left ~0:00:08" + ERASE
    stream.seek(0), stream.truncate()
    progress.close()
    assert stream.getvalue() == "\r" + ERASE
    progress.update(3)  # closed: nothing more
    assert stream.getvalue() == "\r" + ERASE


def test_the_clock_starts_with_the_first_update_not_at_creation() -> None:
    clock = Clock()
    progress = Progress("cases", 4, stream=Terminal(), clock=clock)
    clock.now += 30.0  # a dev server starting
    progress.update(0)
    clock.now += 4.0
    progress.update(2)
    assert progress.line() == "cases  2/4  50%  30.0/min  elapsed 0:00:04  left ~0:00:04"


async def test_ticking_keeps_the_line_up_from_a_count_and_erases_it_at_the_end() -> None:
    stream, done = Terminal(), [0]
    progress = Progress("returns settled", 3, stream=stream, every=0.0)
    async with progress.ticking(lambda: done[0], every=0.01):
        await asyncio.sleep(0.05)
        done[0] = 2
        await asyncio.sleep(0.05)
    assert "returns settled  0/3" in stream.getvalue() and "returns settled  2/3  66%" in stream.getvalue()
    assert stream.getvalue().endswith("\r" + ERASE)


async def test_ticking_off_a_terminal_runs_nothing() -> None:
    stream = io.StringIO()
    calls = []
    async with Progress("returns settled", 3, stream=stream).ticking(lambda: calls.append(1) or 0, every=0.01):
        await asyncio.sleep(0.05)
    assert calls == [] and stream.getvalue() == ""
