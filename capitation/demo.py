"""The demo model shipped inside the package, which ``capitation demo`` runs.

The same model as ``models/demo.toml`` in the repository (a test checks that
the two agree), with its input files beside it in ``capitation/data/``, so an
installed package runs it without the repository.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from capitation.errors import InputError

__all__ = ["demo_model_file"]


def demo_model_file() -> Path:
    """Return the demo model file installed with the package.

    Returns
    -------
    Path
        ``capitation/data/demo.toml`` inside the installed package; the
        files it names are beside it.

    Raises
    ------
    InputError
        When the installation lacks the file (a package built without its data files).
    """
    path = Path(str(files("capitation") / "data" / "demo.toml"))
    if not path.is_file():
        raise InputError("the demo model is missing from this installation of the toolkit "
                         "(reinstall it from its wheel or source folder with pip)", file=path)
    return path
