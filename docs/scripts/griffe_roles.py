"""Show the docstrings' Sphinx roles as code on the reference pages.

The docstrings are numpydoc, read by Sphinx-aware tools and by ``help()``:
``:func:`capitation.allocate``` names a function. mkdocstrings does not
know the roles and would print them as typed, so this Griffe extension
turns each into inline code (``~a.b.c`` shows ``c``, as in Sphinx).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|meth|class|mod|attr|data|obj|exc|const|ref|term)"
                  r":`(~?)([^`<]*?)\s*(?:<([^`>]+)>)?`")


def plain(text: str) -> str:
    """Return ``text`` with every Sphinx role written as inline code."""

    def code(match: re.Match[str]) -> str:
        short, name, target = match.group(1), match.group(2), match.group(3)
        if target is not None and name:
            return f"{name} (`{target}`)"
        name = name or target or ""
        return f"`{name.rsplit('.', 1)[-1] if short else name}`"

    return ROLE.sub(code, text)


class SphinxRoles(griffe.Extension):
    """Rewrite each docstring's roles as code when Griffe loads an object."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring, if it has one."""
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
