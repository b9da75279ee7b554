"""Recalculate workbooks with LibreOffice (headless), to check live formulas.

LibreOffice normally keeps the values cached in an ``.xlsx`` file. A
throwaway user profile whose ``registrymodifications.xcu`` sets
``OOXMLRecalcMode`` (and ``ODFRecalcMode``) to 0, "always recalculate",
makes it recalculate every formula on load; converting ``xlsx`` → ``xlsx``
then stores the recalculated values, which any reader (calamine, openpyxl
``data_only``) sees. The tests compare them with the values Python cached.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["soffice", "recalculate", "only_sheet", "to_pdf", "pdf_pages", "page_png",
           "page_text"]

_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    """Return the LibreOffice executable, or None when it is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _convert(paths: list[Path], out_dir: Path, to: str, timeout: float) -> list[Path]:
    """Convert files with one headless LibreOffice process and a throwaway profile.

    The profile (:data:`_PROFILE`) recalculates every formula on load.
    Returns the converted files (same stems, suffix ``to``), in order.
    """
    exe = soffice()
    if exe is None:
        raise RuntimeError("LibreOffice (soffice) is not installed: run .ci/ensure_libreoffice.sh")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_PROFILE, encoding="utf-8")
        command = [exe, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless",
                   "--norestore", "--nolockcheck", "--convert-to", to, "--outdir",
                   str(out_dir), *[str(p.resolve()) for p in paths]]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)
    outputs = [out_dir / f"{p.stem}.{to}" for p in paths]
    missing = [str(p) for p in outputs if not p.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice did not write {', '.join(missing)} "
                           f"(exit {done.returncode}): {done.stderr[-2000:]}")
    return outputs


def recalculate(paths: Sequence[str | Path], out_dir: str | Path,
                timeout: float = 300.0) -> list[Path]:
    """Recalculate workbooks with LibreOffice and save them as ``.xlsx`` in ``out_dir``.

    One LibreOffice process converts every file, with a throwaway profile
    set to recalculate all formulas on load.

    Parameters
    ----------
    paths : sequence of str or Path
        Workbooks to recalculate (their names must differ).
    out_dir : str or Path
        Folder for the recalculated copies (same file names).
    timeout : float
        Seconds before LibreOffice is stopped.

    Returns
    -------
    list of Path
        The recalculated workbooks, in the order of ``paths``.

    Raises
    ------
    RuntimeError
        When LibreOffice is missing or does not write every file.
    """
    return _convert([Path(p) for p in paths], Path(out_dir), "xlsx", timeout)


def only_sheet(source: str | Path, target: str | Path, sheet: str) -> Path:
    """Copy one sheet of a workbook, as printed, into a workbook of its own.

    LibreOffice prints every sheet, hidden ones too; to print one sheet the
    copy keeps only it (openpyxl, with the values Excel cached in place of the
    formulas, since the other sheets they read are gone), with its column
    widths, number formats, hidden rows and page setup (print area and
    titles, orientation, fit to width, footer) unchanged.
    """
    import openpyxl

    book = openpyxl.load_workbook(source, data_only=True)
    for other in list(book.sheetnames):
        if other != sheet:
            del book[other]
    book.active = 0
    book.save(target)
    return Path(target)


def to_pdf(path: str | Path, out_dir: str | Path, timeout: float = 300.0) -> Path:
    """Print a workbook to PDF with LibreOffice (headless, recalculating on load).

    Parameters
    ----------
    path : str or Path
        The workbook; hidden sheets are not printed.
    out_dir : str or Path
        Folder for the PDF (same stem).
    timeout : float
        Seconds before LibreOffice is stopped.

    Returns
    -------
    Path
        The PDF.
    """
    return _convert([Path(path)], Path(out_dir), "pdf", timeout)[0]


def pdf_pages(pdf: str | Path) -> int:
    """Count the pages of a PDF (its ``/Type /Page`` objects; LibreOffice writes them plain)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?![s\w])", Path(pdf).read_bytes()))


def _poppler(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise RuntimeError(f"poppler's {tool} is not installed: run .ci/ensure_libreoffice.sh")
    return exe


def page_png(pdf: str | Path, target: str | Path, page: int = 1, dpi: int = 150,
             timeout: float = 120.0) -> Path:
    """Render one page of a PDF to a PNG file with poppler's ``pdftoppm``.

    Parameters
    ----------
    pdf : str or Path
        The PDF.
    target : str or Path
        The PNG to write.
    page : int
        The page, from 1.
    dpi : int
        Resolution: an A4 page at 150 dpi is 1754 x 1240 pixels.
    timeout : float
        Seconds before pdftoppm is stopped.

    Returns
    -------
    Path
        The PNG.
    """
    target = Path(target)
    subprocess.run([_poppler("pdftoppm"), "-f", str(page), "-l", str(page), "-r", str(dpi),
                    "-png", "-singlefile", str(pdf), str(target.with_suffix(""))],
                   capture_output=True, text=True, timeout=timeout, check=True)
    written = target.with_suffix(".png")
    if written != target:
        written.replace(target)
    return target


def page_text(pdf: str | Path, page: int = 1, timeout: float = 120.0) -> str:
    """Return the text of one page of a PDF, laid out as printed (poppler's ``pdftotext``)."""
    done = subprocess.run([_poppler("pdftotext"), "-layout", "-f", str(page), "-l", str(page),
                           str(pdf), "-"], capture_output=True, text=True, timeout=timeout,
                          check=True)
    return done.stdout
