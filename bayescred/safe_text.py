"""Text and JSON that bayescred writes for people and other programs, made safe.

A spec's ``name`` and a scenario's name are free text from a file: shown in a terminal,
a markdown report or a figure they must not carry control characters (ANSI escapes) or
markup (``<script>``); JSON files hold ``null`` where a number is not finite (``NaN``
and ``Infinity`` are not JSON).
"""

from __future__ import annotations

import html
import json
import math


def plural(n: int, word: str, many: str | None = None) -> str:
    """``"1 crisis"``, ``"2 crises"``: ``n`` and the word, singular only for 1."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def plain(text: object) -> str:
    """``text`` with every control character (escapes, newlines, tabs) shown as ``?``."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def markdown(text: object) -> str:
    """``text`` for a markdown file: plain, HTML escaped, markdown's markup characters
    backslashed."""
    out = html.escape(plain(text), quote=False)
    for char in "\\`*_[]|#":
        out = out.replace(char, "\\" + char)
    return out


def json_safe(obj):
    """JSON-ready: NaN and infinities become null, numpy scalars plain numbers, keys
    strings."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj, **kwargs) -> str:
    """``json.dumps`` of :func:`json_safe` ``(obj)``, refusing anything that is not JSON."""
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)


def pareto_k_text(k: float) -> str:
    """``"Pareto k 0.42"``; a negative estimate (light-tailed importance weights, as
    reliable as it gets) is shown as ``<= 0`` rather than as a puzzling negative number."""
    if k is None or not math.isfinite(k):
        return "Pareto k n/a"
    return f"Pareto k {k:.2f}" if k >= 0 else "Pareto k <= 0 (light-tailed weights)"


def html_lines(lines: list[str]) -> str:
    """A short repr's lines as notebook HTML: the first in bold, the rest a list, every
    line escaped (names in them are free text)."""
    import html

    first, *rest = lines
    items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in rest)
    return f"<div><strong>{html.escape(first)}</strong><ul>{items}</ul></div>"
