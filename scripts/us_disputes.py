"""US-panel pieces of the build: years in force and militarized-dispute crises.

Imported by ``scripts/build_data.py``; what each rule means and why is written in
``data/README.md`` (``us_alliances``: membership years, crises).
"""

from __future__ import annotations

import pandas as pd

from bayescred import datasets

USA = 2
FORCE = 4  # MID hostility level 4 = use of force (5 = war)

# ATOP dates a commitment by its signature (NATO enlargements by the accession protocol's
# signature). The panel counts a year when the US obligation was in force on some day of
# it: accession (deposit of the instrument) or entry into force. (ATOP id, COW code) ->
# first year in force; only the entries that differ from ATOP inside 1954-2012 are listed.
IN_FORCE_FROM = {
    (3180, 260): 1955,  # West Germany: protocol signed 23 Oct 1954, member 6 May 1955
    (3180, 230): 1982,  # Spain: protocol 10 Dec 1981, member 30 May 1982
    (3180, 290): 1999,  # Poland, Hungary, Czech Republic: protocols 16 Dec 1997,
    (3180, 310): 1999,  #   members 12 Mar 1999
    (3180, 316): 1999,
    (3180, 317): 2004,  # Slovakia, Slovenia, Romania, Bulgaria, Estonia, Latvia,
    (3180, 349): 2004,  #   Lithuania: protocols 26 Mar 2003, members 29 Mar 2004
    (3180, 355): 2004,
    (3180, 360): 2004,
    (3180, 366): 2004,
    (3180, 367): 2004,
    (3180, 368): 2004,
    (3180, 339): 2009,  # Albania, Croatia: protocols 9 Jul 2008, members 1 Apr 2009
    (3180, 344): 2009,
    (3270, 713): 1955,  # US-Taiwan: signed 2 Dec 1954, in force 3 Mar 1955
}
# (ATOP id, COW code) -> last year in force, where ATOP's exit year had no day in force.
IN_FORCE_UNTIL = {
    (3270, 713): 1979,  # US-Taiwan: terminated with effect from 1 Jan 1980
}


def in_force_spells(member: pd.DataFrame) -> pd.DataFrame:
    """ATOP member spells with entry/exit years moved to the years in force (above)."""
    key = list(zip(member.atopid.astype(int), member.member.astype(int)))
    start = pd.Series([IN_FORCE_FROM.get(k) for k in key], index=member.index, dtype="Int64")
    end = pd.Series([IN_FORCE_UNTIL.get(k) for k in key], index=member.index, dtype="Int64")
    return member.assign(
        yrent=start.fillna(member.yrent).astype(int),
        yrexit=end.fillna(member.yrexit).astype(int),
    )


def dispute_crises(
    mid: pd.DataFrame, cells: pd.DataFrame, majors: pd.DataFrame, is_major
) -> pd.DataFrame:
    """Militarized disputes in which a panel ally was targeted from outside the US system.

    One event per (dispute, ally): the ally's first year in the dispute (its onset) must
    be a year of its unit; the ally is on side B (the target side); the US is not among
    its opponents; opponents that were themselves US allies of the panel that year are
    set aside, and the event needs at least one opponent left. The outcome is
    ``honored`` when the US took part in the dispute on the ally's side, else
    ``violated``. Covariates: ``force`` (the dispute reached hostility level 4, use of
    force), ``fatal`` (its fatality level is at least 1; unknown, -9, counts as 0) and
    ``major_opponent`` (an outside opponent was a COW major power in the onset year).
    """
    m = mid.assign(
        member=datasets.member_code(mid.ccode1).to_numpy(),
        opponent=datasets.member_code(mid.ccode2).to_numpy(),
    ).astype({"year": int})
    onset = m.groupby(["dispnum", "member"])["year"].transform("min")
    panel = set(zip(cells.member, cells.year))
    ally = m[(m.year == onset)].merge(cells, on=["member", "year"])
    ally = ally[ally.sidea1 == 0]  # targeted: on the side that did not move first
    against_us = set(ally.loc[ally.ccode2 == USA, "dispnum"].astype(int).astype(str) + ally.member)
    ally_key = ally.dispnum.astype(int).astype(str) + ally.member
    ally = ally[~ally_key.isin(against_us)]
    pairs = zip(ally.opponent, ally.year)
    outside = pd.Series([(o, y) not in panel for o, y in pairs], index=ally.index)
    ally = ally[outside & (ally.ccode2 != USA)]
    ally = ally.assign(major=is_major(ally.ccode2, ally.year, majors).to_numpy())
    us_sides = m[m.ccode1 == USA].groupby("dispnum")["sidea1"].agg(set)
    events = ally.groupby(["dispnum", "member", "alliance", "year"], as_index=False).agg(
        side=("sidea1", "first"),
        hostlev=("hostlev", "max"),
        fatality=("fatality", "max"),
        major_opponent=("major", "max"),
    )
    joined = [s in us_sides.get(d, set()) for d, s in zip(events.dispnum, events.side)]
    return pd.DataFrame(
        {
            "crisis": "MID" + events.dispnum.astype(int).astype(str) + "/" + events.member,
            "year": events.year,
            "member": events.member,
            "alliance": events.alliance,
            "outcome": ["honored" if j else "violated" for j in joined],
            "kind": "dispute",
            "force": (events.hostlev >= FORCE).astype(int),
            "fatal": (events.fatality >= 1).astype(int),
            "major_opponent": events.major_opponent.astype(int),
        }
    )


def war_opponents_major(cowwarid, ally: int, year: int, wars: pd.DataFrame, majors, is_major):
    """1 if a state at war with the ally (COW war dyads) was a major power that year."""
    rows = wars[(wars.warnum == cowwarid) & (wars.ccode1 == ally) & (wars.ccode2 != USA)]
    if rows.empty:
        return 0
    years = pd.Series([year] * len(rows), index=rows.index)
    return int(is_major(rows.ccode2.astype(int), years, majors).any())
