"""Input files before anything opens them: they must be regular files that can be read.

Opening a named pipe (FIFO) waits for a writer, forever; a device may never
end. So every reader checks the path with :func:`check_file` first, and reads
it with :func:`read_bytes`:

=====================  ==========================================================
missing                ``model file not found``
a folder               ``cannot be read (it is a folder; expected a file)``
a pipe, device, ...    ``is not a regular file (it is a named pipe); expected a
                       file saved on disk``
not allowed            ``cannot be read (Permission denied)``
=====================  ==========================================================
"""

from __future__ import annotations

import stat
from pathlib import Path

from capitation.errors import InputError

__all__ = ["check_file", "read_bytes", "cannot_read"]

_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def cannot_read(path: str | Path, exc: OSError) -> InputError:
    """Return the error for a file the system refused to read: ``cannot be read (...)``."""
    return InputError(f"cannot be read ({exc.strerror or type(exc).__name__})", file=path)


def check_file(path: str | Path, *, what: str = "file") -> Path:
    """Return ``path`` if it is a regular file (or a link to one), without opening it.

    Parameters
    ----------
    path : str or Path
        The input file.
    what : str
        What the file is, for the not-found message (``"model file"``).

    Returns
    -------
    Path

    Raises
    ------
    InputError
        ``{what} not found``, ``cannot be read (it is a folder; expected a
        file)``, ``is not a regular file (it is a named pipe); expected a file
        saved on disk``, or ``cannot be read (...)`` when the system refuses.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=path) from None
    except OSError as exc:
        raise cannot_read(path, exc) from None
    if stat.S_ISDIR(mode):
        raise InputError("cannot be read (it is a folder; expected a file)", file=path)
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "a special file")
        raise InputError(f"is not a regular file (it is {kind}); expected a file saved on disk",
                         file=path)
    return path


def read_bytes(path: str | Path, *, what: str = "file") -> bytes:
    """Return the bytes of a regular file (see :func:`check_file`).

    Raises
    ------
    InputError
        As :func:`check_file`, or ``cannot be read (Permission denied)``.
    """
    path = check_file(path, what=what)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise cannot_read(path, exc) from None
