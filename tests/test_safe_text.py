"""Text and JSON bayescred writes: plurals, names made safe, no NaN or Infinity in JSON."""

from __future__ import annotations

import json
import math

import numpy as np

from bayescred.safe_text import dumps, markdown, pareto_k_text, plain, plural


def test_plural():
    assert plural(1, "crisis", "crises") == "1 crisis"
    assert plural(0, "crisis", "crises") == "0 crises"
    assert plural(2, "unit") == "2 units"


def test_names_lose_control_characters_and_markup():
    name = "evil\x1b[31mred\x1b[0m\n<script>alert(1)</script>"
    assert "\x1b" not in plain(name) and "\n" not in plain(name)
    md = markdown(name)
    assert "<script>" not in md and "&lt;script&gt;" in md and "\x1b" not in md


def test_json_holds_null_where_a_number_is_not_finite():
    text = dumps({"k": math.inf, "m": -np.inf, "n": np.float64("nan"), "ok": np.int64(3),
                  "rows": [1.5, math.inf]})
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text) == {"k": None, "m": None, "n": None, "ok": 3, "rows": [1.5, None]}


def test_negative_pareto_k_is_not_printed_as_a_negative_number():
    assert pareto_k_text(0.4213) == "Pareto k 0.42"
    assert "-0" not in pareto_k_text(-0.12) and "<= 0" in pareto_k_text(-0.12)
