"""The model spec: a TOML file or a dict, validated, with defaults merged in.

The spec is declarative: it says which signals exist and how they behave, which latent
dynamics to use, whether crises move reputation, which priors to override and how to
sample.  It never touches data or PyMC; ``model.py`` turns spec + panel into a model.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, get_args, get_type_hints

from .errors import SpecError
from .families import FAMILIES, PARAM_PRIORS
from .priors import (
    PRIOR_DISTS,
    PRIOR_INFINITE,
    PRIOR_ORDERED,
    PRIOR_PARAMS,
    PRIOR_POSITIVE,
    PRIOR_REQUIRED,
)

DYNAMICS = ("static", "random_walk", "ar1")
SIGNAL_LEVELS = ("unit", "member")  # a signal is a commitment's, or its member's own
BACKENDS = ("nutpie", "pymc", "numpyro", "advi")  # advi: approximate (approx.py)

# Default priors of the structural parameters, on credibility's internal (raw) scale:
# a random walk moves 0.1 a year (model.WALK_STEP); static and AR(1) paths fix the
# unit-level spread to 1 (see model.py).  Every one can be overridden by name in the
# spec's [priors] table.
DEFAULT_PRIORS: dict[str, dict] = {
    "alpha": {"dist": "Normal", "mu": 0.0, "sigma": 1.5},
    "loading": {"dist": "LogNormal", "mu": 0.0, "sigma": 1.0},
    "tau": {"dist": "HalfNormal", "sigma": 1.0},
    "sigma_innovation": {"dist": "HalfNormal", "sigma": 0.5},  # ar1
    "sigma_level_raw": {"dist": "HalfNormal", "sigma": 1.0},  # random_walk
    "phi": {"dist": "Beta", "alpha": 3.0, "beta": 1.5},
    # signed: an honoured crisis moves reputation by +kappa_honor, a violated one by
    # -kappa_violate, and the data may say 0 or the reverse (docs/followthrough.md)
    "kappa_honor_raw": {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
    "kappa_violate_raw": {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
    "phi_reputation": {"dist": "Beta", "alpha": 8.0, "beta": 2.0},
    "sigma_reputation": {"dist": "HalfNormal", "sigma": 0.3},
    "gamma": {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
    "alpha_followthrough": {"dist": "Normal", "mu": 0.0, "sigma": 1.5},
    # signed: credibility's sign is fixed by the signals' directions, so the data can say
    # that credible-looking commitments are honoured less often (docs/followthrough.md)
    "loading_followthrough": {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
    "beta_followthrough": {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
    "cutpoints_followthrough": {"dist": "Normal", "mu": 0.0, "sigma": 3.0},
    # [dimensions] (model.py, "Dimensions"): on credibility's scale
    "sigma_pillar": {"dist": "HalfNormal", "sigma": 0.5},
    "phi_pillar": {"dist": "Beta", "alpha": 4.0, "beta": 2.0},
    # signals' year_effects and unit_offsets: on the signals' link scale
    "sigma_year": {"dist": "HalfNormal", "sigma": 0.3},
    "sigma_offset": {"dist": "HalfNormal", "sigma": 1.0},
}

# One line on what each structural parameter does (the spec reference, docs/spec.md).
PRIOR_DOCS: dict[str, str] = {
    "alpha": "each signal's intercept (on its link scale, around the data's own centre)",
    "loading": "how strongly each signal moves with credibility (positive; direction sets "
    "the sign)",
    "tau": "spread of the alliances' baselines",
    "sigma_innovation": "ar1: the yearly innovation of a unit's path",
    "sigma_level_raw": "random_walk: spread of the units' starting levels, relative to a "
    "yearly step of 0.1",
    "phi": "ar1: persistence of a unit's path (0: none, 1: a random walk)",
    "kappa_honor_raw": "how much an honoured crisis raises the member's reputation, per "
    "crisis kind (raw scale; signed: negative lowers it)",
    "kappa_violate_raw": "how much a violated crisis lowers the member's reputation, per "
    "crisis kind (raw scale; signed: negative raises it)",
    "phi_reputation": "how long reputation lasts, year to year",
    "sigma_reputation": "reputation noise (with [reputation] noise = true)",
    "gamma": "effect of each unit covariate ([latent] covariates) on credibility",
    "alpha_followthrough": "intercept of follow-through (logit P(honour) in a crisis), per "
    "crisis kind",
    "loading_followthrough": "how strongly follow-through moves with credibility (log-odds "
    "per sd of credibility; signed, positive when the spec declares no signals)",
    "beta_followthrough": "effect of each crisis covariate ([follow_through] covariates; "
    "log-odds per sd of the covariate over the crises)",
    "cutpoints_followthrough": "cutpoints of follow-through when `partial` outcomes occur",
    "sigma_pillar": "[dimensions]: how far each pillar strays from the pillars' common level "
    "(its deviation's yearly innovation on the common level's scale; static: its spread "
    "across units)",
    "phi_pillar": "[dimensions], ar1 pillars: how long a pillar's deviation from the common "
    "level lasts, year to year",
    "sigma_year": "year_effects: the yearly step of a signal's common year effect (its link "
    "scale)",
    "sigma_offset": "unit_offsets: the spread of the units' persistent offsets on a signal (its "
    "link scale)",
}


# A spec whose only evidence is crises has no signal whose direction fixes credibility's
# sign, so the follow-through loading does: it is positive there (credibility is then, by
# definition, what predicts honouring).  Its prior must keep that support.
CRISES_ONLY_LOADING = {"dist": "HalfNormal", "sigma": 1.0}
# The crises table's own columns (panel.CRISIS_COLUMNS and the optional kind): not covariates.
CRISIS_TABLE_COLUMNS = ("crisis", "year", "member", "alliance", "outcome", "kind")
_POSITIVE_SUPPORT = ("HalfNormal", "LogNormal", "Exponential", "Gamma", "HalfCauchy",
                     "HalfStudentT")


@dataclass(frozen=True)
class Allowed:
    """The values a spec key admits: ``choices``, or an interval from ``low`` to ``high``
    (either end open or absent).  Validation and the reference (docs/spec.md) read it."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()

    def admits(self, value: Any) -> bool:
        if self.choices:
            return value in self.choices and not isinstance(value, bool)
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def text(self) -> str:
        if self.choices:
            return "one of " + ", ".join(str(c) for c in self.choices)
        if self.low is not None and self.high is not None:
            return (f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                    f"{')' if self.high_open else ']'}")
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        return ""


def key(
    default: Any = MISSING, doc: str = "", allowed: Allowed | None = None,
    unset: str | None = None, **kwargs,
):
    """A spec key: its default, one line on what it does and the values it admits (the
    declaration that validation and docs/spec.md both read); ``unset``: the default shown
    for a field the parser fills in itself."""
    metadata = {"doc": doc, "allowed": allowed, "unset": unset}
    if default is MISSING:
        return field(metadata=metadata, **kwargs)
    return field(default=default, metadata=metadata, **kwargs)


@dataclass(frozen=True)
class SignalSpec:
    family: str = key(doc="the signal's likelihood (docs/families.md)",
                      allowed=Allowed(choices=tuple(FAMILIES)))
    direction: int = key(1, "+1: higher values mean more credible; -1: lower values do",
                         Allowed(choices=(1, -1)))
    description: str = key("", "free text, shown in reports")
    year_effects: bool = key(False, "a common year effect on this signal (a random walk "
                             "over years shared by every unit): world-wide shocks to the "
                             "signal are not any one unit's credibility")
    unit_offsets: bool = key(False, "a persistent offset per unit on this signal: a unit's "
                             "lasting level on it (size, geography) is not credibility")
    level: str = key("unit", "unit: one value per commitment (member, alliance) and year; "
                     "member: the member's own (spending, forces), one value per member-year, "
                     "read on the mean credibility of its commitments active that year "
                     "(docs/member_signals.md)", Allowed(choices=SIGNAL_LEVELS))


@dataclass(frozen=True)
class DimensionSpec:
    """One pillar of credibility: the signals that measure it and its deviation's dynamics."""

    signals: tuple[str, ...] = key(doc="the signals of this pillar (each signal in exactly "
                                   "one)")
    dynamics: str = key("ar1", "how the pillar's deviation from the pillars' common level "
                        "moves: ar1 reverts to it, random_walk drifts, static is one offset "
                        "per unit",
                        Allowed(choices=DYNAMICS))


@dataclass(frozen=True)
class LatentSpec:
    dynamics: str = key("random_walk", "how a unit's credibility (with [dimensions]: the "
                        "pillars' common level) moves from year to year",
                        Allowed(choices=DYNAMICS))
    covariates: tuple[str, ...] = key(
        (), "columns of the units table whose effect on credibility is estimated (gamma)"
    )
    pillar_scale: str = key("shared", "[dimensions]: one sigma_pillar for every pillar (each "
                            "strays from the common level alike) or one per pillar "
                            "(per_pillar)", Allowed(choices=("shared", "per_pillar")))


@dataclass(frozen=True)
class FollowThroughSpec:
    covariates: tuple[str, ...] = key(
        (), "numeric columns of the crises table that shift the odds of honouring a crisis "
        "(beta_followthrough; standardised over the crises)"
    )


@dataclass(frozen=True)
class ReputationSpec:
    enabled: bool = key(True, "crises move the member's reputation, shared by all its "
                        "commitments")
    noise: bool = key(False, "reputation also drifts at random (sigma_reputation)")


@dataclass(frozen=True)
class SamplerSpec:
    backend: str = key("nutpie", "the engine: nutpie, pymc or numpyro (NUTS), or advi (a "
                       "fast approximation, not for inference you report)",
                       Allowed(choices=BACKENDS))
    draws: int = key(1000, "posterior draws per chain", Allowed(low=1))
    tune: int | None = key(None, "tuning (warm-up) draws per chain; unset: 600 for "
                           "preconditioned nutpie, else 1000", Allowed(low=1))
    chains: int = key(4, "number of chains", Allowed(low=1))
    seed: int = key(1, "random seed: the same seed gives the same draws", Allowed(low=0))
    target_accept: float = key(0.8, "NUTS's target acceptance rate; higher: smaller steps, "
                               "fewer divergences, slower", Allowed(0, 1, True, True))
    # nutpie: precondition NUTS with an ADVI fit (kernel.PRECOND_ARRAYS; fit.py says why)
    precondition: bool = key(True, "nutpie: sample through an ADVI fit of the posterior "
                             "(chains start in the bulk, little tuning needed)")
    # nutpie: each draw's step size is the adapted one times a uniform factor in
    # [1 - jitter, 1 + jitter] (nutpie's own default is 0.1).  In the preconditioner's
    # nearly isotropic coordinates trajectories of one length resonate with the slow
    # directions (tau, sigma_innovation, the kappas); varied lengths break that.  Measured
    # on ``medium``, 7 data sets, 4 x (600 + 1000): min bulk ESS 800-1270 instead of
    # 463-934, for ~25% more leapfrog steps (19 per draw instead of 15).
    step_size_jitter: float = key(0.3, "nutpie: each draw's step size is the adapted one "
                                  "times a factor in [1 - jitter, 1 + jitter]",
                                  Allowed(0, 1, high_open=True))
    # nutpie, preconditioned: the random walk's coordinates are shown to NUTS at scales
    # spread from this to 1, in blocks (kernel.model.KernelModel.spread_map says why); 1: not.
    # Measured with benchmarks/spread_scales.py, 4 x (600 + 1000).  ``medium``, 9 data
    # sets: against no map (1), 0.6 took credibility's largest R-hat from 1.0069-1.0136 to
    # 1.0058-1.0073; 0.4 to 1.0044-1.0075 (median 1.0050 against 1.0068), with the
    # hyperparameters' lowest bulk ESS 943-1,772 instead of 661-1,453 and no divergence
    # (0.6: one), for 30% more leapfrog steps (27.5 per draw against 21), fewer than it
    # gains in ESS.  ``large``: 0.6 left a credibility R-hat at 1.0110, 0.4 1.0074 (0.3:
    # 1.0083 for 62 steps per draw).
    spread_scale: float = key(0.4, "nutpie, preconditioned: smallest scale at which the "
                              "random walk's coordinates are shown to NUTS (1: none)",
                              Allowed(0, 1, low_open=True))

    @property
    def warmup(self) -> int:
        """Tuning draws per chain: ``tune``, or by default 600 for preconditioned nutpie
        and 1000 otherwise.  Chains that start at draws of the ADVI fit, in coordinates
        it has whitened, are in the bulk from the first draw and need little mass-matrix
        adaptation: on ``medium`` (3 data sets) 600 gave the same ESS, R-hat and 0
        divergences as 1000, in ~20% less time."""
        if self.tune is not None:
            return self.tune
        return PRECONDITIONED_TUNE if self.backend == "nutpie" and self.precondition else 1000

    @property
    def uses_kernel(self) -> bool:
        """Whether this backend runs bayescred's compiled kernel (``kernel.py``), where the
        model is one the kernel covers; the others compile the PyMC model instead."""
        return self.backend in ("nutpie", "advi")


PRECONDITIONED_TUNE = 600


@dataclass(frozen=True)
class OutputSpec:
    """What a saved result holds besides the posterior (``results.CredibilityResult.save``).

    ``log_likelihood``: the pointwise log-likelihood of every observation and draw, so that
    ``arviz.loo`` and ``arviz.compare`` work on the file (8 bytes x draws x observations:
    switch it off for huge panels; bayescred recomputes it when needed).
    ``predictive_draws``: posterior predictive draws kept for ``arviz.plot_ppc`` (thinned
    evenly; 0: none).
    """

    log_likelihood: bool = key(True, "save the pointwise log-likelihood, so az.loo and "
                               "az.compare work on the file (8 bytes x draws x "
                               "observations; switch off for huge panels)")
    predictive_draws: int = key(500, "posterior predictive draws saved for az.plot_ppc "
                                "(thinned evenly; 0: none)", Allowed(low=0))


@dataclass(frozen=True)
class DataSpec:
    observations: str | None = key(None, "observations CSV (member, alliance, year, signal, "
                                   "value[, trials]), relative to the spec's folder")
    crises: str | None = key(None, "crises CSV (crisis, year, member, alliance, outcome[, "
                             "kind, covariates]); optional, required without signals")
    units: str | None = key(None, "units CSV (member, alliance, covariate columns); optional")


@dataclass(frozen=True)
class ModelSpec:
    """A validated model spec.  Build one with :func:`load_spec` or :func:`spec_from_dict`."""

    name: str = key(doc="the model's name, shown in reports", unset='"model"')
    signals: dict[str, SignalSpec] = key(doc="one [signals.NAME] table per signal")
    description: str = key("", "free text, shown in reports")
    data: DataSpec = field(default_factory=DataSpec)
    latent: LatentSpec = field(default_factory=LatentSpec)
    follow_through: FollowThroughSpec = field(default_factory=FollowThroughSpec)
    reputation: ReputationSpec = field(default_factory=ReputationSpec)
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    priors: dict[str, dict] = field(default_factory=dict)
    base_dir: str = "."
    output: OutputSpec = field(default_factory=OutputSpec)
    dimensions: dict[str, DimensionSpec] = field(default_factory=dict)

    @property
    def member_signals(self) -> tuple[str, ...]:
        """Signals declared ``level = "member"`` (read once per member-year)."""
        return tuple(n for n, s in self.signals.items() if s.level == "member")

    def signal_dimension(self, signal: str) -> str | None:
        """The pillar ``signal`` belongs to (``None`` in a one-factor model)."""
        return next((n for n, d in self.dimensions.items() if signal in d.signals), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON- and TOML-ready) that :func:`spec_from_dict` reads back."""
        d = asdict(self)
        d["latent"]["covariates"] = list(self.latent.covariates)
        d["dimensions"] = {
            n: {"signals": list(x.signals), "dynamics": x.dynamics}
            for n, x in self.dimensions.items()
        }
        d["follow_through"]["covariates"] = list(self.follow_through.covariates)
        d.pop("base_dir")
        return d

    def to_json(self) -> str:
        """JSON in the spec's own order: the order of [signals] is the model's signal
        coordinate, so a result read back builds the same model (sorted keys made a loaded
        result's signals alphabetical)."""
        return json.dumps(self.to_dict())

    def prior(self, name: str) -> dict:
        """The prior of parameter ``name``: the spec's override, else the default (for
        ``loading_followthrough`` in a spec without signals: positive, see
        :data:`CRISES_ONLY_LOADING`)."""
        if name == "loading_followthrough" and not self.signals and name not in self.priors:
            return CRISES_ONLY_LOADING
        return self.priors.get(name) or {**DEFAULT_PRIORS, **PARAM_PRIORS}[name]

    def with_sampler(self, **overrides: Any) -> ModelSpec:
        """A copy with sampler settings replaced (``None`` values are ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        merged = {**asdict(self.sampler), **given}
        return replace(self, sampler=_sampler(merged, "sampler"))

    def with_output(self, **overrides: Any) -> ModelSpec:
        """A copy with [output] settings replaced (``None`` values are ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        merged = {**asdict(self.output), **given}
        return replace(self, output=_output(merged, "output"))

    def path(self, key: str) -> Path | None:
        """Absolute path of a data file named in [data], resolved against the spec's folder."""
        value = getattr(self.data, key)
        return None if value is None else (Path(self.base_dir) / value).resolve()


# ---------------------------------------------------------------------------- parsing


def read_toml(path: Path, what: str) -> dict:
    """The TOML table in ``path``; a missing, unreadable or invalid file is a SpecError
    naming the file (``what``: "spec", "scenario", ... for the message)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: {what} file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the {what} as UTF-8 text ({exc})") from None
    return parse_toml(text, str(path))


def parse_toml(text: str, source: str) -> dict:
    """The TOML table in ``text``; invalid TOML is a SpecError naming ``source`` (a file
    name: the text may come from a file or, in ``bayescred serve``, from an upload)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{source}: not valid TOML ({exc})") from None


def load_spec(path: str | Path) -> ModelSpec:
    """Read and validate a TOML spec; data paths are taken relative to its folder."""
    path = Path(path)
    raw = read_toml(path, "spec")
    return spec_from_dict(raw, base_dir=path.resolve().parent, source=str(path))


def spec_from_dict(
    raw: dict[str, Any], base_dir: str | Path = ".", source: str = "spec"
) -> ModelSpec:
    """Validate a spec given as a dict (the same shape as the TOML file)."""
    raw = copy.deepcopy(raw)
    _reject_unknown(
        raw,
        ("name", "description", "data", "signals", "latent", "follow_through", "reputation",
         "sampler", "priors", "output", "dimensions"),
        source,
    )
    raw.setdefault("signals", {})
    if not isinstance(raw["signals"], dict):
        raise SpecError(
            f"{source}: [signals] must be a table of signals, e.g. [signals.troops] with "
            f"family = \"negbinomial\", got {type(raw['signals']).__name__}"
        )
    for key in ("name", "description"):
        if key in raw and not isinstance(raw[key], str):
            raise SpecError(
                f"{source}: key {key!r} must be a string, got {type(raw[key]).__name__}"
            )
    signals = {
        str(k): _signal(v, f"{source}: [signals.{k}]") for k, v in raw["signals"].items()
    }
    latent = _latent(raw.get("latent", {}), f"{source}: [latent]")
    dimensions = _dimensions(raw.get("dimensions", {}), signals, f"{source}: [dimensions]")
    follow = _follow_through(raw.get("follow_through", {}), f"{source}: [follow_through]")
    priors = _priors(raw.get("priors", {}), signals, f"{source}: [priors]")
    _reject_unused_scale_prior(priors, latent.dynamics, f"{source}: [priors]")
    data = _section(DataSpec, raw.get("data", {}), f"{source}: [data]")
    _check_crises_only(signals, data, priors, source)
    return ModelSpec(
        name=str(raw.get("name", "model")),
        description=str(raw.get("description", "")),
        signals=signals,
        data=data,
        latent=latent,
        follow_through=follow,
        reputation=_section(ReputationSpec, raw.get("reputation", {}), f"{source}: [reputation]"),
        sampler=_sampler(raw.get("sampler", {}), f"{source}: [sampler]"),
        priors=priors,
        base_dir=str(base_dir),
        output=_output(raw.get("output", {}), f"{source}: [output]"),
        dimensions=dimensions,
    )


def _check_crises_only(signals: dict, data: DataSpec, priors: dict, source: str) -> None:
    """A spec without signals: crises are its only evidence (no observations file), and
    the follow-through loading, which then fixes credibility's sign, stays positive."""
    if signals:
        return
    if data.observations is not None:
        raise SpecError(
            f"{source}: [data] names observations ({data.observations!r}) but [signals] "
            "declares no signal; declare the signals the file holds, or drop the key (a "
            "spec without signals is fitted to its crises alone)"
        )
    loading = priors.get("loading_followthrough")
    if loading is not None and not _positive_support(loading):
        raise SpecError(
            f"{source}: [priors].loading_followthrough must have positive support (e.g. "
            "HalfNormal) in a spec without signals, where the loading fixes credibility's "
            f"sign; got {loading['dist']}"
        )


def _positive_support(prior: dict) -> bool:
    if prior["dist"] in _POSITIVE_SUPPORT:
        return True
    return prior["dist"] in ("TruncatedNormal", "Uniform") and prior.get("lower", 0.0) >= 0


def _reject_unused_scale_prior(priors: dict, dynamics: str, where: str) -> None:
    """A prior the model would not use is an error, not a silent no-op."""
    if dynamics == "random_walk" and "sigma_innovation" in priors:
        raise SpecError(
            f"{where}: sigma_innovation has no prior in a random_walk model: the walk's raw "
            "step is fixed (it pins credibility's raw scale) and sigma_innovation is reported "
            "on credibility's scale; set sigma_level_raw (the spread of the units' starting "
            "levels, relative to a yearly step of 0.1) instead"
        )
    if dynamics != "random_walk" and "sigma_level_raw" in priors:
        raise SpecError(
            f"{where}: sigma_level_raw applies to random_walk models only; with dynamics "
            f"{dynamics!r} the unit-level spread is fixed to 1"
        )


def _reject_unknown(table: Any, valid: tuple[str, ...], where: str) -> None:
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a table of keys, got {type(table).__name__}")
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise SpecError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"valid keys are: {', '.join(valid)}"
        )


def _section(cls, table: dict, where: str):
    valid = tuple(cls.__dataclass_fields__)
    _reject_unknown(table, valid, where)
    hints = get_type_hints(cls)
    table = {k: v for k, v in table.items() if v is not None}  # None = not given
    for key, value in table.items():
        expected = _given_type(hints[key])
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise SpecError(
                f"{where}: key {key!r} must be {expected.__name__}, got {value!r}"
            )
        _check_allowed(cls, key, value, where)
    return cls(**table)


def _check_allowed(cls, name: str, value: Any, where: str) -> None:
    """``value`` against the values the declaration of ``cls.name`` admits."""
    meta = cls.__dataclass_fields__[name].metadata
    allowed = meta.get("allowed")
    if allowed is not None and not allowed.admits(value):
        verb = "be" if allowed.choices else "lie in" if allowed.high is not None else "be"
        raise SpecError(
            f"{where}: {name} must {verb} {allowed.text()} ({meta['doc']}), got {value!r}"
        )


def _given_type(hint):
    """The type a given value must have: ``int`` for a field typed ``int | None``."""
    return next((t for t in get_args(hint) if t is not type(None)), hint)


def _signal(table: Any, where: str) -> SignalSpec:
    _reject_unknown(table, tuple(SignalSpec.__dataclass_fields__), where)
    family = table.get("family")
    if not isinstance(family, str) or family not in FAMILIES:
        raise SpecError(
            f"{where}: unknown family {family!r}; valid families are: {', '.join(FAMILIES)}"
        )
    direction = table.get("direction", 1)
    _check_allowed(SignalSpec, "direction", direction, where)
    description = table.get("description", "")
    if not isinstance(description, str):
        raise SpecError(
            f"{where}: key 'description' must be a string, got {type(description).__name__}"
        )
    flags = {}
    for name in ("year_effects", "unit_offsets"):
        value = table.get(name, False)
        if not isinstance(value, bool):
            raise SpecError(f"{where}: key {name!r} must be true or false, got {value!r}")
        flags[name] = value
    level = table.get("level", "unit")
    _check_allowed(SignalSpec, "level", level, where)
    if level == "member" and flags["unit_offsets"]:
        raise SpecError(
            f"{where}: unit_offsets = true needs level = \"unit\"; a member-level signal has "
            "one value per member-year, not one per commitment, so it has no unit offsets"
        )
    return SignalSpec(family, int(direction), description, **flags, level=level)


def _dimensions(table: Any, signals: dict[str, SignalSpec], where: str) -> dict:
    """[dimensions]: pillar name -> its signals (a list), or a table ``{ signals = [...],
    dynamics = "ar1" }``; every signal in exactly one pillar."""
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a table of pillars, e.g. capability = [\"troops\"]")
    out, seen = {}, {}
    for name, value in table.items():
        here = f"{where}.{name}"
        entry = {"signals": value} if isinstance(value, list | tuple) else value
        if not isinstance(entry, dict):
            raise SpecError(f"{here}: expected a list of signals or a table "
                            f"{{ signals = [...], dynamics = \"ar1\" }}, got {value!r}")
        _reject_unknown(entry, ("signals", "dynamics"), here)
        members = entry.get("signals")
        if not isinstance(members, list | tuple) or not members or not all(
            isinstance(m, str) for m in members
        ):
            raise SpecError(f"{here}: signals must be a non-empty list of signal names")
        for m in members:
            if m not in signals:
                raise SpecError(f"{here}: unknown signal {m!r}; the spec's signals are "
                                f"{', '.join(signals)}")
            if m in seen:
                raise SpecError(f"{here}: signal {m!r} is already in pillar {seen[m]!r}; "
                                "each signal belongs to exactly one")
            seen[m] = name
        dynamics = entry.get("dynamics", "ar1")
        _check_allowed(DimensionSpec, "dynamics", dynamics, here)
        out[str(name)] = DimensionSpec(tuple(members), dynamics)
    missing = [s for s in signals if s not in seen]
    if out and missing:
        raise SpecError(f"{where}: signal(s) {', '.join(map(repr, missing))} in no pillar; "
                        "each signal belongs to exactly one")
    return out


def _latent(table: dict, where: str) -> LatentSpec:
    _reject_unknown(table, tuple(LatentSpec.__dataclass_fields__), where)
    dynamics = table.get("dynamics", "random_walk")
    _check_allowed(LatentSpec, "dynamics", dynamics, where)
    covariates = _covariate_names(table, where, "units", ("member", "alliance"))
    scale = table.get("pillar_scale", "shared")
    _check_allowed(LatentSpec, "pillar_scale", scale, where)
    return LatentSpec(dynamics, covariates, scale)


def _follow_through(table: dict, where: str) -> FollowThroughSpec:
    _reject_unknown(table, tuple(FollowThroughSpec.__dataclass_fields__), where)
    return FollowThroughSpec(_covariate_names(table, where, "crises", CRISIS_TABLE_COLUMNS))


def _covariate_names(table: dict, where: str, what: str, reserved_columns) -> tuple[str, ...]:
    """``covariates``: a list of distinct column names of the ``what`` table, none of its
    ``reserved_columns`` (the contract's own)."""
    covariates = table.get("covariates", [])
    if not isinstance(covariates, list | tuple) or not all(isinstance(c, str) for c in covariates):
        raise SpecError(f"{where}: covariates must be a list of column names of the {what} "
                        "table")
    repeated = sorted({c for c in covariates if covariates.count(c) > 1})
    if repeated:
        raise SpecError(f"{where}: covariate(s) {', '.join(map(repr, repeated))} listed twice")
    reserved = [c for c in covariates if c in reserved_columns]
    if reserved:
        raise SpecError(
            f"{where}: covariates name columns of the {what} table other than "
            f"{', '.join(reserved_columns)}, got {', '.join(map(repr, reserved))}"
        )
    return tuple(covariates)


def _sampler(table: dict, where: str) -> SamplerSpec:
    """The [sampler] table: types and ranges as :class:`SamplerSpec` declares them."""
    return _section(SamplerSpec, table, where)


def _output(table: dict, where: str) -> OutputSpec:
    """The [output] table: types and ranges as :class:`OutputSpec` declares them."""
    return _section(OutputSpec, table, where)


def valid_prior_names(signals: dict[str, SignalSpec]) -> list[str]:
    """Every parameter whose prior the spec may override."""
    aux = {a for s in signals.values() for a in FAMILIES[s.family].param_names}
    return sorted(set(DEFAULT_PRIORS) | aux)


def _priors(table: dict, signals: dict[str, SignalSpec], where: str) -> dict[str, dict]:
    _reject_unknown(table, tuple(valid_prior_names(signals)), where)
    out = {}
    for name, prior in table.items():
        here = f"{where}.{name}"
        if not isinstance(prior, dict) or "dist" not in prior:
            raise SpecError(f'{here}: expected a table like {{ dist = "Normal", sigma = 1 }}')
        dist = prior["dist"]
        if not isinstance(dist, str) or dist not in PRIOR_DISTS:
            raise SpecError(
                f"{here}: unknown dist {dist!r}; valid: {', '.join(PRIOR_DISTS)}"
            )
        _reject_unknown(prior, ("dist", *PRIOR_DISTS[dist]), here)
        _check_prior_parameters(dist, prior, here)
        out[name] = dict(prior)
    return out


def _check_prior_parameters(dist: str, prior: dict, here: str) -> None:
    """Every parameter a number within ``dist``'s own constraints (``priors.py``)."""
    missing = [p for p in PRIOR_REQUIRED[dist] if p not in prior]
    if missing:
        raise SpecError(
            f"{here}: {dist} needs parameter(s) {', '.join(map(repr, missing))} "
            f"(it takes {', '.join(PRIOR_DISTS[dist])})"
        )
    infinite = PRIOR_INFINITE.get(dist, {})
    for key, value in prior.items():
        if key == "dist":
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise SpecError(f"{here}: parameter {key!r} must be a number, got {value!r}")
        if isinstance(value, int) and abs(value) > 2**53:
            raise SpecError(f"{here}: parameter {key!r} is too large, got {value!r}")
        if not math.isfinite(value) and value != infinite.get(key):
            allowed = f" or {infinite[key]}" if key in infinite else ""
            raise SpecError(
                f"{here}: parameter {key!r} must be a finite number{allowed}, got {value!r}"
            )
        if key in PRIOR_POSITIVE[dist] and not value > 0:
            raise SpecError(
                f"{here}: parameter {key!r} of {dist} must be > 0, got {value!r}"
            )
    values = {p: prior.get(p, default) for p, default in PRIOR_PARAMS[dist]}
    for low, high in PRIOR_ORDERED.get(dist, ()):
        if not values[low] < values[high]:
            raise SpecError(
                f"{here}: {dist} needs {low} < {high}, got {low} = {values[low]!r}, "
                f"{high} = {values[high]!r}"
            )


# ---------------------------------------------------------------------------- writing


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def spec_to_toml(spec: ModelSpec, data_paths: dict[str, str] | None = None) -> str:
    """The spec as TOML text (the format :func:`load_spec` reads)."""
    d = spec.to_dict()
    if data_paths is not None:
        d["data"] = data_paths
    lines = [f"name = {_toml_value(d['name'])}"]
    if d["description"]:
        lines.append(f"description = {_toml_value(d['description'])}")
    data = {k: v for k, v in d["data"].items() if v is not None}
    tables = [("data", data)]
    tables += [(f"signals.{k}", v) for k, v in d["signals"].items()]
    tables += [
        (key, d[key]) for key in ("latent", "follow_through", "reputation", "sampler", "output")
    ]
    tables += [(f"dimensions.{k}", v) for k, v in d["dimensions"].items()]
    if d["priors"]:
        tables.append(("priors", d["priors"]))
    for header, table in tables:
        lines += ["", f"[{header}]"]
        # None (an unset tune: the engine's default) is left out, as TOML has no null
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if v not in ("", None)]
    return "\n".join(lines) + "\n"
