"""Reference problems of the benchmark: simulated panels of fixed shape and seed.

>>> from problems import PROBLEMS                                # doctest: +SKIP
>>> spec, panel, sim = PROBLEMS["medium"]()                      # doctest: +SKIP
>>> spec, panel, sim = PROBLEMS["medium"](seed=1001)             # same shape, new data

``medium``
    30 units (20 members, 4 alliances) x 60 years x the four default signals (troops,
    spending, votes, exercises), 20% of cells missing, 100 crises.
``large``
    200 units (140 members, 8 alliances) x 75 years x five signals (the default four and
    ``un_votes``, a beta proportion), 20% missing, 300 crises.
``medium-triad``
    ``medium``'s shape with six signals in three pillars of two (``[dimensions]``:
    capability = troops, exercises; cost_sharing = spending, milex; commitment = votes,
    un_votes), each pillar an AR(1) deviation from a random-walk overall credibility.
``tiny``
    4 units x 6 years x the default four signals: a smoke test of the harness only.

Every problem is a function of ``seed`` alone (default: its own fixed seed), so a second
seed gives new data of the same structure (what a warm, no-recompile fit needs).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # bayescred is imported on use: run.py only needs the names
    from bayescred.panel import Panel
    from bayescred.simulate import Simulation
    from bayescred.spec import ModelSpec

DEFAULT_SIGNALS = {  # bayescred.simulate.DEFAULT_SIGNALS (checked in Problem.__call__)
    "troops": {"family": "negbinomial", "direction": 1, "description": "troops deployed"},
    "spending": {"family": "lognormal", "direction": 1, "description": "defence spending"},
    "votes": {"family": "binomial", "direction": 1, "description": "votes aligned (of trials)"},
    "exercises": {"family": "poisson", "direction": 1, "description": "joint exercises"},
}
TRIAD_SIGNALS = {
    **DEFAULT_SIGNALS,
    "milex": {"family": "gaussian", "direction": 1, "description": "military spending share"},
    "un_votes": {"family": "beta", "direction": 1, "description": "UN votes with the leader"},
}
TRIAD_DIMENSIONS = {
    "capability": ["troops", "exercises"],
    "cost_sharing": ["spending", "milex"],
    "commitment": ["votes", "un_votes"],
}
LARGE_SIGNALS = {
    **DEFAULT_SIGNALS,
    "un_votes": {
        "family": "beta",
        "direction": 1,
        "description": "share of UN General Assembly votes cast with the alliance leader",
    },
}


@dataclass(frozen=True)
class Problem:
    """A simulated panel of fixed shape; call it to draw ``(spec, panel, simulation)``."""

    name: str
    seed: int
    shape: dict = field(default_factory=dict)  # keyword arguments of bc.simulate
    signals: dict | None = None  # None: the default four
    dimensions: dict | None = None  # [dimensions], or None: the one-factor model

    def __call__(self, seed: int | None = None) -> tuple[ModelSpec, Panel, Simulation]:
        import bayescred as bc
        from bayescred.simulate import DEFAULT_SIGNALS as BAYESCRED_DEFAULT

        assert DEFAULT_SIGNALS == BAYESCRED_DEFAULT, "update problems.DEFAULT_SIGNALS"
        spec = bc.default_spec(signals=self.signals)
        if self.dimensions:
            spec = bc.spec_from_dict(
                {"name": "simulated", "signals": self.signals, "dimensions": self.dimensions}
            )
        sim = bc.simulate(spec, **self.shape, seed=self.seed if seed is None else seed)
        panel = bc.load_panel(sim.observations, sim.crises, sim.units, spec=spec)
        return spec, panel, sim

    def describe(self) -> str:
        """One line: units x years x signals, missing share, crises."""
        s = self.shape
        n_signals = len(self.signals or DEFAULT_SIGNALS)
        return (
            f"{s['n_units']} units ({s['n_members']} members, {s['n_alliances']} alliances) "
            f"x {s['n_years']} years x {n_signals} signals, {s['missing']:.0%} missing, "
            f"{s['n_crises']} crises, seed {self.seed}"
        )


PROBLEMS: dict[str, Problem] = {
    "tiny": Problem(
        "tiny",
        seed=11,
        shape=dict(n_units=4, n_members=3, n_alliances=2, n_years=6, n_crises=5, missing=0.2),
    ),
    "medium": Problem(
        "medium",
        seed=20240601,
        shape=dict(n_units=30, n_members=20, n_alliances=4, n_years=60, n_crises=100, missing=0.2),
    ),
    "medium-triad": Problem(
        "medium-triad",
        seed=20240603,
        shape=dict(n_units=30, n_members=20, n_alliances=4, n_years=60, n_crises=100, missing=0.2),
        signals=TRIAD_SIGNALS,
        dimensions=TRIAD_DIMENSIONS,
    ),
    "large": Problem(
        "large",
        seed=20240602,
        shape=dict(
            n_units=200, n_members=140, n_alliances=8, n_years=75, n_crises=300, missing=0.2
        ),
        signals=LARGE_SIGNALS,
    ),
}

# The seed of the "new data, same structure" fit: the problem's seed plus this.
NEW_DATA_SEED_OFFSET = 1000


# ------------------------------------------------------------- the scripts' list options


def names(value: str, valid, parser, what: str) -> list[str]:
    """A comma-separated option of names (problems, engines), each checked against
    ``valid``; an unknown one stops the script with argparse's usage error naming it."""
    listed = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in listed if n not in valid]
    if unknown:
        parser.error(f"unknown {what}(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    return listed


def numbers(kind: type, blank: str | None = None):
    """argparse ``type`` for a comma-separated list of ``kind`` (int, float); ``blank``,
    if given, is an entry kept as None (``-``: the problem's own seed)."""

    def parse(value: str) -> list:
        out = []
        for item in (v.strip() for v in value.split(",")):
            if blank is not None and item == blank:
                out.append(None)
                continue
            try:
                out.append(kind(item))
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"{item!r} in {value!r}: expected comma-separated {kind.__name__}s"
                ) from None
        return out

    return parse


# ------------------------------------------------------------- the scripts' tables


def markdown_table(head: list[str], rows: list[list]) -> str:
    """A markdown table: the header's cells, its rule (as many columns as the header),
    and one line per row of already formatted cells."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
