"""Every allocation table of the shipped models, pinned by a stored digest.

The digests in ``allocation_digest/digests.json`` were written by
``allocation_digest/digest.py`` from the code before allocation became the
public in-memory step ``capitation.allocate``; a run must reproduce each
table exactly (every penny, column, index and need-index digit).
"""

import importlib.util
import json
from pathlib import Path

HERE = Path(__file__).with_name("allocation_digest")


def _digest_module():
    spec = importlib.util.spec_from_file_location("allocation_digest", HERE / "digest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_table_of_every_model_is_unchanged():
    stored = json.loads((HERE / "digests.json").read_text())
    now = _digest_module().digests()
    assert sorted(now) == sorted(stored)
    for model, tables in stored.items():
        assert now[model] == tables, f"{model}: tables differ from the stored digests"
