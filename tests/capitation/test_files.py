"""capitation/files.py: atomic writes and output paths checked against inputs."""

from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest

from capitation import files
from capitation.errors import InputError
from capitation.files import atomic_path, check_output_folder, check_output_path, write_atomically
from capitation.interrupts import Terminated, stopped


@contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------ atomic writes


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_file_mode_follows_the_umask(tmp_path, mask, mode):
    # A new file gets 0o666 & ~umask (POSIX open(2)); mkstemp alone gives 0o600 whatever
    # the umask, which colleagues on a shared drive cannot open.
    with umask(mask):
        write_atomically(tmp_path / "out.csv", lambda tmp: tmp.write_text("a\n"))
    assert stat.S_IMODE((tmp_path / "out.csv").stat().st_mode) == mode


def test_umask_is_read_without_changing_it(tmp_path):
    with umask(0o027):
        assert files._umask() == 0o027
        assert os.umask(0o027) == 0o027  # still what it was


def test_file_is_flushed_to_disk_before_the_rename(tmp_path, monkeypatch):
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    seen = []
    real_fsync = os.fsync

    def fsync(fd):
        seen.append((os.readlink(f"/proc/self/fd/{fd}") if Path("/proc/self/fd").exists()
                     else None, target.read_text()))
        real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync)
    write_atomically(target, lambda tmp: tmp.write_text("new\n"))
    assert target.read_text() == "new\n"
    # First the temporary file (target still old), then the folder after the rename.
    assert seen[0][1] == "old\n"
    if seen[0][0] is not None:
        assert Path(seen[0][0]).name.startswith(".out.")
        assert Path(seen[-1][0]) == tmp_path
    assert len(seen) == 2


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n")

    def fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_atomically(target, fail)
    assert target.read_text() == "old\n" and hidden(tmp_path) == []


@pytest.mark.parametrize("stop", [KeyboardInterrupt, Terminated])
def test_an_interrupted_write_leaves_no_temporary_file(tmp_path, stop):
    def interrupted(tmp):
        tmp.write_text("half")
        raise stop()

    with pytest.raises(KeyboardInterrupt):
        write_atomically(tmp_path / "out.csv", interrupted)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_made_by_the_library(tmp_path):
    # Library callers (Results.to_excel, save_png) get their folder made; the command lines
    # refuse an --out whose folder does not exist before writing (check_output_path).
    write_atomically(tmp_path / "new" / "out.csv", lambda tmp: tmp.write_text("a"))
    assert (tmp_path / "new" / "out.csv").read_text() == "a"
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError) as error:
        write_atomically(tmp_path / "file" / "out.csv", lambda tmp: None)
    assert error.value.filename == str(tmp_path / "file" / "out.csv")


def test_errors_name_the_target_never_the_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "out.xlsx"

    def full_disk(tmp):
        raise OSError(28, "No space left on device", str(tmp))

    with pytest.raises(OSError) as error:
        write_atomically(target, full_disk)
    assert error.value.filename == str(target) and error.value.errno == 28
    assert ".out." not in str(error.value)

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(files, "_create_new", denied)
    with pytest.raises(PermissionError) as error:
        write_atomically(target, lambda tmp: None)
    assert error.value.filename == str(target) and ".out." not in str(error.value)
    assert files.os_error_message(error.value) == f"{target}: Permission denied"
    assert hidden(tmp_path) == []


def test_atomic_path_yields_a_hidden_sibling(tmp_path):
    with atomic_path(tmp_path / "out.xlsx") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".out.") and tmp.suffix == ".xlsx"
        tmp.write_bytes(b"x")
    assert (tmp_path / "out.xlsx").read_bytes() == b"x" and hidden(tmp_path) == []


# ------------------------------------------------------------------ check_output_path


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "model.toml").write_text("x = 1\n")
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "part-00000.parquet").write_bytes(b"PAR1")
    return {"model": tmp_path / "model.toml", "persons": tmp_path / "parts"}


def test_a_new_output_beside_the_inputs_is_fine(tmp_path, inputs):
    assert check_output_path(tmp_path / "out.xlsx", inputs) == tmp_path / "out.xlsx"
    (tmp_path / "old.xlsx").write_text("old")
    assert check_output_path(tmp_path / "old.xlsx", inputs) == tmp_path / "old.xlsx"


def test_an_output_that_is_an_input_is_refused(tmp_path, inputs, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink("model.toml", "link.xlsx")
    os.link("model.toml", "hard.xlsx")
    (tmp_path / "sub").mkdir()
    for out in ["model.toml", "./sub/../model.toml", "link.xlsx", "hard.xlsx",
                str(tmp_path / "model.toml")]:
        with pytest.raises(InputError) as error:
            check_output_path(out, inputs)
        assert str(error.value) == (f"--out {out} would overwrite the model file "
                                    f"{tmp_path / 'model.toml'}: inputs are never modified")


def test_an_output_in_or_at_an_input_folder_is_refused(tmp_path, inputs):
    parts = tmp_path / "parts"
    with pytest.raises(InputError, match="would overwrite the persons folder"):
        check_output_path(parts, inputs)
    for out in [parts / "part-00000.parquet", parts / "new.xlsx"]:
        with pytest.raises(InputError, match=f"--out {out} would write inside the persons "
                                             "folder .*: inputs are never modified"):
            check_output_path(out, inputs)
    os.symlink(parts, tmp_path / "alias")
    with pytest.raises(InputError, match="would write inside the persons folder"):
        check_output_path(tmp_path / "alias" / "new.xlsx", inputs)
    with pytest.raises(InputError, match="--charts .* would write inside the persons folder"):
        check_output_folder(parts / "charts", inputs)


def test_unusable_outputs_are_refused_with_the_path_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "ro.xlsx").write_text("kept")
    (tmp_path / "ro.xlsx").chmod(0o444)
    (tmp_path / "file.txt").write_text("")
    cases = {
        "folder": "--out folder is a folder; expected a file name",
        "absent/out.xlsx": "--out absent/out.xlsx: the folder absent does not exist",
        "ro.xlsx": "--out ro.xlsx is read-only; make it writable or choose another file",
        "file.txt/out.xlsx": "--out file.txt/out.xlsx: file.txt is not a folder",
    }
    for out, message in cases.items():
        with pytest.raises(InputError) as error:
            check_output_path(out, {})
        assert str(error.value) == message
    assert not (tmp_path / "absent").exists() and (tmp_path / "ro.xlsx").read_text() == "kept"


def test_an_output_in_a_folder_that_cannot_be_written_is_refused(tmp_path, monkeypatch):
    # Root may write anywhere, so the permission check itself is made to say no.
    real_access = os.access
    monkeypatch.setattr(files.os, "access", lambda path, mode: (
        Path(path) != tmp_path and real_access(path, mode)))
    with pytest.raises(InputError, match=f"--out {tmp_path / 'out.xlsx'}: the folder "
                                         f"{tmp_path} cannot be written"):
        check_output_path(tmp_path / "out.xlsx", {})


def test_charts_folder_is_made_but_its_parent_must_exist(tmp_path):
    assert check_output_folder(tmp_path / "charts") == tmp_path / "charts"
    (tmp_path / "charts.png").write_text("")
    with pytest.raises(InputError, match="--charts .*charts.png is a file; expected a folder"):
        check_output_folder(tmp_path / "charts.png")
    with pytest.raises(InputError, match="--charts .*: the folder .*absent does not exist"):
        check_output_folder(tmp_path / "absent" / "charts")


# ------------------------------------------------------------------ interrupts


def test_stopped_says_what_was_written_and_the_exit_status():
    # 128 + signal number: SIGINT is 2, SIGTERM is 15 (POSIX shells' convention).
    assert stopped(KeyboardInterrupt()) == ("interrupted: nothing written", 130)
    assert stopped(Terminated()) == ("terminated: nothing written", 143)
    assert stopped(KeyboardInterrupt(), ["out.xlsx"]) == ("interrupted: only out.xlsx written",
                                                         130)
