"""Put the notebooks into the site, executed when the site is built (run by mkdocs-gen-files).

Each notebook in ``notebooks/`` is run from that folder (its relative paths,
such as ``../models/demo.toml``, hold), as the test suite runs it, and the
executed copy goes to ``notebooks/`` in the site, where mkdocs-jupyter renders
it with its outputs. A cell that raises stops the build. The notebooks in the
repository are never changed.

``CAPITATION_DOCS_EXECUTE=0`` renders them without running them (quick
builds of the prose; the notebooks keep no outputs of their own).
"""

from __future__ import annotations

import os
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TIMEOUT_SECONDS = 900


def executed(path: Path) -> str:
    """Return the notebook at ``path`` run from its own folder, as JSON text."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    if os.environ.get("CAPITATION_DOCS_EXECUTE", "1") != "0":
        nbclient.NotebookClient(notebook, timeout=TIMEOUT_SECONDS, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}}).execute()
    return nbformat.writes(notebook)


def _write_notebooks() -> None:
    import mkdocs_gen_files

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        with mkdocs_gen_files.open(f"notebooks/{path.name}", "w") as page:
            page.write(executed(path))


if __name__ in ("<run_path>", "__main__"):  # mkdocs-gen-files runs this file
    _write_notebooks()
