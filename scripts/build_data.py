"""Build the derived example panels under data/ from the public raw files.

Usage::

    python scripts/build_data.py [--raw PATH] [--out PATH]

``--raw`` defaults to ``<repo>/../shared/data/raw`` and ``--out`` to ``<repo>/data``.
The output is deterministic: rows are sorted and numbers formatted with fixed precision,
so re-running reproduces the committed CSVs byte for byte. What each panel holds, and
why, is documented in ``data/README.md``; the counts printed at the end are copied there.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing the package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # sibling build modules

import us_disputes  # noqa: E402
import war_covariates  # noqa: E402

from bayescred import datasets  # noqa: E402
from bayescred.errors import DataError  # noqa: E402

RAW_FILES = {
    "troops": "us_troops_country_year.csv",
    "nmc": "cow_nmc.csv",
    "atop_alliance": "atop_alliance_level.csv",
    "atop_member": "atop_member_level.csv",
    "unga": "unga_voting.csv",
    "mme": "mme_exercises_v7.csv",
    "follow": "berkemeier_fuhrmann_2018.csv",
    "wars": "cow_war_inter.csv",
    "majors": "cow_majors.csv",
    "mid": "cow_mid_ddydisps.csv",
}
USA = 2
SIG_DIGITS = 6  # significant digits written for continuous values
SHARE_CLIP = (0.005, 0.995)  # beta signals must lie strictly inside (0, 1)
OPEN_END = 9999  # ATOP codes "still in force" as exit year 0

# ---------------------------------------------------------------------------- US panel

US_FIRST, US_LAST = 1954, 2012  # the years troops, NMC, ATOP and UNGA (ends 2012) share
MME_FIRST, MME_LAST = 1980, 2010  # MME v7 coverage: exercises are missing outside it
TROOPS_BAD_YEARS = [2008]  # doubled in the troop source (troops_signal)

# US treaty commitments: alliance label -> ATOP ids (in time order). The ally is the
# unit's member; ATOP gives each ally's years in force. US-Japan was renegotiated in
# 1960 (ATOP 3220 -> 3375); the later treaty provides the unit covariates.
US_ALLIANCES = {
    "NATO": [3180],
    "US-JPN": [3220, 3375],
    "US-KOR": [3240],
    "US-PHL": [3210],
    "ANZUS": [3215],
    "US-TWN": [3270],
    "US-PAK": [3355],
}


def us_units(member: pd.DataFrame, alliance: pd.DataFrame) -> pd.DataFrame:
    """One row per (ally, alliance) with its years in force and ATOP provisions.

    Years in force, not ATOP's signature years: see ``us_disputes.IN_FORCE_FROM``.
    """
    in_force = us_disputes.in_force_spells(member)
    rows = []
    for label, ids in US_ALLIANCES.items():
        ours = member.atopid.isin(ids) & (member.member != USA)
        spells = in_force[ours].assign(
            code=datasets.member_code(member.member[ours]).to_numpy(),
            signed=member.yrent[ours],
            exit=in_force.yrexit[ours].mask(in_force.yrexit[ours] == 0, OPEN_END),
        )
        provisions = alliance.set_index("atopid").loc[ids[-1]]
        begyr = int(alliance.set_index("atopid").loc[ids[0], "begyr"])
        for code, g in spells.groupby("code"):
            first, last = max(int(g.yrent.min()), US_FIRST), min(int(g.exit.max()), US_LAST)
            if first > last:
                continue
            rows.append(
                {
                    "member": code,
                    "alliance": label,
                    "first": first,
                    "last": last,
                    "organ": int(provisions.organ1 > 0),
                    "bases": int(provisions.base > 0),
                    "milaid": int(provisions.milaid > 0),
                    "asymmetric": int(provisions.asymm > 0),
                    "bilateral": int(provisions.bilat > 0),
                    "founding": int(g.signed.min() == begyr),
                }
            )
    return pd.DataFrame(rows).sort_values(["member", "alliance"], ignore_index=True)


def unit_years(units: pd.DataFrame) -> pd.DataFrame:
    """Expand units to (member, alliance, year) over each unit's years in force."""
    years = [np.arange(f, last + 1) for f, last in zip(units["first"], units["last"])]
    out = units.loc[units.index.repeat([len(y) for y in years]), ["member", "alliance"]]
    return out.assign(year=np.concatenate(years)).reset_index(drop=True)


def by_member_year(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """Key a state-year table by member code, merging codes that map to one member.

    NMC codes West Germany 260 until 1990 and Germany 255 from 1990 (both in 1990); both
    map to DEU. In the overlap year the higher code (260, West Germany, whose series it
    continues: unification came in October) is kept, so there is one value per year.
    """
    out = frame.assign(member=datasets.member_code(frame.ccode).to_numpy())
    out = out.dropna(subset=["member", value]).sort_values(["member", "year", "ccode"])
    out = out.drop_duplicates(["member", "year"], keep="last")
    return out[["member", "year", value]].assign(year=lambda d: d.year.astype(int))


def troops_signal(troops: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """US active-duty troops stationed in the ally (patron behaviour, counts).

    The source's 2008 figures are about twice those of 2007 and 2009 in every host
    (two quarterly reports added up, see data/README.md): 2008 is left missing.
    """
    troops = troops[~troops.year.isin(TROOPS_BAD_YEARS)]
    t = by_member_year(troops, "troops_ad")
    return cells.merge(t, on=["member", "year"]).rename(columns={"troops_ad": "value"})


def spending_signal(nmc: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Ally military spending per capita relative to the US's, same year.

    Both are in current US dollars, so the ratio needs no deflator; per capita removes
    sheer size. Zero spending (Iceland has no armed forces) cannot enter a lognormal
    and is left out.
    """
    pc = nmc.assign(pc=nmc.milex / nmc.tpop)
    pc = by_member_year(pc[pc.pc > 0], "pc")
    us = pc[pc.member == "USA"].set_index("year")["pc"]
    out = cells.merge(pc, on=["member", "year"])
    return out.assign(value=out.pc / out.year.map(us)).drop(columns="pc").dropna()


def personnel_signal(nmc: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Ally military personnel per head relative to the US's, same year (manpower burden).

    The manpower side of burden sharing, beside ``spending``'s money side: per head, so
    size drops out; relative to the US, so the end of conscription and the Cold War
    drawdowns that every NATO member shared are partly netted out. Zero personnel (Iceland
    has no armed forces) cannot enter a lognormal and is left out, as for ``spending``.
    """
    pp = nmc.assign(pp=nmc.milper / nmc.tpop)
    pp = by_member_year(pp[pp.pp > 0], "pp")
    us = pp[pp.member == "USA"].set_index("year")["pp"]
    out = cells.merge(pp, on=["member", "year"])
    return out.assign(value=out.pp / out.year.map(us)).drop(columns="pp").dropna()


def un_votes_signal(unga: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Share of UNGA votes agreeing with the US, clipped into (0, 1) for a beta."""
    u = unga.rename(columns={"Year": "year"}).dropna(subset=["ccode", "PctAgreeUS"])
    u = by_member_year(u, "PctAgreeUS")
    out = cells.merge(u, on=["member", "year"])
    return out.assign(value=out.PctAgreeUS.clip(*SHARE_CLIP)).drop(columns="PctAgreeUS")


def ideal_distance_signal(unga: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Absolute distance between the ally's and the US's UNGA ideal points, same year.

    Bailey, Strezhnev & Voeten's ideal points are estimated with votes repeated across
    sessions as bridges, so a change in the agenda (which resolutions come to a vote)
    does not move them as it moves ``un_votes``' raw agreement share: this signal follows
    the ally's own drift from the US. Absolute, because an ally to the US's "west" (the
    UK and France in the 1950s-60s) is as far from it as one to its east.
    """
    if "idealpoint" not in unga:
        raise DataError(
            f"{RAW_FILES['unga']}: column idealpoint not found (needed for the "
            "ideal_distance signal)"
        )
    u = unga.rename(columns={"Year": "year"}).dropna(subset=["ccode", "idealpoint"])
    ideal = by_member_year(u, "idealpoint")
    us = ideal[ideal.member == "USA"].set_index("year")["idealpoint"]
    out = cells.merge(ideal, on=["member", "year"])
    gap = (out.idealpoint - out.year.map(us)).abs()
    return out.assign(value=gap).drop(columns="idealpoint").dropna()


def exercises_signal(mme: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Of the US's multinational exercises starting in a year (trials), how many had the
    ally taking part (value): a binomial share.

    A share rather than a count: the number of US multinational exercises moves with the
    times (31 in 1990, 75 in 2002), so counts would put a common time trend into every
    ally's credibility; as a count the signal also let a random-walk latent path follow
    exercises alone (its own posterior mode).  Only MME's 1980-2010 coverage counts, where
    absence from the data means no joint exercise; outside it the cell is missing, not 0.
    """
    m = mme.dropna(subset=["ccode"]).assign(member=lambda d: datasets.member_code(d.ccode))
    us = m.loc[m.member == "USA"].drop_duplicates("exercise")
    trials = us.groupby("year").size().rename("trials").reset_index().astype({"year": int})
    joint = m[m.exercise.isin(us.exercise) & (m.member != "USA")]
    counts = joint.drop_duplicates(["exercise", "member"]).groupby(["member", "year"]).size()
    counts = counts.rename("value").reset_index().astype({"year": int})
    window = cells[cells.year.between(MME_FIRST, MME_LAST)]
    out = window.merge(counts, on=["member", "year"], how="left").fillna({"value": 0})
    return out.merge(trials, on="year", how="left").fillna({"trials": 0})


def build_us_alliances(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """US security commitments to treaty allies, 1954-2012."""
    units = us_units(raw["atop_member"], raw["atop_alliance"])
    cells = unit_years(units)
    signals = {
        "troops": troops_signal(raw["troops"], cells),
        "spending": spending_signal(raw["nmc"], cells),
        "personnel": personnel_signal(raw["nmc"], cells),
        "un_votes": un_votes_signal(raw["unga"], cells),
        "ideal_distance": ideal_distance_signal(raw["unga"], cells),
        "exercises": exercises_signal(raw["mme"], cells),
    }
    observations = pd.concat([df.assign(signal=name) for name, df in signals.items()])
    crises = us_crises(raw, units)
    units = units.drop(columns=["first", "last"])
    return {"observations": observations, "crises": crises, "units": units}


def us_crises(raw: dict[str, pd.DataFrame], units: pd.DataFrame) -> pd.DataFrame:
    """Crises of the panel's US commitments: wars (kind ``war``) and disputes (``dispute``).

    Wars: the war panel's attribution (below) identifies who was obliged; here we keep
    the crises in which the obliged party was the US and the ally is a unit of this panel,
    dated to the first year of the war in which the commitment was in force. SEATO's
    Bangladesh-1971 row duplicates the US-Pakistan one (one US decision), and SEATO is
    not a unit here, so it is not counted twice. Disputes: ``us_disputes.dispute_crises``.
    """
    ids = {i: label for label, id_list in US_ALLIANCES.items() for i in id_list}
    attributed = attribute_crises(raw, scheme="bf")
    us = attributed[(attributed.ccode == USA) & attributed.atopid.isin(ids)]
    span = units.set_index(["member", "alliance"])[["first", "last"]]
    rows = []
    for _, c in us.iterrows():
        label = ids[c.atopid]
        for ally in sorted(set(c.invokers) - {USA}):
            code = datasets.member_code([ally]).iloc[0]
            if (code, label) not in span.index:
                continue
            first, last = span.loc[(code, label)]
            year = max(int(c.year), int(first))
            if year > min(int(c.war_end), int(last)):
                continue  # the commitment was not in force during the war
            major = us_disputes.war_opponents_major(
                c.cowwarid, ally, year, raw["wars"], raw["majors"], is_major
            )
            rows.append(
                {
                    "crisis": c.warname,
                    "year": year,
                    "member": code,
                    "alliance": label,
                    "outcome": c.outcome,
                    "kind": "war",
                    "force": 1,
                    "fatal": 1,
                    "major_opponent": major,
                }
            )
    wars = pd.DataFrame(rows)
    disputes = us_disputes.dispute_crises(raw["mid"], unit_years(units), raw["majors"], is_major)
    return pd.concat([wars, disputes], ignore_index=True)


# ---------------------------------------------------------------------------- war panel

PRE_CRISIS, POST_CRISIS = 10, 5  # years of signals kept around a unit's crises
# Wars absent from COW inter-state war data: years and the alliance members that fought
# (initiators marked), from the war names in the follow-through file and the usual
# accounts (Bizerte: France v Tunisia; Confrontation: Malaysia with the UK v Indonesia;
# Italy's 1939 invasion of its ally Albania).
NON_COW_WARS = {
    93: {"start": 1961, "end": 1961, "fighters": {220: 1961, 616: 1961}, "initiators": {220}},
    94: {
        "start": 1963,
        "end": 1966,
        "fighters": {820: 1963, 200: 1963, 850: 1963},
        "initiators": {850},
    },
    90: {
        "start": 1939,
        "end": 1939,
        "fighters": {325: 1939, 339: 1939},
        "initiators": {325},
        "enemies": {(325, 339)},
    },
}
MAX_OBLIGED = 6  # alliances with more obliged members per war are left out (see README)
# Keep only commitments of COW major powers (in the crisis year): reputation is argued
# about for great powers, each of them holds many commitments (so member reputation is
# identified across units), and all ~170 attributable units would not fit in minutes.
MAJOR_POWERS_ONLY = True


def war_facts(wars: pd.DataFrame) -> dict[int, dict]:
    """Per COW war: start/end years, each fighter's entry year, initiators, enemy pairs."""
    facts = {}
    for warnum, g in wars.groupby("warnum"):
        entry = g.groupby("ccode1")["year"].min()
        facts[int(warnum)] = {
            "start": int(g.year.min()),
            "end": int(g.year.max()),
            "fighters": {int(c): int(y) for c, y in entry.items()},
            "initiators": set(g.loc[g.initiator1 == 1, "ccode1"].astype(int)),
            "enemies": {(int(a), int(b)) for a, b in zip(g.ccode1, g.ccode2)},
        }
    return facts


def attribute_crises(raw: dict[str, pd.DataFrame], scheme: str) -> pd.DataFrame:
    """Turn alliance-war rows into (obliged member, alliance, year, outcome) rows.

    The follow-through file codes the alliance, not the member. For each coded row:

    1. members = ATOP members whose spell overlaps the war;
    2. if members fought each other, the alliance was broken from inside: the obliged
       (and, when violated, guilty) members are the initiators among them, else all of
       them;
    3. otherwise the invokers are the members at war first (war initiators among the
       members if any, else the earliest to enter); every other member was obliged to
       act (join a defence pact's war, stay out under a neutrality pact, ...). If all
       members entered together, invoker and helper cannot be told apart and the outcome
       is recorded for each of them;
    4. the crisis year is when the obliged member's commitment was first tested: the
       invokers' entry year, or the member's alliance entry if later, within the war.

    Rows whose war has no participation data among the members cannot be attributed
    and are dropped.
    """
    follow = raw["follow"].dropna(subset=[f"outcome_{scheme}"])
    facts = war_facts(raw["wars"])
    member = raw["atop_member"].assign(exit=lambda d: d.yrexit.mask(d.yrexit == 0, OPEN_END))
    rows = []
    for _, r in follow.iterrows():
        fact = _war_for(r, facts)
        if fact is None:
            continue
        spells = member[
            (member.atopid == r.atopid)
            & (member.yrent <= fact["end"])
            & (member.exit >= fact["start"])
        ]
        entry = spells.groupby("member")["yrent"].min().astype(int).to_dict()
        obliged, invokers = _obliged(set(entry), fact)
        if not obliged:
            continue
        t0 = min(fact["fighters"].get(i, fact["start"]) for i in invokers)
        for m in sorted(obliged):
            year = max(t0, entry[m])
            if year <= fact["end"]:
                rows.append(
                    {
                        "warid": int(r.warid),
                        "warname": r.warname,
                        "atopid": int(r.atopid),
                        "ccode": m,
                        "year": year,
                        "outcome": r[f"outcome_{scheme}"],
                        "invokers": frozenset(invokers),
                        "n_obliged": len(obliged),
                        "war_end": fact["end"],
                        "cowwarid": r.cowwarid,
                        "multilateral": r.multilateral,
                        "enemies": frozenset(b for a, b in fact["enemies"] if a in invokers),
                    }
                )
    return pd.DataFrame(rows)


def _war_for(row: pd.Series, facts: dict[int, dict]) -> dict | None:
    if pd.notna(row.cowwarid):
        return facts.get(int(row.cowwarid))
    extra = NON_COW_WARS.get(int(row.warid))
    return None if extra is None else {"enemies": set(), **extra}


def _obliged(members: set[int], fact: dict) -> tuple[set[int], set[int]]:
    """(obliged members, invoking members) of one alliance in one war; see above."""
    fighting = {m for m in members if m in fact["fighters"]}
    if not fighting:
        return set(), set()
    internal = {m for a, b in fact["enemies"] if a in members and b in members for m in (a, b)}
    if internal:
        guilty = (internal & fact["initiators"]) or internal
        return guilty, internal - guilty or internal
    invokers = fighting & fact["initiators"]
    if not invokers:
        first = min(fact["fighters"][m] for m in fighting)
        invokers = {m for m in fighting if fact["fighters"][m] == first}
    obliged = members - invokers
    return (obliged, invokers) if obliged else (set(invokers), set(invokers))


def build_wars(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Alliance commitments invoked in wars, 1816-2003, with both follow-through codings,
    crisis-level covariates and the accounting of every coded source row."""
    coded = {s: attribute_crises(raw, s) for s in ("bf", "llm")}
    attributed = pd.concat(coded.values()).drop_duplicates(["warid", "atopid", "ccode"])
    attributed = attributed.assign(major=is_major(attributed.ccode, attributed.year, raw["majors"]))
    for s, c in coded.items():
        keep = c.n_obliged <= MAX_OBLIGED
        if MAJOR_POWERS_ONLY:
            keep &= is_major(c.ccode, c.year, raw["majors"])
        coded[s] = c[keep].reset_index(drop=True)
    both = pd.concat(coded.values())
    units = war_units(both, raw["atop_member"], raw["atop_alliance"])
    cells = war_cells(units, both, raw["atop_member"])
    observations = war_signals(raw["nmc"], cells, raw["atop_member"])
    crises = {s: war_crisis_table(c, raw) for s, c in coded.items()}
    facts = war_facts(raw["wars"])
    missing = {int(r.warid) for _, r in raw["follow"].iterrows() if _war_for(r, facts) is None}
    rows = war_covariates.source_rows(raw["follow"], attributed, missing, coded, MAX_OBLIGED)
    return {
        "observations": observations,
        "crises": crises["bf"],
        "crises_llm": crises["llm"],
        "units": units,
        "source_rows": rows,
    }


def is_major(ccode: pd.Series, year: pd.Series, majors: pd.DataFrame) -> pd.Series:
    """Whether each state was a COW major power in that year."""
    spells = majors[["ccode", "styear", "endyear"]].astype(int)
    pairs = pd.DataFrame({"ccode": ccode.to_numpy(), "year": year.to_numpy()})
    hit = pairs.reset_index().merge(spells, on="ccode")
    hit = hit[(hit.styear <= hit.year) & (hit.year <= hit.endyear)]
    return pd.Series(pairs.index.isin(hit["index"]), index=ccode.index)


def war_crisis_table(coded: pd.DataFrame, raw: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Crises in the data-contract layout, one per (war, alliance, obliged member), with
    ``kind`` = ``war`` and the crisis-level covariates of ``war_covariates``."""
    code = datasets.member_code(coded.ccode).to_numpy()
    alliance = "ATOP" + coded.atopid.astype(str)
    name = coded.warname.str.replace(r"\s+", "", regex=True)
    table = pd.DataFrame(
        {
            "crisis": (name + "/" + alliance + "/" + code).to_numpy(),
            "year": coded.year.to_numpy(),
            "member": code,
            "alliance": alliance.to_numpy(),
            "outcome": coded.outcome.astype(str).to_numpy(),
            "kind": "war",
        }
    )
    return pd.concat([table, war_covariates.crisis_covariates(coded, raw)], axis=1)


def war_units(coded: pd.DataFrame, member: pd.DataFrame, alliance: pd.DataFrame):
    """Units with treaty-clarity covariates from ATOP (member-level where it varies)."""
    keys = coded[["ccode", "atopid"]].drop_duplicates()
    prov = alliance.set_index("atopid")
    size = member.groupby("atopid")["member"].nunique()
    rows = []
    for ccode, atopid in keys.itertuples(index=False):
        p = prov.loc[atopid]
        rows.append(
            {
                "member": datasets.member_code([ccode]).iloc[0],
                "alliance": f"ATOP{atopid}",
                "ccode": ccode,
                "atopid": atopid,
                "defense": int(p.defense > 0),
                "offense": int(p.offense > 0),
                "neutral": int(p.neutral > 0),
                "conditional": int(p.conditio > 0),
                "specific_threat": int(p.specthrt > 0),
                "milcon": int(p.milcon > 0),
                "organ": int(p.organ1 > 0),
                "secret": int(p.pubsecr > 0),
                "bilateral": int(size.get(atopid, 2) <= 2),
            }
        )
    return pd.DataFrame(rows).sort_values(["member", "alliance"], ignore_index=True)


def war_cells(units: pd.DataFrame, coded: pd.DataFrame, member: pd.DataFrame):
    """Unit-years kept: PRE_CRISIS before the first crisis to POST_CRISIS after the last,
    within the member's years in the alliance."""
    spans = coded.groupby(["ccode", "atopid"])["year"].agg(["min", "max"])
    m = member.assign(exit=member.yrexit.mask(member.yrexit == 0, OPEN_END))
    membership = m.groupby(["member", "atopid"]).agg(entry=("yrent", "min"), exit=("exit", "max"))
    rows = []
    for u in units.itertuples(index=False):
        lo, hi = spans.loc[(u.ccode, u.atopid)]
        entry, exit_ = membership.loc[(u.ccode, u.atopid)]
        first, last = max(lo - PRE_CRISIS, entry), min(hi + POST_CRISIS, exit_)
        rows += [(u.member, u.alliance, u.ccode, u.atopid, y) for y in range(first, last + 1)]
    return pd.DataFrame(rows, columns=["member", "alliance", "ccode", "atopid", "year"])


def war_signals(nmc: pd.DataFrame, cells: pd.DataFrame, member: pd.DataFrame):
    """Member capability signals from NMC: see data/README.md for each transformation."""
    world = nmc.groupby("year")[["milex", "milper"]].sum()
    s = nmc.assign(
        milex_share=nmc.milex / nmc.year.map(world.milex),
        milper_pc=nmc.milper / nmc.tpop * 1000,
    )
    s = s.assign(year=s.year.astype(int), ccode=s.ccode.astype(int))
    base = cells.merge(
        s[["ccode", "year", "milex_share", "milper_pc", "cinc"]], on=["ccode", "year"]
    )
    share = alliance_share(nmc, cells, member)
    out = [
        base[["member", "alliance", "year"]].assign(signal="milex_share", value=base.milex_share),
        base[["member", "alliance", "year"]].assign(signal="milper_pc", value=base.milper_pc),
        share.assign(signal="cap_share"),
    ]
    obs = pd.concat(out).dropna()
    return obs[obs.value > 0]


def alliance_share(nmc: pd.DataFrame, cells: pd.DataFrame, member: pd.DataFrame):
    """Member's share of the CINC of the alliance's members in force that year."""
    m = member.assign(exit=member.yrexit.mask(member.yrexit == 0, OPEN_END))
    m = m[m.atopid.isin(cells.atopid.unique())]
    years = cells[["atopid", "year"]].drop_duplicates()
    inforce = years.merge(m[["atopid", "member", "yrent", "exit"]], on="atopid")
    inforce = inforce[(inforce.yrent <= inforce.year) & (inforce.exit >= inforce.year)]
    inforce = inforce.drop_duplicates(["atopid", "year", "member"])
    cinc = nmc[["ccode", "year", "cinc"]].dropna().astype({"ccode": int, "year": int})
    inforce = inforce.merge(cinc, left_on=["member", "year"], right_on=["ccode", "year"])
    total = inforce.groupby(["atopid", "year"])["cinc"].sum().rename("total")
    own = cells.merge(cinc, on=["ccode", "year"]).join(total, on=["atopid", "year"])
    share = (own.cinc / own.total).clip(*SHARE_CLIP)
    return own[["member", "alliance", "year"]].assign(value=share)


# ---------------------------------------------------------------------------- output


def load_raw(raw_dir: Path) -> dict[str, pd.DataFrame]:
    """Read every raw file through bayescred.datasets; fail clearly if one is missing."""
    if not raw_dir.is_dir():
        raise DataError(f"{raw_dir}: raw data folder not found (pass --raw PATH)")
    missing = [f for f in RAW_FILES.values() if not (raw_dir / f).is_file()]
    if missing:
        raise DataError(f"{raw_dir}: missing raw file(s) {', '.join(missing)}")
    readers = {
        "troops": datasets.read_us_troops,
        "nmc": datasets.read_cow_nmc,
        "atop_alliance": datasets.read_atop_provisions,
        "atop_member": datasets.read_atop_provisions,
        "unga": datasets.read_unga_voting,
        "mme": datasets.read_mme_exercises,
        "follow": datasets.read_follow_through,
        "wars": datasets.read_cow_war_inter,
        "majors": datasets.read_cow_majors,
        "mid": datasets.read_cow_mid_dyadic,
    }
    return {key: readers[key](raw_dir / name) for key, name in RAW_FILES.items()}


INTEGER_SIGNALS = {"troops", "exercises"}


def format_observations(obs: pd.DataFrame) -> pd.DataFrame:
    """Sort, check uniqueness and format values: counts as integers, others to 6 digits;
    ``trials`` (binomial signals) as integers, empty for the other signals."""
    columns = ["member", "alliance", "year", "signal", "value"]
    has_trials = "trials" in obs and obs["trials"].notna().any()
    obs = obs[columns + (["trials"] if has_trials else [])].copy()
    obs["year"] = obs["year"].astype(int)
    obs = obs.sort_values(["member", "alliance", "signal", "year"], ignore_index=True)
    key = ["member", "alliance", "year", "signal"]
    if obs.duplicated(key).any():
        raise DataError(f"duplicated observation cells: {obs[obs.duplicated(key)].head()}")
    is_count = obs.signal.isin(INTEGER_SIGNALS)
    obs["value"] = [
        str(int(v)) if c else f"{v:.{SIG_DIGITS}g}" for v, c in zip(obs.value, is_count)
    ]
    if has_trials:
        obs["trials"] = ["" if pd.isna(n) else str(int(n)) for n in obs.trials]
    return obs


def write_panel(frames: dict[str, pd.DataFrame], out: Path) -> None:
    """Write a panel's CSVs with stable ordering and line endings."""
    out.mkdir(parents=True, exist_ok=True)
    for name, df in frames.items():
        if name == "observations":
            df = format_observations(df)
        elif name.startswith("crises"):
            df = df.sort_values(["year", "member", "alliance", "crisis"], ignore_index=True)
            df = df.map(lambda v: f"{v:.{SIG_DIGITS}g}" if isinstance(v, float) else v)
        elif name == "source_rows":
            pass  # sorted by war and alliance where built
        else:
            df = df.drop(columns=[c for c in ("ccode", "atopid") if c in df])
            df = df.sort_values(["member", "alliance"], ignore_index=True)
        df.to_csv(out / f"{name}.csv", index=False, lineterminator="\n")


def summary(name: str, frames: dict[str, pd.DataFrame]) -> str:
    """Counts to copy into data/README.md."""
    obs = frames["observations"]
    lines = [
        f"{name}: {len(frames['units'])} units, years {obs.year.min()}-{obs.year.max()}, "
        f"{len(obs)} observations"
    ]
    for sig, g in obs.groupby("signal"):
        n_units = len(g[["member", "alliance"]].drop_duplicates())
        lines.append(
            f"  {sig}: {len(g)} observations, {n_units} units, years {g.year.min()}-{g.year.max()}"
        )
    for key in [k for k in frames if k.startswith("crises")]:
        counts = frames[key].outcome.value_counts().to_dict()
        lines.append(f"  {key}: {len(frames[key])} {counts}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--raw",
        type=Path,
        default=REPO.parent / "shared" / "data" / "raw",
        help="folder with the public raw CSVs (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "data",
        help="where to write the panels (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        raw = load_raw(args.raw)
        panels = {"us_alliances": build_us_alliances(raw), "wars_1816_2003": build_wars(raw)}
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, frames in panels.items():
        write_panel(frames, args.out / name)
        print(summary(name, frames))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
