"""Atomic writes and input-file hashes for provenance."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

__all__ = ["atomic_path", "write_atomically", "sha256_of"]


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    An interrupted or failed write leaves no half-written file: the temporary
    file is removed and ``target`` is untouched.

    Parameters
    ----------
    target : str or Path
        The file to write.

    Yields
    ------
    Path
        A temporary path in the same folder, with the same suffix.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_atomically(target: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result over ``target``.

    Parameters
    ----------
    target : str or Path
        The file to write.
    write : callable
        Writes the whole file at the path it is given.

    Returns
    -------
    Path
        ``target``.
    """
    with atomic_path(target) as tmp:
        write(tmp)
    return Path(target)


def sha256_of(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file (or of every file in a folder, in name order)."""
    digest = hashlib.sha256()
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with open(file, "rb") as handle:
            for block in iter(partial(handle.read, 1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
