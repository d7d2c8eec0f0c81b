"""Leases on shared token buckets (core.ratelimit.LeasedBudget); the shared bucket is a
TokenBucket here, as the Redis script is in production."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from peerlane.core.ratelimit import Borrow, LeasedBudget, TokenBucket, lease_size


def ask(shared: TokenBucket, borrow: Borrow, now: float) -> tuple[float, float]:
    """What the shared bucket answers a borrow: (granted, wait), as the Lua script does."""
    shared.take(now, 0.0)  # refill to now
    if shared.tokens >= borrow.need:
        granted = min(shared.tokens, borrow.want)
        shared.tokens -= granted
        return granted, 0.0
    return 0.0, (borrow.need - shared.tokens) / shared.rate


def take(budget: LeasedBudget, shared: TokenBucket, key: str, now: float, cost: float = 1.0):
    decision = budget.take(key, now, cost)
    if isinstance(decision, Borrow):
        granted, wait = ask(shared, decision, now)
        return budget.settle(key, now, cost, granted, wait)
    return decision


def test_lease_size_is_a_tenth_of_the_burst_and_at_least_one_token() -> None:
    assert lease_size(200) == pytest.approx(20)
    assert lease_size(4) == 1.0


def test_a_take_borrows_a_lease_then_spends_it_locally() -> None:
    budget = LeasedBudget(lease=5)
    assert budget.take("k", 0.0) == Borrow(need=1, want=5)
    assert budget.settle("k", 0.0, 1.0, granted=5, wait=0.0) is None
    assert [budget.take("k", 0.0) for _ in range(4)] == [None] * 4  # no shared trip
    assert budget.take("k", 0.0) == Borrow(need=1, want=5)
    assert len(budget) == 1


def test_a_cost_larger_than_the_lease_borrows_all_of_it_and_counts_the_leftover() -> None:
    budget = LeasedBudget(lease=5)
    budget.settle("k", 0.0, 1.0, granted=3.5, wait=0.0)  # 2.5 left
    assert budget.take("k", 0.0, cost=8) == Borrow(need=5.5, want=5.5)
    assert budget.settle("k", 0.0, 8, granted=5.5, wait=0.0) is None
    assert budget.take("k", 0.0, cost=0.5) == Borrow(need=0.5, want=5)


def test_a_refusal_is_remembered_until_the_shared_bucket_could_allow() -> None:
    budget = LeasedBudget(lease=5)
    budget.take("k", 10.0)
    assert budget.settle("k", 10.0, 1.0, granted=0.0, wait=2.0) == 2.0
    assert budget.take("k", 11.0) == pytest.approx(1.0)  # no shared trip
    assert budget.peek("k", 11.0) == pytest.approx(1.0)
    assert isinstance(budget.take("k", 11.0, cost=0.5), Borrow)  # a smaller cost may pass
    assert isinstance(budget.take("k", 12.0), Borrow)  # the wait is over: ask again


def test_peek_spends_nothing() -> None:
    budget = LeasedBudget(lease=5)
    assert budget.peek("new", 0.0) == Borrow(need=1, want=1)
    assert len(budget) == 0
    budget.settle("k", 0.0, 1.0, granted=3, wait=0.0)  # 2 left
    assert budget.peek("k", 0.0, cost=2) is None
    assert budget.peek("k", 0.0, cost=2) is None
    assert budget.peek("k", 0.0, cost=3) == Borrow(need=1, want=1)


def test_the_least_recently_used_lease_lapses_beyond_max_keys() -> None:
    budget = LeasedBudget(lease=5, max_keys=2)
    budget.settle("a", 0.0, 1.0, granted=5, wait=0.0)
    budget.settle("b", 0.0, 1.0, granted=5, wait=0.0)
    assert budget.take("a", 0.0) is None  # "a" is now the most recently used
    budget.settle("c", 0.0, 1.0, granted=5, wait=0.0)
    assert len(budget) == 2
    assert isinstance(budget.take("b", 0.0), Borrow)  # forgotten: its lease lapsed
    assert budget.take("c", 0.0) is None


def test_one_instance_allows_exactly_the_shared_burst() -> None:
    shared, budget = TokenBucket.full(rate=1.0, burst=20, now=0.0), LeasedBudget(lease=3)
    allowed = sum(take(budget, shared, "k", 0.0) is None for _ in range(100))
    assert allowed == 20


@settings(max_examples=300, deadline=None)
@given(
    instances=st.integers(1, 4),
    lease=st.sampled_from([1.0, 2.5, 5.0]),
    # Rounds: after ``gap`` seconds, ``count`` takes of ``cost`` on one instance at once.
    rounds=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from([0.0, 0.1, 0.5, 6.0]),
            st.integers(1, 25),
            st.sampled_from([1.0, 1.0, 2.0]),
        ),
        max_size=30,
    ),
)
# Both instances keep most of a lease, the shared bucket refills, then both are hammered.
@example(instances=2, lease=5.0, rounds=[(0, 0, 1, 1), (1, 0, 1, 1), (0, 6, 25, 1), (1, 0, 25, 1)])
def test_instances_together_never_allow_more_than_the_limit_plus_one_lease_each(
    instances: int, lease: float, rounds: list[tuple[int, float, int, float]]
) -> None:
    rate, burst = 2.0, 10.0
    shared = TokenBucket.full(rate, burst, now=0.0)
    budgets = [LeasedBudget(lease) for _ in range(instances)]
    now, spent = 0.0, []  # (time, cost) of every allowed take
    for which, gap, count, cost in rounds:
        now += gap
        for _ in range(count):
            if take(budgets[which % instances], shared, "k", now, cost) is None:
                spent.append((now, cost))
    in_window = 0.0  # every window from an allowed take to the end, longest last
    for start, cost in reversed(spent):
        in_window += cost
        assert in_window <= burst + rate * (now - start) + instances * max(lease, 2.0) + 1e-9
