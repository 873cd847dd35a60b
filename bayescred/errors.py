"""Exceptions raised at the package boundary.

Every message names the file, column, row(s) or key at fault and says what was expected,
so the command line can print it as-is without a traceback.
"""


class BayescredError(Exception):
    """Base class of every error bayescred raises on purpose."""


class DataError(BayescredError):
    """Input data (observations, crises, units, scenarios) break the data contract."""


class SpecError(BayescredError):
    """A model spec or scenario has an unknown key or an invalid value."""


class ResultError(BayescredError):
    """A result file is missing, corrupt, not a bayescred result, or from another version."""


class SettingError(BayescredError):
    """An environment variable that bayescred reads has an invalid value."""


class OutputError(BayescredError):
    """An output path cannot be written, or must not be (an input of the run, a file that
    is not a bayescred result)."""


class ClusterError(BayescredError):
    """A Dask cluster cannot be reached or used (a scheduler address that does not answer,
    a client that is closed)."""
