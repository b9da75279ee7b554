"""Ctrl-C and SIGTERM in the command lines: stop cleanly, leave no temporary file.

Python turns Ctrl-C (SIGINT) into :class:`KeyboardInterrupt`, so ``finally``
blocks run and :func:`capitation.files.atomic_path` removes its hidden
temporary file. SIGTERM (what ``kill``, a scheduler or a container stop sends)
ends the process at once by default, leaving that file behind;
:func:`sigterm_raises` turns it into :class:`Terminated` so the same cleanup
runs. :func:`stopped` gives the one line a command line prints and its exit
status (130 after Ctrl-C, 143 after SIGTERM: 128 + the signal number).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

__all__ = ["Terminated", "sigterm_raises", "stopped"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that cleanup runs as for Ctrl-C."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated`; the old handler comes back after.

    Outside the main thread (where Python cannot set signal handlers) the block
    runs unchanged.

    Yields
    ------
    None
    """
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stopped(error: KeyboardInterrupt, written: Sequence[str | Path] = ()) -> tuple[str, int]:
    """Return the line to print and the exit status after Ctrl-C or SIGTERM.

    Parameters
    ----------
    error : KeyboardInterrupt
        What stopped the run (:class:`Terminated` for SIGTERM).
    written : sequence of str or Path
        Outputs already complete when it stopped (an output being written is
        not: its temporary file is removed and the old file, if any, kept).

    Returns
    -------
    tuple of (str, int)
        ``"interrupted: nothing written"`` and 130 after Ctrl-C;
        ``"terminated: ..."`` and 143 after SIGTERM.
    """
    terminated = isinstance(error, Terminated)
    what = "terminated" if terminated else "interrupted"
    if written:
        done = f"only {', '.join(str(p) for p in written)} written"
    else:
        done = "nothing written"
    return f"{what}: {done}", 128 + (signal.SIGTERM if terminated else signal.SIGINT)
