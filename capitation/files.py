"""Atomic writes, output paths checked against inputs, and input-file hashes for provenance.

An output is written to a hidden temporary file beside it (``.<stem>.*``),
flushed to disk, given the mode the user's umask asks for, and renamed over
the target in one step, so a reader never sees half a file and an interrupted
or failed write leaves the target untouched. :func:`check_output_path` is what
the command lines run before computing anything: an output may never replace
a file the run reads, a read-only file, or a folder, and its folder must exist.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from capitation.errors import InputError

__all__ = ["atomic_path", "write_atomically", "check_output_path", "check_output_folder",
           "os_error_message", "sha256_of"]


def _umask() -> int:
    """Return the process umask without changing it for longer than a moment.

    Linux reports it in ``/proc/self/status`` (``Umask:`` line), which is read
    without touching it; elsewhere it is set to 0 and restored at once.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (the rename) to disk where the system allows it."""
    if not hasattr(os, "O_DIRECTORY"):  # Windows: folders cannot be opened
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems (network shares) refuse; the rename stands
        pass
    finally:
        os.close(fd)


def _create_new(path: Path) -> None:
    """Make an empty file readable and writable by its owner only; fail if it exists."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                     0o600))


def _naming_target(exc: OSError, target: Path) -> OSError:
    """Return the same error naming ``target``, never the hidden temporary file."""
    return type(exc)(exc.errno, exc.strerror or str(exc), str(target))


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    The temporary file is flushed to disk before the rename, and given the mode
    a new file gets under the process umask (``0o666 & ~umask``), so colleagues
    on a shared drive can open it as they would any other file. An interrupted
    or failed write (an exception, Ctrl-C, or a SIGTERM the command lines turn
    into an exception) leaves no half-written file: the temporary file is
    removed and ``target`` is untouched.

    Parameters
    ----------
    target : str or Path
        The file to write; its folder is made if missing (the command lines
        refuse an ``--out`` whose folder does not exist before calling this:
        :func:`check_output_path`).

    Yields
    ------
    Path
        A temporary path in the same folder, with the same suffix.

    Raises
    ------
    OSError
        When the folder cannot be made or written, or the write fails; the
        error names ``target``, never the temporary file.
    """
    target = Path(target)
    folder = target.parent
    tmp_path: Path | None = None
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _naming_target(exc, target) from None
        # Named before it is made (not tempfile.mkstemp), so that a signal arriving just
        # after the file appears still finds it in tmp_path and the cleanup removes it.
        for _ in range(100):
            tmp_path = folder / f".{target.stem}.{secrets.token_hex(6)}{target.suffix}"
            try:
                _create_new(tmp_path)
                break
            except FileExistsError:  # someone else's: never ours to remove
                tmp_path = None
            except OSError as exc:
                tmp_path = None
                raise _naming_target(exc, target) from None
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary file name", str(target))
        try:
            yield tmp_path
        except OSError as exc:
            if exc.filename is not None and Path(exc.filename) == tmp_path:
                raise _naming_target(exc, target) from None
            raise
        try:
            fd = os.open(tmp_path, os.O_RDWR)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(tmp_path, 0o666 & ~_umask())
            os.replace(tmp_path, target)
        except OSError as exc:
            raise _naming_target(exc, target) from None
        tmp_path = None
        _fsync_folder(folder)
    finally:
        if tmp_path is not None:
            tmp_path.unlink(missing_ok=True)


def write_atomically(target: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result over ``target``.

    Parameters
    ----------
    target : str or Path
        The file to write (see :func:`atomic_path`).
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


def _same(a: Path, b: Path) -> bool:
    """Whether two existing paths are one file (device and inode: symlinks, hard links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _clash(path: Path, shown: str, inputs: Mapping[str, str | Path],
           option: str) -> InputError | None:
    """Return the error for an output that is, or lies in, an input (None if none)."""
    ancestors = [p for p in path.absolute().parents if p.exists()]
    for label, given in inputs.items():
        source = Path(given)
        if not source.exists():
            continue
        kind = "folder" if source.is_dir() else "file"
        if path.exists() and _same(path, source):
            return InputError(f"{option} {shown} would overwrite the {label} {kind} {given}: "
                              "inputs are never modified")
        if kind == "folder" and any(_same(parent, source) for parent in ancestors):
            return InputError(f"{option} {shown} would write inside the {label} folder "
                              f"{given}: inputs are never modified")
    return None


def _check_folder_of(path: Path, shown: str, option: str) -> None:
    folder = path.absolute().parent
    named = folder if str(path.parent) == "." else path.parent
    if not folder.exists():
        raise InputError(f"{option} {shown}: the folder {named} does not exist")
    if not folder.is_dir():
        raise InputError(f"{option} {shown}: {named} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"{option} {shown}: the folder {named} cannot be written "
                         "(permission denied)")


def check_output_path(out: str | Path, inputs: Mapping[str, str | Path] | None = None,
                      option: str = "--out") -> Path:
    """Refuse an output file that would replace an input, or that cannot be written.

    Run before anything is computed, so a refused run writes nothing.

    Parameters
    ----------
    out : str or Path
        The output file, as the user gave it (named in the message).
    inputs : mapping of str to str or Path, optional
        Every file or folder the run reads, by label (``"model"``,
        ``"baseline"``, ...), as ``Model.input_files`` and
        ``Agreement.input_files`` give them.
    option : str
        How the message names the output (``"--out"``).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    InputError
        When ``out`` is the same file as an input (after symbolic and hard
        links: same device and inode), lies inside an input folder, is an
        existing folder, is read-only, or its folder does not exist or cannot
        be written.
    """
    path, shown = Path(out), str(out)
    clash = _clash(path, shown, inputs or {}, option)
    if clash is not None:
        raise clash
    if path.is_dir():
        raise InputError(f"{option} {shown} is a folder; expected a file name")
    _check_folder_of(path, shown, option)
    if path.exists():
        writable = path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        if not writable or not os.access(path, os.W_OK):
            raise InputError(f"{option} {shown} is read-only; make it writable or choose "
                             "another file")
    return path


def check_output_folder(folder: str | Path, inputs: Mapping[str, str | Path] | None = None,
                        option: str = "--charts") -> Path:
    """Refuse an output folder that is a file, lies in an input folder, or has no parent.

    The folder itself is made when missing; its parent must exist.

    Parameters
    ----------
    folder : str or Path
        The output folder, as the user gave it (named in the message).
    inputs : mapping of str to str or Path, optional
        Every file or folder the run reads, by label.
    option : str
        How the message names the folder (``"--charts"``).

    Returns
    -------
    Path
        ``folder``.

    Raises
    ------
    InputError
        When ``folder`` is an existing file, is or lies inside an input folder,
        or its parent folder does not exist or cannot be written.
    """
    path, shown = Path(folder), str(folder)
    clash = _clash(path, shown, inputs or {}, option)
    if clash is not None:
        raise clash
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {shown} is a file; expected a folder")
    if not path.exists():
        _check_folder_of(path, shown, option)
    return path


def os_error_message(error: OSError) -> str:
    """One line for a failed read or write: the file it names, then what went wrong.

    Parameters
    ----------
    error : OSError
        As :func:`atomic_path` raises it, naming the target, never its temporary file.

    Returns
    -------
    str
        ``"out.xlsx: No space left on device"``.
    """
    if error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


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
