"""The kernel's data layout: codes, roles and the arrays it reads, by name.

The kernel is one compiled function for every model structure and panel size: what
varies is data.  ``x`` is the unconstrained parameter vector in PyMC's value-variable
order.  It is cut into *blocks* (one per free variable); each block has a transform and a
prior.  Model *roles* (level, sigma_innovation, alpha, ...) are offsets into the
constrained vector ``val`` (``-1`` when the model has no such variable).  All other inputs
are data arrays, listed in :data:`ARRAYS` (the model), :data:`SAMPLER_ARRAYS` and
:data:`PRECOND_ARRAYS` (the sampler's geometry); the C entry points read them through a
pointer table with one row per array, in that order, whose row numbers are the ``A_*``
names below (never literal numbers).
"""

from __future__ import annotations

import numpy as np

from ..families.pointwise import MAX_PARAMS  # noqa: F401  (sig_par's columns)
from ..priors import PRIOR_PARAMS

# transforms (PyMC's, from unconstrained y to the constrained value v)
T_NONE, T_LOG, T_LOGODDS, T_INTERVAL, T_LOWER, T_UPPER, T_ORDERED, T_ZEROSUM = range(8)
# prior distributions: codes in the order of bayescred.priors.PRIOR_PARAMS (parameters in
# blk_par in that table's order), and D_FLAT: no prior term here (the level's prior is
# written out in latent._level_prior)
PRIOR_CODES = {name: code for code, name in enumerate(PRIOR_PARAMS)}
D_NORMAL = PRIOR_CODES["Normal"]
D_HALFNORMAL = PRIOR_CODES["HalfNormal"]
D_LOGNORMAL = PRIOR_CODES["LogNormal"]
D_EXPONENTIAL = PRIOR_CODES["Exponential"]
D_GAMMA = PRIOR_CODES["Gamma"]
D_BETA = PRIOR_CODES["Beta"]
D_HALFCAUCHY = PRIOR_CODES["HalfCauchy"]
D_HALFSTUDENTT = PRIOR_CODES["HalfStudentT"]
D_STUDENTT = PRIOR_CODES["StudentT"]
D_UNIFORM = PRIOR_CODES["Uniform"]
D_TRUNCNORMAL = PRIOR_CODES["TruncatedNormal"]
D_FLAT = len(PRIOR_CODES)
# model roles: index into the ``roles`` array
ROLES = (
    "level",
    "sigma_innovation",
    "z_innovation",
    "phi",
    "tau",
    "z_alliance",  # zero-sum: its block holds the first n - 1 free coordinates
    "gamma",
    "kappa_honor_raw",
    "kappa_violate_raw",
    "phi_reputation",
    "sigma_reputation",
    "z_reputation",
    "alpha",
    "loading",
    "loading_followthrough",
    "alpha_followthrough",
    "cutpoints_followthrough",
    "z_walk",  # random walk: coordinates of the path relative to its level (unit, step)
    "sigma_level_raw",  # random walk: spread of the walk's starting levels
    "sigma_pillar",  # [dimensions]: each pillar's deviation scale
    "phi_pillar",  # [dimensions]: persistence of the ar1 pillars' deviations
    "pillar_state",  # [dimensions]: the pillars (pillar, unit, year), see model._pillars
    "sigma_year",  # year_effects: the year effects' yearly step
    "year_effect",  # year_effects: (year_signal, step), a random walk from 0
    "sigma_offset",  # unit_offsets: the offsets' spread
    "unit_offset",  # unit_offsets: (offset_signal, unit)
    "beta_followthrough",  # effects of the crisis covariates on follow-through
    "pillar_log_scale",  # [dimensions]: pillar = exp(log scale) * pillar_state + location
    "pillar_location",  # (model._pillars: the pillars' own scale and location as coordinates)
)
(
    R_LEVEL,
    R_SIGMA,
    R_Z,
    R_PHI,
    R_TAU,
    R_MU,
    R_GAMMA,
    R_KH,
    R_KV,
    R_PHIR,
    R_SIGMAR,
    R_ZREP,
    R_ALPHA,
    R_LOADING,
    R_LOADFT,
    R_ALPHAFT,
    R_CUTFT,
    R_WALK,
    R_SLEVEL,
    R_SIGPIL,
    R_PHIPIL,
    R_ZPIL,
    R_SIGYEAR,
    R_YEAR,
    R_SIGOFF,
    R_OFFSET,
    R_BETAFT,
    R_PLSCALE,
    R_PLLOC,
) = range(len(ROLES))
# dims: index into the ``dims`` array
DIMS = ("units", "years", "members", "alliances", "covariates", "dynamics", "followthrough",
        "signal_latent")  # fmt: skip
(
    DIM_UNITS,
    DIM_YEARS,
    DIM_MEMBERS,
    DIM_ALLIANCES,
    DIM_COVARIATES,
    DIM_DYNAMICS,
    DIM_FOLLOWTHROUGH,
    DIM_SIGNAL_LATENT,  # 1: each signal reads a latent value of its own (kernel.pillars)
) = range(len(DIMS))
DYN_STATIC, DYN_RW, DYN_AR1 = range(3)
FT_NONE, FT_BINARY, FT_ORDINAL = range(3)

# The data arrays, in the order the kernel takes them: (name, dtype, ndim).
ARRAYS = (
    ("dims", np.int64, 1),
    ("roles", np.int64, 1),
    ("blk_off", np.int64, 1),
    ("blk_size", np.int64, 1),
    ("blk_transform", np.int64, 1),
    ("blk_dist", np.int64, 1),
    ("blk_par", np.float64, 2),  # (block, 4) prior parameters
    ("blk_bounds", np.float64, 2),  # (block, 2) interval transform bounds
    ("alliance_of_unit", np.int64, 1),
    ("member_of_unit", np.int64, 1),
    ("active_weight", np.float64, 1),  # (unit * year,), sums to 1
    ("covariates", np.float64, 2),  # (unit, covariate), standardised
    ("honored", np.float64, 2),  # (kind * member, year): kind k's rows k * members ...
    ("violated", np.float64, 2),  # (kind * member, year)
    ("obs_cell", np.int64, 1),  # observation rows sorted by signal (density._measurement)
    ("obs_signal", np.int64, 1),
    ("obs_y", np.float64, 1),
    ("obs_trials", np.float64, 1),  # 1 where the family has no trials
    ("obs_c1", np.float64, 1),  # the family's data columns (KernelCode.columns), e.g. log y
    ("obs_c2", np.float64, 1),
    ("sig_offset", np.float64, 1),
    ("sig_direction", np.float64, 1),
    ("sig_family", np.int64, 1),  # families.FAMILY_CODES
    ("sig_par", np.int64, 2),  # (signal, MAX_PARAMS): offsets in val of its family's parameters
    ("sig_nvec", np.int64, 1),  # length of a vector parameter (ordinal cutpoints)
    ("crisis_cell", np.int64, 1),
    ("crisis_outcome", np.int64, 1),  # binary: 1 = honoured; ordinal: 0/1/2
    ("crisis_kind", np.int64, 1),  # position of each crisis's kind (crisis_kind coordinate)
    ("crisis_covariates", np.float64, 2),  # (crisis, covariate), standardised
    ("walk_centred", np.float64, 2),  # (unit, step): 1 = centred coordinate, 0 = non-centred
    ("sig_pillar", np.int64, 1),  # (signal,): its pillar, -1: none (kernel.pillars)
    ("sig_year", np.int64, 1),  # (signal,): its row of year_effect, -1: none
    ("sig_unit", np.int64, 1),  # (signal,): its row of unit_offset, -1: none
    ("pillar_kind", np.int64, 1),  # (pillar,): DYN_* of its deviation
    ("pillar_phi", np.int64, 1),  # (pillar,): its element of phi_pillar (ar1), else -1
    ("pillar_sigma", np.int64, 1),  # (pillar,): its element of sigma_pillar (0 when shared)
    ("sig_member", np.int64, 1),  # (signal,): 1 = member-level, reads its member's mean
    ("member_weight", np.float64, 1),  # (unit * year,): member-year averaging weights
    ("pillar_weight", np.float64, 2),  # (pillar, unit * year): standardisation weights
)

# Sampler coordinates (random walk): nutpie samples xs = (x~, log c, m), not the model's x.
# Credibility is standardised, so the likelihood cannot see the raw path's overall scale c
# or location m; only priors pin them, and in the model's coordinates each is a collective
# move of every path value, many posterior sds long (trees of 128-256 leapfrog steps on
# ``medium``).  Here c and m are coordinates of their own, x = c x~ + m on the raw scale
# (see _to_model), and x~'s own scale and location are held near 1 and 0 by an auxiliary
# density.  The posterior of x is exactly the model's: the auxiliary is a proper
# conditional of (log c, m) given x, so integrating (log c, m) out returns p(x)
# (_sampler_terms).  The walk's centred coordinates also become absolute path values
# (level + path), so moving a unit's level moves one year, not a whole path.
K_NONE, K_SCALE, K_LOG, K_LEVEL, K_ABS = range(5)
SAMPLER_ARRAYS = (
    ("sampler_kind", np.int64, 1),  # per model coordinate: how it maps (K_*)
    ("sampler_ref", np.int64, 1),  # K_ABS: index of the unit's level coordinate
    ("sampler_par", np.float64, 1),  # (on, sd of log scale(x~), sd of location(x~))
)

FOLLOW_STEPS = 64  # the preconditioner's follow exponents are multiples of 1 / 64

# Preconditioner: nutpie samples u, and the sampler coordinates are xs = mean + e(u) with
# e_i = sd_i u_i + coef_i e_prev(i) (prev: the coordinate before i on its unit's latent
# path), the Gaussian that bayescred.approx fits by ADVI, except that a coordinate may
# follow a log scale s(i): xs_i = mean_i + exp(-w_i e_s(i)) e_i (see _unwhiten).  The
# log-Jacobian of the map is added to the density, so the posterior is exactly the same;
# NUTS sees it whitened: the path's year-to-year dependence and every coordinate's scale
# are taken out, and the walk's paths roughen as its scale shrinks.  Then scales are put
# back on purpose (the spread map, see spread): nutpie samples w, and u = M w on blocks of
# the walk's coordinates, M = H diag(1 / s) H^T with H Hadamard's and s from spread_scale
# to 1, so directions turn at different rates and credibility's draws are not antithetic
# (native.KernelModel.spread_map).
PRECOND_ARRAYS = (
    ("pre_on", np.float64, 1),  # [on (1.0) / off (0.0: u = xs), the spread map's log-Jacobian]
    ("pre_mean", np.float64, 1),
    ("pre_sd", np.float64, 1),
    ("pre_coef", np.float64, 1),
    ("pre_prev", np.int64, 1),  # -1: no predecessor; predecessors come first
    ("pre_follow", np.int64, 1),  # 64 w_i: e_i scales by exp(-w_i e_s(i)) (see _unwhiten)
    ("pre_scale_at", np.int64, 1),  # s(i): the log scale coordinate i follows, or -1
    ("pre_spread_at", np.int64, 1),  # spread map: (first coordinate, blocks); 0 blocks: w = u
    ("pre_spread", np.float64, 2),  # the spread map's M (block size x block size)
)


# ----------------------------------------------------------------------------- table rows
# Row of each array in the pointer table (table.pointer_table), in ARRAYS + SAMPLER_ARRAYS +
# PRECOND_ARRAYS order; checked against those lists below.
(
    A_DIMS,
    A_ROLES,
    A_BLK_OFF,
    A_BLK_SIZE,
    A_BLK_TRANSFORM,
    A_BLK_DIST,
    A_BLK_PAR,
    A_BLK_BOUNDS,
    A_ALLIANCE_OF_UNIT,
    A_MEMBER_OF_UNIT,
    A_ACTIVE_WEIGHT,
    A_COVARIATES,
    A_HONORED,
    A_VIOLATED,
    A_OBS_CELL,
    A_OBS_SIGNAL,
    A_OBS_Y,
    A_OBS_TRIALS,
    A_OBS_C1,
    A_OBS_C2,
    A_SIG_OFFSET,
    A_SIG_DIRECTION,
    A_SIG_FAMILY,
    A_SIG_PAR,
    A_SIG_NVEC,
    A_CRISIS_CELL,
    A_CRISIS_OUTCOME,
    A_CRISIS_KIND,
    A_CRISIS_COVARIATES,
    A_WALK_CENTRED,
    A_SIG_PILLAR,
    A_SIG_YEAR,
    A_SIG_UNIT,
    A_PILLAR_KIND,
    A_PILLAR_PHI,
    A_PILLAR_SIGMA,
    A_SIG_MEMBER,
    A_MEMBER_WEIGHT,
    A_PILLAR_WEIGHT,
    A_SAMPLER_KIND,
    A_SAMPLER_REF,
    A_SAMPLER_PAR,
    A_PRE_ON,
    A_PRE_MEAN,
    A_PRE_SD,
    A_PRE_COEF,
    A_PRE_PREV,
    A_PRE_FOLLOW,
    A_PRE_SCALE_AT,
    A_PRE_SPREAD_AT,
    A_PRE_SPREAD,
) = range(51)
N_ARRAYS = len(ARRAYS)
N_PRECOND = N_ARRAYS + len(SAMPLER_ARRAYS)  # first PRECOND_ARRAYS row of the table
N_UNITS = N_PRECOND + len(PRECOND_ARRAYS)  # the row that points at the model units' addresses
N_TABLE = N_UNITS + 1


def _check_rows() -> None:
    names = [name for name, _, _ in ARRAYS + SAMPLER_ARRAYS + PRECOND_ARRAYS]
    for row, name in enumerate(names):
        if globals().get(f"A_{name.upper()}") != row:
            raise AssertionError(f"kernel layout: A_{name.upper()} is not row {row}")
    if len(names) != N_UNITS:
        raise AssertionError("kernel layout: the table rows and the arrays differ in number")


_check_rows()
