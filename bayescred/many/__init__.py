"""Many fits on Dask: batches of fits (:func:`fit_many`), simulation-based calibration,
cross-validation and sweeps, on a local cluster by default or a user's own cluster.

Modules: ``jobs`` (one fit as a job; the worker's function), ``cluster`` (the Dask
client and the kernel warmed once per worker), ``batch`` (fit_many), ``prior_draws``
(datasets from a spec's prior predictive), ``calibrate`` (simulation-based
calibration), ``kfold`` (K-fold and leave-future-out cross-validation), ``sweeps``
(prior sensitivity and what-if scenarios in parallel).
"""

from .batch import ManyFits, fit_many
from .jobs import Job

__all__ = ["Job", "ManyFits", "fit_many"]
