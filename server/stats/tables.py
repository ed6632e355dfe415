"""Monthly rollups of the base records, and the queue of months to recount.

The rollups are a cache: every row can be recomputed from the base tables
(``server.stats.rollup.refresh``), and nothing else writes them. Triggers
on the base tables (``m0003_stats_triggers`` on PostgreSQL, ``m0022_stats_on_sqlite``
on SQLite) append the months a write touched to :class:`StatsDirtyMonth`; the
background refresher recounts those months within seconds, and every read says
how fresh its figures are.

Columns of the three wide monthly tables are generated from
``server.stats.definitions.MEASURES``: one integer per measure. Figures that
are not sums of cells have tables of their own: distinct enterprises per
period (:class:`StatsCoverage`), open hazards by deadline (overdue depends on
today) and 三违 per person (repeat offenders are counted over the scope).
"""

from piccolo.columns import UUID, BigInt, Boolean, Date, Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table

from server.stats.definitions import MEASURES


def _measure_columns() -> dict[str, Integer | BigInt]:
    # Integer: SUM(integer) adds up in bigint, SUM(bigint) in numeric (several times slower); fines need bigint.
    return {key: BigInt(default=0) if key == "fines_yuan" else Integer(default=0) for key in MEASURES}


def _rollup_table(class_name: str, tablename: str, doc: str, dims: dict[str, object]) -> type[Table]:
    """A monthly rollup: id, the dimension columns, then one fresh column per measure."""
    namespace: dict[str, object] = {"__doc__": doc, "__module__": __name__, "id": Serial(primary_key=True)}
    namespace.update(dims)
    namespace.update(_measure_columns())
    return type(class_name, (Table,), namespace, tablename=tablename)


StatsMonthly = _rollup_table(
    "StatsMonthly",
    "stats_monthly",
    "Every source's counts for one month × district × sector × department.",
    {
        "month": Date(index=True),
        "district": Varchar(length=32),
        "sector": Varchar(length=32),
        "department_id": UUID(null=True, default=None),
    },
)

StatsInspectorMonthly = _rollup_table(
    "StatsInspectorMonthly",
    "stats_inspector_monthly",
    "The same counts credited to each inspector (a check counts once for every team member).",
    {
        "month": Date(index=True),
        "inspector_id": UUID(null=True, default=None),
        "district": Varchar(length=32),
        "sector": Varchar(length=32),
        "department_id": UUID(null=True, default=None),
    },
)


StatsInspectorTotalMonthly = _rollup_table(
    "StatsInspectorTotalMonthly",
    "stats_inspector_total_monthly",
    "The inspector counts summed over districts and sectors (what an unfiltered view reads).",
    {
        "month": Date(index=True),
        "inspector_id": UUID(null=True, default=None),
        "department_id": UUID(null=True, default=None),
    },
)


class StatsCoverage(Table, tablename="stats_coverage"):
    """Distinct enterprises inspected per period, for every combination of district, sector and department.

    ``grouping`` is PostgreSQL's ``GROUPING(district, sector, department_id)``:
    a set bit means that dimension is summed over (its column is NULL).
    """

    id = Serial(primary_key=True)
    grain = Varchar(length=8)
    period_start = Date(index=True)
    grouping = Integer()
    district = Varchar(length=32, null=True, default=None)
    sector = Varchar(length=32, null=True, default=None)
    department_id = UUID(null=True, default=None)
    enterprises = BigInt(default=0)
    enterprises_in_registry = BigInt(default=0)


class StatsRepeatOffenders(Table, tablename="stats_repeat_offenders"):
    """重复违章人员数 per period, for every combination of district, sector, department and recorder (m0026).

    ``grouping`` has a set bit for each dimension summed over (district 8, sector 4, department 2,
    recorder 1), as :class:`StatsCoverage` does; counted at recount time from :class:`StatsPersonMonthly`.
    """

    id = Serial(primary_key=True)
    grain = Varchar(length=8)
    period_start = Date(index=True)
    grouping = Integer()
    district = Varchar(length=32, null=True, default=None)
    sector = Varchar(length=32, null=True, default=None)
    department_id = UUID(null=True, default=None)
    inspector_id = UUID(null=True, default=None)
    people = Integer(default=0)


class StatsEnterpriseMonth(Table, tablename="stats_enterprise_month"):
    """The enterprises each department checked in a month (m0026): what coverage is counted from.

    A month's recount rewrites its own rows; the month, quarter and year rows of
    :class:`StatsCoverage` are then counted from these (a few per enterprise and month),
    never from the checks of a whole year. District, sector and ``registered`` (not closed)
    are the enterprise's current registry entry, as every statistic takes them.
    """

    id = Serial(primary_key=True)
    month = Date(index=True)
    enterprise = UUID()
    department_id = UUID(null=True, default=None)
    district = Varchar(length=32)
    sector = Varchar(length=32)
    registered = Boolean(default=False)
    checks = Integer(default=0)


class StatsDirtyMonth(Table, tablename="stats_dirty_month"):
    """A month whose rollup rows are stale; ``month`` NULL means recount everything.

    ``marked_at`` is when the oldest write it stands for began (数据截至 is read from it);
    ``failed_at`` is set while its recount fails (m0022).
    """

    id = Serial(primary_key=True)
    month = Date(null=True, default=None)
    marked_at = Timestamptz()
    failed_at = Timestamptz(null=True, default=None)



class StatsGeneration(Table, tablename="stats_generation"):
    """The rollups' generation (m0029): a new random token with every recount of a month (NULL: a full rebuild).

    Readers keep counts per token (``server.stats.cache``).
    """

    id = Serial(primary_key=True)
    month = Date(null=True, default=None)
    token = Varchar(length=36)
    refreshed_at = Timestamptz()


class StatsOpenHazard(Table, tablename="stats_open_hazard"):
    """Hazards whose fix is still owed (found, rectifying), per cell, inspector and deadline: 逾期未整改 is the part with a past deadline."""

    id = Serial(primary_key=True)
    month = Date(index=True)
    district = Varchar(length=32)
    sector = Varchar(length=32)
    department_id = UUID(null=True, default=None)
    inspector_id = UUID(null=True, default=None)
    deadline_date = Date()
    hazards = Integer(default=0)


class StatsPersonMonthly(Table, tablename="stats_person_monthly"):
    """三违 records per person (keyed ID hash), cell and recorder: repeat offenders are people with two or more."""

    id = Serial(primary_key=True)
    month = Date(index=True)
    district = Varchar(length=32)
    sector = Varchar(length=32)
    department_id = UUID(null=True, default=None)
    inspector_id = UUID(null=True, default=None)
    # A 64-bit hash of the keyed ID hash: grouping on it is several times faster than on the text,
    # and a collision among a city's offenders (p ≈ n²/2⁶⁵) is negligible.
    person_key = BigInt()
    records = Integer(default=0)
