"""Kernel code for a family written as one function of one observation.

A family's kernel code sums one signal's rows (:class:`~bayescred.families.base.
KernelCode`).  Most families need no more than the log-density of one row and its
derivatives, and :func:`rows_from_pointwise` writes the loop around it::

    def _point():
        from ..kernel.scalars import kernel_function

        @kernel_function(inline="always", cache=False)
        def point(y, trials, c1, c2, eta, p0, p1):
            ...
            return loglik, d_eta, d_p0, d_p1
        return point

    kernel = KernelCode(rows_from_pointwise(_point))

``p0`` and ``p1`` are the family's first two parameters (constrained values; 0.0 where
the family has fewer) and ``d_p0``, ``d_p1`` the derivatives by them.  A hand-written loop
can be faster (the negative binomial's vectorises its exp and log), never more correct.
"""

from __future__ import annotations

MAX_PARAMS = 2  # scalar parameters a family may have (kernel.layout's sig_par columns)


def rows_from_pointwise(point_factory):
    """A :class:`KernelCode` ``rows`` factory from a factory of a pointwise function."""

    def factory():
        from ..kernel.scalars import kernel_function

        point = point_factory()

        @kernel_function(cache=False)
        def rows(rows, cred, g_cred, cell, obs_y, trials, c1, c2, icpt, slope, val, gval,
                 par, n_vec):  # fmt: skip
            p0 = val[par[0]] if par[0] >= 0 else 0.0
            p1 = val[par[1]] if par[1] >= 0 else 0.0
            ll, g_a, g_l, g0, g1 = 0.0, 0.0, 0.0, 0.0, 0.0
            for i in range(rows[0], rows[1]):
                th = cred[cell[i]]
                lp_i, d, d0, d1 = point(obs_y[i], trials[i], c1[i], c2[i], icpt + slope * th,
                                        p0, p1)  # fmt: skip
                ll += lp_i
                g_a += d
                g_l += d * th
                g0 += d0
                g1 += d1
                g_cred[cell[i]] += d * slope
            if par[0] >= 0:
                gval[par[0]] += g0
            if par[1] >= 0:
                gval[par[1]] += g1
            return ll, g_a, g_l

        return rows

    return factory
