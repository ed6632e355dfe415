"""B-spotcheck: the verifiable draw (fc-draw-v1) at city scale vs an unverifiable draw, same run.

    .venv/bin/python bench/spotcheck_draw.py                    # 5,000 enterprises, 80 officers, 10 %
    .venv/bin/python bench/spotcheck_draw.py --enterprises 20000 --runs 5

Baseline: what a system without a verifiable draw does — ``random.SystemRandom().sample``
of the eligible enterprises and a random pair of officers per target, skipping
conflicted officers (no pair rule, no workload balance, nothing recorded to re-run).
Measured: ``policy.draw`` (ranking, strata, 回避 and pair rule, balance, dates),
hashing the pool snapshot (``pool_hash``) and a full re-run as ``verify-draw`` does.
Prints medians and the ratio draw / baseline. Pure CPU, no database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.spotchecks import policy  # noqa: E402

SECTORS = ("industry_trade", "hazardous_chemicals", "metallurgy", "non_coal_mining", "coal_mining")
DISTRICTS = ("shapotou", "zhongning", "haiyuan")


def city(enterprises: int, officers: int, rng: random.Random) -> policy.PoolSnapshot:
    ns = uuid.UUID(int=11)
    pool = sorted(
        (
            policy.PoolEnterprise(
                id=str(uuid.uuid5(ns, f"e{i}")),
                sector=SECTORS[i % len(SECTORS)],
                district=DISTRICTS[i % len(DISTRICTS)],
                risk_grade=rng.choice("ABCD"),
                standardization_level=rng.choice(("level_1", "level_2", "level_3", "ungraded")),
                last_inspected_date=None if rng.random() < 0.5 else dt.date(2026, 3, 1) - dt.timedelta(days=rng.randrange(365)),
                inspections_this_year=rng.choice((0, 0, 1, 2)),
            )
            for i in range(enterprises)
        ),
        key=lambda e: e.id,
    )
    people = sorted(
        (policy.PoolInspector(id=str(uuid.uuid5(ns, f"p{i}")), certified=True) for i in range(officers)),
        key=lambda p: p.id,
    )
    ids = [p.id for p in people]
    conflicts = sorted({(rng.choice(ids), e.id) for e in pool if rng.random() < 0.15})
    history = [(e.id, rng.sample(ids, 2)) for e in pool if rng.random() < 0.3]
    rules = policy.DrawRules(
        campaign_id=str(uuid.uuid5(ns, "campaign")),
        attempt=1,
        as_of_date=dt.date(2026, 3, 1),
        start_date=dt.date(2026, 3, 2),
        end_date=dt.date(2026, 5, 29),
        exclude_inspected_within_days=30,
        annual_caps=policy.annual_caps(),
        sample_bp=1000,
        stratify_by="district",
        team_size=2,
    )
    return policy.PoolSnapshot(
        rules=rules, enterprises=tuple(pool), inspectors=tuple(people), conflicts=tuple(conflicts),
        past_pairs=policy.past_pairs(history),
    )


def baseline(snapshot: policy.PoolSnapshot) -> list[tuple[str, tuple[str, str]]]:
    chance = random.SystemRandom()
    eligible, _ = policy.screen(snapshot)
    n = policy.sample_size(len(eligible), snapshot.rules)
    conflicted = set(snapshot.conflicts)
    people = [p.id for p in snapshot.inspectors]
    tasks = []
    for enterprise in chance.sample(eligible, n):
        allowed = [p for p in people if (p, enterprise.id) not in conflicted]
        tasks.append((enterprise.id, tuple(chance.sample(allowed, 2))))
    return tasks


def timed(fn, runs: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=5000)
    parser.add_argument("--officers", type=int, default=80)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    snapshot = city(args.enterprises, args.officers, random.Random(42))
    seed = bytes(range(32))

    base_s, base_tasks = timed(lambda: baseline(snapshot), args.runs)
    draw_s, result = timed(lambda: policy.draw(snapshot, seed), args.runs)
    hash_s, _ = timed(lambda: policy.pool_hash(snapshot), args.runs)
    stored = __import__("msgspec").json.decode(policy.canonical(result))
    verify_s, diffs = timed(lambda: policy.verify(snapshot, seed, stored), args.runs)
    assert diffs == [], diffs

    size_mb = len(policy.canonical(snapshot)) / 1e6
    print(f"pool: {args.enterprises} enterprises, {args.officers} officers, {len(snapshot.conflicts)} 回避, "
          f"{len(snapshot.past_pairs)} past pairs; snapshot {size_mb:.1f} MB canonical JSON")
    print(f"tasks drawn: {len(result.tasks)} (baseline {len(base_tasks)}), excluded {len(result.excluded)}")
    print(f"baseline (SystemRandom.sample, unverifiable)  median {base_s * 1000:8.1f} ms")
    print(f"fc-draw-v1 draw                               median {draw_s * 1000:8.1f} ms")
    print(f"pool_hash of the snapshot                     median {hash_s * 1000:8.1f} ms")
    print(f"verify (re-run + compare)                     median {verify_s * 1000:8.1f} ms")
    print(f"ratio draw / baseline: {draw_s / base_s:.1f}x; (draw + hash) / baseline: {(draw_s + hash_s) / base_s:.1f}x")


if __name__ == "__main__":
    main()
