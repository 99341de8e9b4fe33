"""Building HTML safely: every text escaped, only markup built by siptest left as is.

Everything the server or the network supplied reaches a page through `tag`, which
escapes every text it is given; only markup built here is `Markup`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable


class Markup(str):
    """Markup built by siptest: the only text `tag` does not escape."""


def tag(name: str, *children: str | Markup, **attrs: object) -> Markup:
    """An element; plain-str children and every attribute value are escaped.

    Attribute names come from this module only (`class_` stands for `class`,
    underscores for dashes); values and text may be anything a server sent.
    """
    parts = [name]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        attr = key.rstrip("_").replace("_", "-")
        parts.append(attr if value is True else f'{attr}="{html.escape(str(value), quote=True)}"')
    inner = "".join(c if isinstance(c, Markup) else html.escape(c, quote=True) for c in children)
    return Markup(f"<{' '.join(parts)}>{inner}</{name}>")


def join(items: Iterable[str | Markup]) -> Markup:
    return Markup("".join(i if isinstance(i, Markup) else html.escape(i) for i in items))
