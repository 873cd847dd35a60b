"""Readers for the public datasets behind the example panels, and the bundled examples.

Two jobs live here, so that the build script and users share one implementation:

* ``read_*`` functions parse the public files a user can download themselves (US troop
  deployments, COW National Material Capabilities, ATOP, UN General Assembly voting,
  Multinational Military Exercises, Berkemeier-Fuhrmann follow-through). Each checks the
  columns it needs and raises :class:`~bayescred.errors.DataError` naming the file and
  what is missing, and returns a typed DataFrame with the original column names kept.
* :func:`load_example` / :func:`list_examples` give the derived example panels that ship
  with the package (``models/<name>.toml`` and the CSVs under ``data/``).

Country identifiers: every reader keeps the source's own identifier and, where the source
has no Correlates of War (COW) code, adds a ``ccode`` column mapped through the table in
this module. :func:`member_code` turns a COW code into the ``member`` string the data
contract uses: the ISO 3166 alpha-3 code where the state has one (``DEU``, ``JPN``,
``KOR``), otherwise the COW state abbreviation (``AUH`` Austria-Hungary, ``BAV`` Bavaria).
"""

from __future__ import annotations

import io
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = [
    "country_codes",
    "list_examples",
    "load_example",
    "member_code",
    "read_atop_dyad_year",
    "read_atop_provisions",
    "read_cow_nmc",
    "read_cow_majors",
    "read_cow_mid_dyadic",
    "read_cow_war_inter",
    "read_follow_through",
    "read_mme_exercises",
    "read_unga_voting",
    "read_us_troops",
]

# ---------------------------------------------------------------------------- country codes

# COW state list: ccode | COW abbreviation | member code | name. The member code is the
# ISO 3166 alpha-3 code where one exists; states that have none keep their COW
# abbreviation. Two COW abbreviations collide with another state's ISO code (COW "CZE" is
# Czechoslovakia, ISO "CZE" the Czech Republic; COW "KOR" is the pre-1905 Korean Empire,
# ISO "KOR" South Korea), so those two states take the former ISO code "CSK" and "KRE".
# West Germany (260) and unified Germany (255) share "DEU": the Federal Republic is the
# same state before and after 1990, and sources switch codes at unification.
_COUNTRY_TABLE = """\
2|USA|USA|United States
20|CAN|CAN|Canada
31|BHM|BHS|Bahamas
40|CUB|CUB|Cuba
41|HAI|HTI|Haiti
42|DOM|DOM|Dominican Republic
51|JAM|JAM|Jamaica
52|TRI|TTO|Trinidad & Tobago
53|BAR|BRB|Barbados
54|DMA|DMA|Dominica
55|GRN|GRD|Grenada
56|SLU|LCA|St. Lucia
57|SVG|VCT|St. Vincent & Grenadines
58|AAB|ATG|Antigua & Barbuda
60|SKN|KNA|St. Kitts & Nevis
70|MEX|MEX|Mexico
80|BLZ|BLZ|Belize
89|UPC|UPC|United Provinces of Central America
90|GUA|GTM|Guatemala
91|HON|HND|Honduras
92|SAL|SLV|El Salvador
93|NIC|NIC|Nicaragua
94|COS|CRI|Costa Rica
95|PAN|PAN|Panama
99|GCL|GCL|Great Colombia
100|COL|COL|Colombia
101|VEN|VEN|Venezuela
110|GUY|GUY|Guyana
115|SUR|SUR|Suriname
130|ECU|ECU|Ecuador
135|PER|PER|Peru
140|BRA|BRA|Brazil
145|BOL|BOL|Bolivia
150|PAR|PRY|Paraguay
155|CHL|CHL|Chile
160|ARG|ARG|Argentina
165|URU|URY|Uruguay
200|UKG|GBR|United Kingdom
205|IRE|IRL|Ireland
210|NTH|NLD|Netherlands
211|BEL|BEL|Belgium
212|LUX|LUX|Luxembourg
220|FRN|FRA|France
221|MNC|MCO|Monaco
223|LIE|LIE|Liechtenstein
225|SWZ|CHE|Switzerland
230|SPN|ESP|Spain
232|AND|AND|Andorra
235|POR|PRT|Portugal
240|HAN|HAN|Hanover
245|BAV|BAV|Bavaria
255|GMY|DEU|Germany
260|GFR|DEU|German Federal Republic
265|GDR|DDR|German Democratic Republic
267|BAD|BAD|Baden
269|SAX|SAX|Saxony
271|WRT|WRT|Wuerttemberg
273|HSE|HSE|Hesse Electoral
275|HSG|HSG|Hesse Grand Ducal
280|MEC|MEC|Mecklenburg Schwerin
290|POL|POL|Poland
300|AUH|AUH|Austria-Hungary
305|AUS|AUT|Austria
310|HUN|HUN|Hungary
315|CZE|CSK|Czechoslovakia
316|CZR|CZE|Czech Republic
317|SLO|SVK|Slovakia
325|ITA|ITA|Italy
327|PAP|PAP|Papal States
329|SIC|SIC|Two Sicilies
331|SNM|SMR|San Marino
332|MOD|MOD|Modena
335|PMA|PMA|Parma
337|TUS|TUS|Tuscany
338|MLT|MLT|Malta
339|ALB|ALB|Albania
341|MNG|MNE|Montenegro
343|MAC|MKD|North Macedonia
344|CRO|HRV|Croatia
345|YUG|SRB|Yugoslavia
346|BOS|BIH|Bosnia & Herzegovina
347|KOS|XKX|Kosovo
349|SLV|SVN|Slovenia
350|GRC|GRC|Greece
352|CYP|CYP|Cyprus
355|BUL|BGR|Bulgaria
359|MLD|MDA|Moldova
360|ROM|ROU|Romania
365|RUS|RUS|Russia
366|EST|EST|Estonia
367|LAT|LVA|Latvia
368|LIT|LTU|Lithuania
369|UKR|UKR|Ukraine
370|BLR|BLR|Belarus
371|ARM|ARM|Armenia
372|GRG|GEO|Georgia
373|AZE|AZE|Azerbaijan
375|FIN|FIN|Finland
380|SWD|SWE|Sweden
385|NOR|NOR|Norway
390|DEN|DNK|Denmark
395|ICE|ISL|Iceland
402|CAP|CPV|Cape Verde
403|STP|STP|Sao Tome & Principe
404|GNB|GNB|Guinea-Bissau
411|EQG|GNQ|Equatorial Guinea
420|GAM|GMB|Gambia
432|MLI|MLI|Mali
433|SEN|SEN|Senegal
434|BEN|BEN|Benin
435|MAA|MRT|Mauritania
436|NIR|NER|Niger
437|CDI|CIV|Cote d'Ivoire
438|GUI|GIN|Guinea
439|BFO|BFA|Burkina Faso
450|LBR|LBR|Liberia
451|SIE|SLE|Sierra Leone
452|GHA|GHA|Ghana
461|TOG|TGO|Togo
471|CAO|CMR|Cameroon
475|NIG|NGA|Nigeria
481|GAB|GAB|Gabon
482|CEN|CAF|Central African Republic
483|CHA|TCD|Chad
484|CON|COG|Congo - Brazzaville
490|DRC|COD|Congo - Kinshasa
500|UGA|UGA|Uganda
501|KEN|KEN|Kenya
510|TAZ|TZA|Tanzania
511|ZAN|ZAN|Zanzibar
516|BUI|BDI|Burundi
517|RWA|RWA|Rwanda
520|SOM|SOM|Somalia
522|DJI|DJI|Djibouti
530|ETH|ETH|Ethiopia
531|ERI|ERI|Eritrea
540|ANG|AGO|Angola
541|MZM|MOZ|Mozambique
551|ZAM|ZMB|Zambia
552|ZIM|ZWE|Zimbabwe
553|MAW|MWI|Malawi
560|SAF|ZAF|South Africa
565|NAM|NAM|Namibia
570|LES|LSO|Lesotho
571|BOT|BWA|Botswana
572|SWA|SWZ|Eswatini
580|MAG|MDG|Madagascar
581|COM|COM|Comoros
590|MAS|MUS|Mauritius
591|SEY|SYC|Seychelles
600|MOR|MAR|Morocco
615|ALG|DZA|Algeria
616|TUN|TUN|Tunisia
620|LIB|LBY|Libya
625|SUD|SDN|Sudan
626|SSD|SSD|South Sudan
630|IRN|IRN|Iran
640|TUR|TUR|Turkey
645|IRQ|IRQ|Iraq
651|EGY|EGY|Egypt
652|SYR|SYR|Syria
660|LEB|LBN|Lebanon
663|JOR|JOR|Jordan
666|ISR|ISR|Israel
670|SAU|SAU|Saudi Arabia
678|YAR|YAR|Yemen Arab Republic
679|YEM|YEM|Yemen
680|YPR|YPR|Yemen People's Republic
690|KUW|KWT|Kuwait
692|BAH|BHR|Bahrain
694|QAT|QAT|Qatar
696|UAE|ARE|United Arab Emirates
698|OMA|OMN|Oman
700|AFG|AFG|Afghanistan
701|TKM|TKM|Turkmenistan
702|TAJ|TJK|Tajikistan
703|KYR|KGZ|Kyrgyzstan
704|UZB|UZB|Uzbekistan
705|KZK|KAZ|Kazakhstan
710|CHN|CHN|China
712|MON|MNG|Mongolia
713|TAW|TWN|Taiwan
730|KOR|KRE|Korea
731|PRK|PRK|North Korea
732|ROK|KOR|South Korea
740|JPN|JPN|Japan
750|IND|IND|India
760|BHU|BTN|Bhutan
770|PAK|PAK|Pakistan
771|BNG|BGD|Bangladesh
775|MYA|MMR|Myanmar (Burma)
780|SRI|LKA|Sri Lanka
781|MAD|MDV|Maldives
790|NEP|NPL|Nepal
800|THI|THA|Thailand
811|CAM|KHM|Cambodia
812|LAO|LAO|Laos
816|DRV|VNM|Vietnam
817|RVN|RVN|Republic of Vietnam
820|MAL|MYS|Malaysia
830|SIN|SGP|Singapore
835|BRU|BRN|Brunei
840|PHI|PHL|Philippines
850|INS|IDN|Indonesia
860|ETM|TLS|Timor-Leste
900|AUL|AUS|Australia
910|PNG|PNG|Papua New Guinea
920|NEW|NZL|New Zealand
935|VAN|VUT|Vanuatu
940|SOL|SLB|Solomon Islands
946|KIR|KIR|Kiribati
947|TUV|TUV|Tuvalu
950|FIJ|FJI|Fiji
955|TON|TON|Tonga
970|NAU|NRU|Nauru
983|MSI|MHL|Marshall Islands
986|PAL|PLW|Palau
987|FSM|FSM|Micronesia
990|WSM|WSM|Samoa
"""

# Other spellings of state names met in the sources (MME participant lists follow the
# R ``countrycode`` package's English names; UNGA uses a few non-COW abbreviations).
_NAME_ALIASES = {
    "Federal Republic of Germany": 260,
    "West Germany": 260,
    "East Germany": 265,
    "Czechia": 316,
    "Macedonia": 343,
    "Serbia": 345,
    "Serbia and Montenegro": 345,
    "Russian Federation": 365,
    "Soviet Union": 365,
    "USSR": 365,
    "Ivory Coast": 437,
    "st. christopher": 60,
    "Swaziland": 572,
    "Burma": 775,
    "Myanmar": 775,
    "East Timor": 860,
    "United States of America": 2,
    "Great Britain": 200,
}
_ABB_ALIASES = {"SSUD": 626}


@lru_cache(maxsize=1)
def country_codes() -> pd.DataFrame:
    """The COW state list used to map identifiers.

    Returns
    -------
    DataFrame
        Columns ``ccode`` (COW numeric code), ``cow`` (COW abbreviation), ``code`` (the
        ``member`` string: ISO alpha-3 where one exists, else the COW abbreviation) and
        ``name``. The cached frame is shared: copy it before modifying.
    """
    table = pd.read_csv(
        io.StringIO(_COUNTRY_TABLE),
        sep="|",
        names=["ccode", "cow", "code", "name"],
        dtype={"ccode": int, "cow": str, "code": str, "name": str},
        keep_default_na=False,
    )
    return table


def member_code(ccode) -> pd.Series:
    """Map COW numeric codes to member codes (ISO alpha-3, else COW abbreviation).

    Parameters
    ----------
    ccode : array-like of int
        COW country codes.

    Returns
    -------
    Series of str
        Member codes; unknown codes give ``<NA>``.  For a Series, on its index (so
        ``df.assign(member=member_code(df.ccode))`` lines up after filtering rows).

    Examples
    --------
    >>> list(member_code([2, 260, 255, 300]))
    ['USA', 'DEU', 'DEU', 'AUH']
    """
    lookup = country_codes().set_index("ccode")["code"]
    index = ccode.index if isinstance(ccode, pd.Series) else None
    codes = pd.Series(np.asarray(ccode, dtype=float), index=index).map(lookup)
    return codes.astype("string")


def _normalise_name(name: str) -> str:
    """Fold case, accents, apostrophes and '&' so that spellings of one name match."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().replace("&", "and").replace("'", "").split())


def _ccode_from(keys: pd.Series, column: str, aliases: dict[str, int]) -> pd.Series:
    """Map names or abbreviations to COW codes, unknown keys to <NA>."""
    table = country_codes()
    lookup = {**dict(zip(table[column], table["ccode"])), **aliases}
    if column == "name":
        lookup = {_normalise_name(k): v for k, v in lookup.items()}
        keys = keys.astype(str).map(_normalise_name)
    return keys.str.strip().map(lookup).astype("Int64")


# ---------------------------------------------------------------------------- file reading


def _read_csv(
    path: str | Path,
    required: list[str],
    *,
    what: str,
    encoding: str = "utf-8",
    **kwargs,
) -> pd.DataFrame:
    """Read a CSV file and check that it is non-empty and has the required columns."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {what} file not found")
    try:
        df = pd.read_csv(path, encoding=encoding, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the {what} file is empty") from None
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        first = str(exc).splitlines()[0][:120] if str(exc) else ""
        raise DataError(
            f"{path}: cannot read the {what} file as CSV ({type(exc).__name__}: {first})"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(
            f"{path}: the {what} file lacks required column(s) {', '.join(missing)} "
            f"(found: {', '.join(map(str, df.columns[:12]))}"
            f"{', ...' if len(df.columns) > 12 else ''})"
        )
    if df.empty:
        raise DataError(f"{path}: the {what} file has a header but no rows")
    return df


def _as_int(df: pd.DataFrame, columns: list[str], path: str | Path) -> pd.DataFrame:
    """Cast code/year columns (often stored as floats like ``2.0``) to nullable ints."""
    out = df.copy()
    for col in columns:
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.notna() & (values % 1 != 0)
        if bad.any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad)[:5])
            raise DataError(f"{path}: column {col} must hold whole numbers (line(s) {rows})")
        out[col] = values.astype("Int64")
    return out


def read_us_troops(path: str | Path) -> pd.DataFrame:
    """Read US troop deployments by host country and year (Allen, Flynn & Martinez Machain).

    Parameters
    ----------
    path : str or Path
        ``us_troops_country_year.csv`` as distributed with the ``troopdata`` R package:
        one row per host country-year with ``ccode``, ``year`` and ``troops_ad``
        (active-duty personnel stationed there).

    Returns
    -------
    DataFrame
        The file with ``ccode``, ``year`` and ``troops_ad`` as nullable integers.

    Raises
    ------
    DataError
        If the file is missing, empty, unreadable or lacks a required column.
    """
    df = _read_csv(path, ["ccode", "year", "troops_ad"], what="US troops")
    return _as_int(df, ["ccode", "year", "troops_ad"], path)


def read_cow_nmc(path: str | Path) -> pd.DataFrame:
    """Read COW National Material Capabilities (state-year).

    Parameters
    ----------
    path : str or Path
        CSV with ``ccode, year, milex, milper, tpop`` (and optionally ``irst, pec, upop,
        cinc``). ``milex`` is military expenditure in thousands of current US dollars,
        ``milper`` military personnel in thousands, ``tpop`` population in thousands.

    Returns
    -------
    DataFrame
        ``ccode`` and ``year`` as nullable ints; the COW missing-value code ``-9`` in the
        numeric columns becomes NaN, so it can never be read as a real value.
    """
    df = _read_csv(path, ["ccode", "year", "milex", "milper", "tpop"], what="COW NMC")
    df = _as_int(df, ["ccode", "year"], path)
    numeric = [c for c in ("milex", "milper", "irst", "pec", "tpop", "upop", "cinc") if c in df]
    df[numeric] = df[numeric].apply(pd.to_numeric, errors="coerce").mask(lambda x: x == -9)
    return df


def read_atop_dyad_year(path: str | Path) -> pd.DataFrame:
    """Read ATOP non-directed dyad-years (``ccode1, ccode2, year, atop_defense, ...``).

    Returns
    -------
    DataFrame
        Codes and year as nullable ints; obligation indicators as ints (0/1).
    """
    flags = ["atop_defense", "atop_offense", "atop_neutral", "atop_nonagg", "atop_consul"]
    df = _read_csv(path, ["ccode1", "ccode2", "year", *flags], what="ATOP dyad-year")
    return _as_int(df, ["ccode1", "ccode2", "year", *flags], path)


def read_atop_provisions(path: str | Path) -> pd.DataFrame:
    """Read ATOP treaty provisions, alliance-level or member-level.

    The level is recognised from the columns: a member-level file has ``member``,
    ``yrent`` and ``yrexit`` (one row per member and phase); an alliance-level file has
    ``begyr`` and ``endyr``. Both need ``atopid`` and the obligation columns
    ``defense, offense, neutral, nonagg, consul``.

    Returns
    -------
    DataFrame
        With an added column ``level`` (``"member"`` or ``"alliance"``). In ATOP a year
        of exit/end of 0 means "still in force"; it is kept as 0.
    """
    obligations = ["defense", "offense", "neutral", "nonagg", "consul"]
    df = _read_csv(path, ["atopid", *obligations], what="ATOP provisions")
    if "member" in df.columns:
        level, years = "member", ["member", "yrent", "yrexit"]
    else:
        level, years = "alliance", ["begyr", "endyr"]
    missing = [c for c in years if c not in df.columns]
    if missing:
        raise DataError(
            f"{path}: the ATOP provisions file lacks required column(s) {', '.join(missing)} "
            "(a member-level file needs member, yrent, yrexit; an alliance-level file "
            "needs begyr, endyr)"
        )
    df = _as_int(df, ["atopid", *years], path)
    return df.assign(level=level)


def read_unga_voting(path: str | Path) -> pd.DataFrame:
    """Read UN General Assembly country-year voting (Bailey, Strezhnev & Voeten).

    Parameters
    ----------
    path : str or Path
        CSV with ``Year, CountryAbb, PctAgreeUS`` (COW abbreviations, share of votes
        agreeing with the US); ``idealpoint`` and ``PctAgreeRUSSIA`` are kept if present.

    Returns
    -------
    DataFrame
        The file plus ``ccode`` (nullable int; ``<NA>`` where the abbreviation is unknown).
    """
    df = _read_csv(path, ["Year", "CountryAbb", "PctAgreeUS"], what="UNGA voting")
    df = _as_int(df, ["Year"], path)
    shares = [c for c in ("PctAgreeUS", "idealpoint", "PctAgreeRUSSIA") if c in df]
    df[shares] = df[shares].apply(pd.to_numeric, errors="coerce")
    df["ccode"] = _ccode_from(df["CountryAbb"].astype(str), "cow", _ABB_ALIASES)
    return df


def read_mme_exercises(path: str | Path) -> pd.DataFrame:
    """Read Multinational Military Exercises (MME v7) as one row per exercise x participant.

    The file is documented as Latin-1; the copy redistributed with ``troopdata`` is valid
    UTF-8. It is decoded as UTF-8 when that succeeds and as Latin-1 otherwise, so accented
    names (``São Tomé``) come out right either way.

    Parameters
    ----------
    path : str or Path
        CSV with ``MMEID``, ``s.year`` (start year) and participant columns ``StateA``,
        ``StateB``, ... holding country names.

    Returns
    -------
    DataFrame
        Columns ``exercise`` (row number in the file: MMEIDs are not unique in v7),
        ``mmeid``, ``name`` (``Ex_Name``), ``year`` (start year), ``participant`` and
        ``ccode`` (nullable int; ``<NA>`` for non-state participants such as "NATO").
        Placeholders ``-9`` and blanks are dropped.
    """
    path = Path(path)
    encoding = _mme_encoding(path)
    df = _read_csv(
        path, ["MMEID", "s.year", "StateA"], what="MME exercises", encoding=encoding, dtype=str
    )
    states = [c for c in df.columns if c.startswith("State")]
    wide = df.assign(exercise=np.arange(len(df)), year=df["s.year"])
    long = wide.melt(
        id_vars=["exercise", "MMEID", "Ex_Name", "year"]
        if "Ex_Name" in df
        else ["exercise", "MMEID", "year"],
        value_vars=states,
        value_name="participant",
    )
    long["participant"] = long["participant"].str.strip()
    long = long[long["participant"].notna() & ~long["participant"].isin(["", "-9"])]
    long = _as_int(long.reset_index(drop=True), ["year"], path)
    long["ccode"] = _ccode_from(long["participant"], "name", _NAME_ALIASES)
    long = long.rename(columns={"MMEID": "mmeid", "Ex_Name": "name"})
    return long.drop(columns="variable").sort_values(["exercise", "participant"], ignore_index=True)


def _mme_encoding(path: Path) -> str:
    """UTF-8 if the bytes decode as UTF-8, else Latin-1 (which decodes anything)."""
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    except OSError:
        return "utf-8"  # let _read_csv report the missing file
    return "utf-8"


def read_cow_war_inter(path: str | Path) -> pd.DataFrame:
    """Read COW inter-state wars, dyad-year (``warnum, ccode1, ccode2, year, ...``).

    Returns
    -------
    DataFrame
        Codes, year, sides and the initiator flags as nullable ints.
    """
    cols = ["warnum", "ccode1", "ccode2", "year", "sidea1", "sidea2", "initiator1", "initiator2"]
    df = _read_csv(path, cols, what="COW inter-state war")
    return _as_int(df, cols, path)


def read_cow_mid_dyadic(path: str | Path) -> pd.DataFrame:
    """Read COW Militarized Interstate Disputes, dyadic dispute-years (MID 5, ``ddydisps``).

    One row per directed pair of states on opposite sides of a dispute, per year:
    ``dispnum``, ``ccode1``, ``ccode2``, ``year``, ``sidea1`` (1 when ``ccode1`` is on the
    side that took the first militarized action), ``orig1`` (1 when ``ccode1`` took part
    from the dispute's first day), the dispute's highest hostility level ``hostlev``
    (2 threat, 3 display, 4 use of force, 5 war) and its fatality level ``fatality``
    (0 none, 1-6 bands, -9 unknown).

    Returns
    -------
    DataFrame
        The file with the listed columns as nullable integers (``-9`` kept as coded).
    """
    cols = ["dispnum", "ccode1", "ccode2", "year", "sidea1", "orig1", "hostlev", "fatality"]
    df = _read_csv(path, cols, what="COW militarized dispute (dyadic)")
    return _as_int(df, cols, path)


def read_cow_majors(path: str | Path) -> pd.DataFrame:
    """Read COW major-power status spells (``ccode, styear, endyear``).

    Returns
    -------
    DataFrame
        One row per spell, codes and years as nullable ints.
    """
    df = _read_csv(path, ["ccode", "styear", "endyear"], what="COW major powers")
    return _as_int(df, ["ccode", "styear", "endyear"], path)


def read_follow_through(path: str | Path) -> pd.DataFrame:
    """Read alliance follow-through in wars (Berkemeier & Fuhrmann 2018).

    One row per alliance (``atopid``) invoked in a war (``warid``, ``warname``,
    ``cowwarid``). ``honorBF``/``violateBF`` hold the Berkemeier-Fuhrmann coding,
    ``honorLLM``/``violateLLM`` the Leeds-Long-Mitchell coding; a row is coded under a
    scheme when exactly one of its two flags is 1. The file has no member column: which
    member's commitment was tested has to be worked out from ATOP membership and COW war
    participation (``scripts/build_data.py`` does so).

    Returns
    -------
    DataFrame
        The file plus ``outcome_bf`` and ``outcome_llm``: ``"honored"``, ``"violated"`` or
        ``<NA>`` (not coded under that scheme).

    Raises
    ------
    DataError
        If a row is flagged both honoured and violated under one scheme.
    """
    flags = ["honorBF", "violateBF", "honorLLM", "violateLLM"]
    df = _read_csv(
        path, ["warid", "atopid", "cowwarid", "warname", *flags], what="alliance follow-through"
    )
    df = _as_int(df, ["warid", "atopid", "cowwarid", *flags], path)
    for scheme in ("BF", "LLM"):
        honor = df[f"honor{scheme}"].fillna(0) == 1
        violate = df[f"violate{scheme}"].fillna(0) == 1
        if (honor & violate).any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(honor & violate)[:5])
            raise DataError(
                f"{path}: honor{scheme} and violate{scheme} are both 1 on line(s) {rows}"
            )
        outcome = pd.Series(pd.NA, index=df.index, dtype="string")
        outcome[honor] = "honored"
        outcome[violate] = "violated"
        df[f"outcome_{scheme.lower()}"] = outcome
    return df


# ---------------------------------------------------------------------------- examples


def _models_dirs() -> list[Path]:
    """Where example specs live: inside the package (a wheel: setup.py copies the
    repository's ``models/`` and ``data/`` into ``_bundled``), then the repository root
    (a checkout or an editable install)."""
    here = Path(__file__).resolve()
    return [here.parent / "_bundled" / "models", here.parents[1] / "models"]


def _models_dir() -> Path | None:
    return next((d for d in _models_dirs() if d.is_dir()), None)


def list_examples() -> list[str]:
    """Names of the bundled example panels (``models/<name>.toml``).

    Examples
    --------
    >>> "us_alliances" in list_examples()
    True
    """
    folder = _models_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder else []


def load_example(name: str):
    """Load a bundled example: its spec and its validated panel.

    Parameters
    ----------
    name : str
        One of :func:`list_examples`, e.g. ``"us_alliances"`` or ``"wars_1816_2003"``.

    Returns
    -------
    panel : bayescred.panel.Panel
    spec : bayescred.spec.ModelSpec

    Raises
    ------
    ValueError
        If no example has that name; the message lists those available.
    """
    from .panel import read_panel
    from .spec import load_spec

    available = list_examples()
    if name not in available:
        raise ValueError(
            f"unknown example {name!r}; available: {', '.join(available) or '(none found)'}"
        )
    spec = load_spec(_models_dir() / f"{name}.toml")
    return read_panel(spec), spec
