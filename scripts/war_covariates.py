"""War-panel pieces of the build: crisis-level covariates and the source-row accounting.

Imported by ``scripts/build_data.py``; ``data/README.md`` (``wars_1816_2003``) defines
each column and reads the accounting.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayescred import datasets

OPEN_END = 9999
FIRST_NMC_YEAR = 1816


def crisis_covariates(coded: pd.DataFrame, raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per attributed crisis: the follow-through covariates of Leeds (2003) that the raw
    files allow (regime change needs regime data, which the raw folder does not hold;
    change in major-power status is 0 for every crisis kept, so it is not written).

    ``multilateral`` (source column), ``years_in_force`` (crisis year minus the member's
    ATOP entry year), ``cap_change`` (log of the member's CINC in the crisis year over its
    CINC in the entry year, 1816 for earlier entries) and ``original_target`` (1 if a
    state at war with the invokers is a threat the treaty names, ATOP ``statthr1/2``).
    """
    member = raw["atop_member"]
    entry = member.groupby(["atopid", "member"])["yrent"].min().astype(int)
    start = np.array([entry[(a, m)] for a, m in zip(coded.atopid, coded.ccode)])
    base_year = np.maximum(start, FIRST_NMC_YEAR)
    cinc = raw["nmc"].dropna(subset=["cinc"]).astype({"ccode": int, "year": int})
    cinc = cinc.set_index(["ccode", "year"])["cinc"]
    now = cinc.reindex(list(zip(coded.ccode, coded.year))).to_numpy()
    then = cinc.reindex(list(zip(coded.ccode, base_year))).to_numpy()
    threats = raw["atop_alliance"].set_index("atopid")[["statthr1", "statthr2"]].fillna(0)
    named = [
        bool(set(threats.loc[a].astype(int)) & set(enemies) - {0})
        for a, enemies in zip(coded.atopid, coded.enemies)
    ]
    return pd.DataFrame(
        {
            "multilateral": coded.multilateral.astype(int).to_numpy(),
            "years_in_force": coded.year.to_numpy() - start,
            "cap_change": np.log(now / then),
            "original_target": np.array(named, dtype=int),
        }
    )


def source_rows(
    follow: pd.DataFrame,
    attributed: pd.DataFrame,
    missing_war: set[int],
    kept: dict[str, pd.DataFrame],
    max_obliged: int,
) -> pd.DataFrame:
    """One line per coded row of the follow-through file: kept, or dropped and why.

    ``attributed`` holds the attribution of every coded row before the panel's filters
    (columns ``warid, atopid, ccode, major, n_obliged``), ``missing_war`` the warids with
    no participation data; ``kept`` the crises of each scheme after the filters.
    """
    coded = follow[follow.outcome_bf.notna() | follow.outcome_llm.notna()]
    out = coded[["warid", "warname", "atopid", "outcome_bf", "outcome_llm"]].copy()
    out["atopid"] = out.atopid.astype(int)
    groups = attributed.groupby(["warid", "atopid"])
    obliged = groups["ccode"].agg(lambda c: " ".join(datasets.member_code(sorted(set(c)))))
    majors = groups.apply(lambda g: " ".join(datasets.member_code(sorted(set(g.ccode[g.major])))))
    key = list(zip(out.warid, out.atopid))
    out["obliged"] = [obliged.get(k, "") for k in key]
    out["obliged_major"] = [majors.get(k, "") for k in key]
    for scheme, crises in kept.items():
        n = crises.groupby(["warid", "atopid"]).size()
        out[f"n_crises_{scheme}"] = [int(n.get(k, 0)) for k in key]
    out["reason"] = [_reason(k, obliged, majors, missing_war, attributed, max_obliged) for k in key]
    out["status"] = np.where(out.reason.isna(), "kept", "dropped")
    return out.sort_values(["warid", "atopid"], ignore_index=True)


def _reason(key, obliged, majors, missing_war, attributed, max_obliged) -> str | None:
    if key[0] in missing_war:
        return "war absent from COW inter-state war data (no participants to attribute)"
    if key not in obliged.index:
        return "no member of the alliance fought in the war while a member"
    n = attributed.loc[(attributed.warid == key[0]) & (attributed.atopid == key[1]), "n_obliged"]
    if n.max() > max_obliged:
        return f"more than {max_obliged} obliged members: outcome coded for the alliance"
    if not majors.get(key, ""):
        return "no obliged member was a COW major power in the crisis year"
    return None
