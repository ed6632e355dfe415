"""Spot-check campaigns, their draws and the tasks drawn."""

from piccolo.columns import (
    JSON,
    UUID,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.table import Table

from schemas.vocab import District
from server.accounts.tables import Department, User
from server.inspections.tables import Inspection
from server.registry.tables import Enterprise


class Campaign(Table, tablename="spot_check_campaign"):
    """A planned round of random spot checks (an 抽查计划)."""

    id = UUID(primary_key=True)
    name = Varchar(length=128)
    label = Varchar(length=64, default="")
    covert = Boolean(default=False)
    enforcement = Boolean(default=False)
    period_start = Date()
    period_end = Date()
    target_rules = JSON(default={})
    inspector_rules = JSON(default={})
    team_size = Integer(default=2)
    department = ForeignKey(references=Department, on_delete=OnDelete.restrict, null=True, index=True)
    status = Varchar(length=16, index=True)
    created_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    created_at = Timestamptz()


class Draw(Table, tablename="spot_check_draw"):
    """One draw of a campaign: its committed inputs and its recorded result."""

    id = UUID(primary_key=True)
    campaign = ForeignKey(references=Campaign, on_delete=OnDelete.restrict, index=True)
    attempt = Integer()
    algorithm_version = Varchar(length=32)
    seed_hex = Varchar(length=64)
    seed_hash = Varchar(length=64)
    pool_snapshot = JSON()
    pool_hash = Varchar(length=64)
    result = JSON()
    result_hash = Varchar(length=64)
    reason = Text(default="")
    superseded = Boolean(default=False)
    drawn_by = ForeignKey(references=User, on_delete=OnDelete.restrict, null=True)
    drawn_at = Timestamptz()


class SpotCheckTask(Table, tablename="spot_check_task"):
    """One drawn target with its team; covert ones stay hidden until ``release_at``."""

    id = UUID(primary_key=True)
    campaign = ForeignKey(references=Campaign, on_delete=OnDelete.restrict, index=True)
    draw = ForeignKey(references=Draw, on_delete=OnDelete.restrict, index=True)
    position = Integer(default=0)
    enterprise = ForeignKey(references=Enterprise, on_delete=OnDelete.restrict, index=True)
    district = Varchar(length=32, choices=District)
    inspection = ForeignKey(references=Inspection, on_delete=OnDelete.restrict, null=True)
    team = JSON(default=[])
    planned_date = Date()
    release_at = Timestamptz(index=True)
    released_at = Timestamptz(null=True, default=None)
    status = Varchar(length=16, index=True)
