"""Tests of the public-data readers, the derived example panels and load_example."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from bayescred import datasets
from bayescred.errors import DataError

REPO = Path(__file__).resolve().parents[1]
RAW = REPO.parent / "shared" / "data" / "raw"
_skip_without_raw = pytest.mark.skipif(
    not RAW.is_dir(), reason=f"public raw data not available at {RAW} (see data/README.md)"
)


def needs_raw(test):
    """Mark a test as reading ../shared/data/raw and skip it when that is absent."""
    return pytest.mark.rawdata(_skip_without_raw(test))


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# Each reader with a minimal good file and one column it cannot do without.
GOOD = {
    "read_us_troops": (
        "countryname,year,ccode,troops_ad\nGermany,1990,255,227586\nJapan,1990,740,46593\n",
        "troops_ad",
    ),
    "read_cow_nmc": (
        "ccode,year,milex,milper,tpop,cinc\n2.0,1990.0,289755000,2180,250132,0.14\n"
        "395.0,1990.0,-9,0,255,0.0\n",
        "milper",
    ),
    "read_atop_dyad_year": (
        "ccode1,ccode2,year,atop_defense,atop_offense,atop_neutral,atop_nonagg,atop_consul\n"
        "2.0,20.0,1990.0,1.0,0.0,0.0,0.0,1.0\n",
        "atop_defense",
    ),
    "read_atop_provisions": (
        "atopid,member,yrent,yrexit,defense,offense,neutral,nonagg,consul\n"
        "3180,2,1949,0,1,0,0,0,1\n3180,20,1949,0,1,0,0,0,1\n",
        "defense",
    ),
    "read_unga_voting": (
        "Year,CountryAbb,CountryName,PctAgreeUS\n1990,JPN,Japan,0.4\n1990,SSUD,x,0.2\n",
        "PctAgreeUS",
    ),
    "read_mme_exercises": (
        "MMEID,Ex_Name,s.year,StateA,StateB,StateC\nmme1,Team Spirit,1990,United States,"
        "South Korea,\nmme2,Baltops,1991,Germany,-9,NATO\n",
        "s.year",
    ),
    "read_follow_through": (
        "warid,atopid,cowwarid,warname,honorBF,violateBF,honorLLM,violateLLM\n"
        "57,3270.0,153.0,OffShoreIslands,,1.0,,1.0\n4,1050.0,10.0,Austro-Sardinian,,,,1.0\n",
        "violateBF",
    ),
    "read_cow_war_inter": (
        "warnum,ccode1,ccode2,year,sidea1,sidea2,initiator1,initiator2\n"
        "151.0,2.0,731.0,1950.0,1.0,2.0,0.0,1.0\n",
        "initiator1",
    ),
    "read_cow_majors": ("ccode,styear,endyear\n2.0,1898.0,2016.0\n", "endyear"),
    "read_cow_mid_dyadic": (
        "dispnum,ccode1,ccode2,year,sidea1,orig1,hostlev,fatality\n"
        "173.0,713.0,710.0,1958.0,0.0,1.0,4.0,-9.0\n",
        "hostlev",
    ),
}


@pytest.mark.parametrize("reader", sorted(GOOD))
def test_reader_parses_good_file(tmp_path, reader):
    text, _ = GOOD[reader]
    df = getattr(datasets, reader)(write(tmp_path / "f.csv", text))
    assert len(df) >= 1


@pytest.mark.parametrize("reader", sorted(GOOD))
def test_reader_names_missing_columns(tmp_path, reader):
    text, column = GOOD[reader]
    header, *rows = text.splitlines()
    cols = header.split(",")
    i = cols.index(column)
    cut = "\n".join(
        ",".join(v for j, v in enumerate(r.split(",")) if j != i) for r in [header, *rows]
    )
    path = write(tmp_path / "bad.csv", cut + "\n")
    with pytest.raises(DataError, match=column) as err:
        getattr(datasets, reader)(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("reader", sorted(GOOD))
def test_reader_rejects_empty_file(tmp_path, reader):
    path = write(tmp_path / "empty.csv", "")
    with pytest.raises(DataError, match="empty") as err:
        getattr(datasets, reader)(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("reader", sorted(GOOD))
def test_reader_rejects_header_without_rows(tmp_path, reader):
    header = GOOD[reader][0].splitlines()[0]
    with pytest.raises(DataError, match="no rows"):
        getattr(datasets, reader)(write(tmp_path / "h.csv", header + "\n"))


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        datasets.read_us_troops(tmp_path / "nope.csv")


def test_cow_missing_code_becomes_nan(tmp_path):
    df = datasets.read_cow_nmc(write(tmp_path / "n.csv", GOOD["read_cow_nmc"][0]))
    assert df.ccode.tolist() == [2, 395]
    assert pd.isna(df.milex.iloc[1])


def test_atop_level_is_recognised(tmp_path):
    member = datasets.read_atop_provisions(
        write(tmp_path / "m.csv", GOOD["read_atop_provisions"][0])
    )
    assert set(member.level) == {"member"}
    alliance = datasets.read_atop_provisions(
        write(
            tmp_path / "a.csv",
            "atopid,begyr,endyr,defense,offense,neutral,nonagg,consul\n3180,1949,0,1,0,0,0,1\n",
        )
    )
    assert set(alliance.level) == {"alliance"}
    with pytest.raises(DataError, match="yrent"):
        datasets.read_atop_provisions(
            write(
                tmp_path / "x.csv",
                "atopid,member,defense,offense,neutral,nonagg,consul\n1,2,1,0,0,0,0\n",
            )
        )


def test_unga_maps_cow_abbreviations(tmp_path):
    df = datasets.read_unga_voting(write(tmp_path / "u.csv", GOOD["read_unga_voting"][0]))
    assert df.ccode.tolist() == [740, 626]


def test_mme_long_format_and_latin1(tmp_path):
    text = GOOD["read_mme_exercises"][0].replace("South Korea", "Côte d'Ivoire")
    path = write(tmp_path / "m.csv", text, encoding="latin-1")
    df = datasets.read_mme_exercises(path)
    assert set(df.columns) >= {"exercise", "mmeid", "year", "participant", "ccode"}
    assert "Côte d'Ivoire" in set(df.participant)
    assert "-9" not in set(df.participant)
    first = df[df.exercise == 0]
    assert sorted(first.ccode.tolist()) == [2, 437]
    nato = df[df.participant == "NATO"]
    assert nato.ccode.isna().all()


def test_follow_through_outcomes(tmp_path):
    df = datasets.read_follow_through(write(tmp_path / "f.csv", GOOD["read_follow_through"][0]))
    assert df.outcome_bf.tolist()[0] == "violated"
    assert pd.isna(df.outcome_bf.iloc[1])
    assert df.outcome_llm.tolist() == ["violated", "violated"]
    bad = GOOD["read_follow_through"][0].replace(",,1.0,,1.0", ",1.0,1.0,,1.0")
    with pytest.raises(DataError, match="both 1"):
        datasets.read_follow_through(write(tmp_path / "b.csv", bad))


def test_member_codes():
    assert list(datasets.member_code([2, 255, 260, 732, 730, 315, 300])) == [
        "USA",
        "DEU",
        "DEU",
        "KOR",
        "KRE",
        "CSK",
        "AUH",
    ]
    table = datasets.country_codes()
    assert table.ccode.is_unique
    shared = table[table.code.duplicated(keep=False)]
    assert sorted(shared.ccode) == [255, 260]  # the only deliberate merge


# ---------------------------------------------------------------------------- raw data


def _build_script():
    spec = importlib.util.spec_from_file_location("build_data", REPO / "scripts" / "build_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not RAW.is_dir():
        pytest.skip(f"public raw data not available at {RAW}")
    out = tmp_path_factory.mktemp("data")
    assert _build_script().main(["--raw", str(RAW), "--out", str(out)]) == 0
    return out


def test_build_script_fails_clearly_without_raw(tmp_path, capsys):
    assert _build_script().main(["--raw", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 1
    assert "raw data folder not found" in capsys.readouterr().err
    (tmp_path / "raw").mkdir()
    assert _build_script().main(["--raw", str(tmp_path / "raw"), "--out", str(tmp_path)]) == 1
    assert "us_troops_country_year.csv" in capsys.readouterr().err


@needs_raw
def test_build_script_fails_clearly_without_ideal_points(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    for f in RAW.glob("*.csv"):
        (raw / f.name).symlink_to(f)
    (raw / "unga_voting.csv").unlink()
    unga = pd.read_csv(RAW / "unga_voting.csv").drop(columns="idealpoint")
    unga.to_csv(raw / "unga_voting.csv", index=False)
    assert _build_script().main(["--raw", str(raw), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "unga_voting.csv: column idealpoint not found" in err and len(err.splitlines()) == 1


@needs_raw
def test_build_reproduces_committed_files(built):
    committed = sorted(p.relative_to(REPO / "data") for p in (REPO / "data").rglob("*.csv"))
    rebuilt = sorted(p.relative_to(built) for p in built.rglob("*.csv"))
    assert rebuilt == committed
    for rel in committed:
        assert (built / rel).read_bytes() == (REPO / "data" / rel).read_bytes(), rel


@needs_raw
@pytest.mark.parametrize("member,ccode", [("DEU", 255), ("JPN", 740), ("KOR", 732)])
@pytest.mark.parametrize("year", [1960, 1985, 2005])
def test_troops_equal_raw(member, ccode, year):
    obs = pd.read_csv(REPO / "data" / "us_alliances" / "observations.csv")
    raw = pd.read_csv(RAW / "us_troops_country_year.csv")
    want = raw[(raw.ccode == ccode) & (raw.year == year)].troops_ad.item()
    got = obs[(obs.member == member) & (obs.year == year) & (obs.signal == "troops")]
    assert got.value.item() == want


@needs_raw
@pytest.mark.parametrize(
    "member,abb,year",
    [("JPN", "JPN", 1970), ("GBR", "UKG", 1985), ("DEU", "GFR", 2000), ("KOR", "ROK", 2010)],
)
def test_un_votes_equal_raw(member, abb, year):
    obs = pd.read_csv(REPO / "data" / "us_alliances" / "observations.csv")
    raw = pd.read_csv(RAW / "unga_voting.csv")
    want = raw[(raw.CountryAbb == abb) & (raw.Year == year)].PctAgreeUS.item()
    got = obs[(obs.member == member) & (obs.year == year) & (obs.signal == "un_votes")]
    assert got.value.item() == pytest.approx(min(max(want, 0.005), 0.995), rel=1e-5)


@needs_raw
@pytest.mark.parametrize(
    "member,abb,year",
    [("JPN", "JPN", 1970), ("GBR", "UKG", 1957), ("DEU", "GFR", 2000), ("TUR", "TUR", 2010)],
)
def test_ideal_distance_equal_raw(member, abb, year):
    """|ally's ideal point - the US's| in the same year (GBR 1957 lies on the US's far side)."""
    obs = pd.read_csv(REPO / "data" / "us_alliances" / "observations.csv")
    raw = pd.read_csv(RAW / "unga_voting.csv").set_index(["CountryAbb", "Year"]).idealpoint
    want = abs(raw[(abb, year)] - raw[("USA", year)])
    got = obs[(obs.member == member) & (obs.year == year) & (obs.signal == "ideal_distance")]
    assert got.value.item() == pytest.approx(want, rel=1e-5)


@needs_raw
@pytest.mark.parametrize("member,ccode,year", [("DEU", 260, 1970), ("KOR", 732, 1990)])
def test_personnel_equal_raw(member, ccode, year):
    """(ally milper / tpop) / (US milper / tpop), same year."""
    obs = pd.read_csv(REPO / "data" / "us_alliances" / "observations.csv")
    nmc = datasets.read_cow_nmc(RAW / "cow_nmc.csv").set_index(["ccode", "year"])
    per_head = nmc.milper / nmc.tpop
    want = per_head[(ccode, year)] / per_head[(2, year)]
    got = obs[(obs.member == member) & (obs.year == year) & (obs.signal == "personnel")]
    assert got.value.item() == pytest.approx(want, rel=1e-5)


@needs_raw
def test_iceland_zero_personnel_is_left_out_not_floored():
    """Iceland has no armed forces: NMC's milper is 0 (or missing) in every panel year, so
    it has no personnel row at all, and keeps its other signals."""
    obs = pd.read_csv(REPO / "data" / "us_alliances" / "observations.csv")
    nmc = datasets.read_cow_nmc(RAW / "cow_nmc.csv")
    years = obs.loc[obs.member == "ISL", "year"].unique()
    iceland = nmc[(nmc.ccode == 395) & nmc.year.isin(years)]
    assert (iceland.milper.fillna(0) == 0).all()
    assert (iceland.milper == 0).sum() == 57
    signals = set(obs.loc[obs.member == "ISL", "signal"])
    assert "personnel" not in signals and {"troops", "un_votes", "ideal_distance"} <= signals
    assert (obs.loc[obs.signal == "personnel", "value"] > 0).all()


@needs_raw
@pytest.mark.parametrize("member,ccode,year", [("GBR", 200, 1985), ("JPN", 740, 2000)])
def test_exercises_equal_raw(member, ccode, year):
    """Exercises: of the US's multinational exercises starting that year, those with the ally."""
    obs = pd.read_csv(REPO / "data" / "us_alliances" / "observations.csv")
    mme = datasets.read_mme_exercises(RAW / "mme_exercises_v7.csv")
    us = set(mme.loc[mme.ccode == 2, "exercise"])
    year_rows = mme[(mme.year == year) & mme.exercise.isin(us)]
    trials = year_rows.exercise.nunique()
    joint = year_rows.loc[year_rows.ccode == ccode, "exercise"].nunique()
    got = obs[(obs.member == member) & (obs.year == year) & (obs.signal == "exercises")]
    assert (got.value.item(), got.trials.item()) == (joint, trials)


@needs_raw
def test_dispute_crises_equal_raw():
    """Each dispute crisis: the ally is targeted (side B) at onset, the US is not among its
    opponents, and the outcome says whether the US was in the dispute on the ally's side."""
    crises = pd.read_csv(REPO / "data" / "us_alliances" / "crises.csv")
    disputes = crises[crises.kind == "dispute"]
    mid = pd.read_csv(RAW / "cow_mid_ddydisps.csv")
    mid = mid.assign(member=datasets.member_code(mid.ccode1.astype(int)).to_numpy())
    assert len(disputes) > 200
    for c in disputes.itertuples():
        dispnum = int(c.crisis.removeprefix("MID").split("/")[0])
        rows = mid[(mid.dispnum == dispnum) & (mid.member == c.member)]
        assert rows.year.min() == c.year
        assert (rows.sidea1 == 0).all() and not (rows.ccode2 == 2).any()
        us_sides = set(mid.loc[(mid.dispnum == dispnum) & (mid.ccode1 == 2), "sidea1"])
        assert (c.outcome == "honored") == (0 in us_sides), c.crisis
        assert c.force == int(rows.hostlev.max() >= 4)


@needs_raw
def test_war_rows_accounted_for():
    """Every coded row of the follow-through file is listed once, kept or with a reason."""
    rows = pd.read_csv(REPO / "data" / "wars_1816_2003" / "source_rows.csv")
    follow = pd.read_csv(RAW / "berkemeier_fuhrmann_2018.csv")
    coded = follow[(follow.honorBF == 1) | (follow.violateBF == 1)]
    bf = rows[rows.outcome_bf.notna()]
    assert len(bf) == len(coded)
    assert not rows.duplicated(["warid", "atopid"]).any()
    crises = pd.read_csv(REPO / "data" / "wars_1816_2003" / "crises.csv")
    kept = bf[bf.status == "kept"]
    assert kept.n_crises_bf.sum() == len(crises)
    assert (rows.status == "kept").eq(rows.reason.isna()).all()


# ---------------------------------------------------------------------------- committed data


@pytest.mark.parametrize("name", ["us_alliances", "wars_1816_2003"])
def test_committed_panels_keep_the_contract(name):
    folder = REPO / "data" / name
    obs = pd.read_csv(folder / "observations.csv")
    assert list(obs.columns)[:5] == ["member", "alliance", "year", "signal", "value"]
    assert set(obs.columns) - {"member", "alliance", "year", "signal", "value"} <= {"trials"}
    assert not obs.drop(columns="trials", errors="ignore").isna().any().any()
    if "trials" in obs:  # filled exactly for the signals with trials, >= the count
        from bayescred.families import FAMILIES

        spec = datasets.load_example(name)[1]
        binomial = obs.signal.map(lambda s: FAMILIES[spec.signals[s].family].needs_trials)
        assert obs.trials.notna().eq(binomial).all()
        assert (obs.value[binomial] <= obs.trials[binomial]).all()
    assert not obs.duplicated(["member", "alliance", "year", "signal"]).any()
    units = pd.read_csv(folder / "units.csv")
    assert not units.isna().any().any()
    assert set(map(tuple, units[["member", "alliance"]].values)) == set(
        map(tuple, obs[["member", "alliance"]].drop_duplicates().values)
    )
    for crises_file in folder.glob("crises*.csv"):
        crises = pd.read_csv(crises_file)
        assert set(crises.outcome) <= {"honored", "violated"}
        assert crises.crisis.is_unique
        assert crises.year.between(obs.year.min(), obs.year.max()).all()
        keys = set(map(tuple, units[["member", "alliance"]].values))
        assert set(map(tuple, crises[["member", "alliance"]].values)) <= keys


def test_list_examples():
    assert {"us_alliances", "wars_1816_2003"} <= set(datasets.list_examples())


def test_unknown_example_lists_available():
    with pytest.raises(ValueError, match="us_alliances"):
        datasets.load_example("no_such_panel")


DATA_OF_EXAMPLE = {"wars_1816_2003_llm": "wars_1816_2003",
                   "us_alliances_one_factor": "us_alliances"}


@pytest.mark.parametrize(
    "name", ["us_alliances", "us_alliances_one_factor", "wars_1816_2003", "wars_1816_2003_llm"]
)
def test_load_example(name):
    pytest.importorskip("bayescred.panel", reason="bayescred.panel is not available yet")
    pytest.importorskip("bayescred.spec", reason="bayescred.spec is not available yet")
    panel, spec = datasets.load_example(name)
    assert spec.name == name
    assert len(panel.units) == len(
        pd.read_csv(REPO / "data" / DATA_OF_EXAMPLE.get(name, name) / "units.csv")
    )
    assert set(panel.signals) == set(spec.signals)


def test_member_code_keeps_a_series_index():
    """Rows filtered out before the lookup must not shift the codes of the rest."""
    ccode = pd.Series([2, 740, 200], index=[3, 7, 9])
    codes = datasets.member_code(ccode)
    assert codes.index.tolist() == [3, 7, 9]
    frame = pd.DataFrame({"ccode": [None, 2, 740]}).dropna()
    assert frame.assign(member=datasets.member_code(frame.ccode)).member.tolist() == ["USA", "JPN"]
