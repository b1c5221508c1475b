"""The backoff scheduler on its own: bans that double, budgets that double, quiet rules grouped."""

from egraph_dsl.engine.scheduler import FIRST_BAN, BackoffScheduler


def test_a_rule_over_its_budget_is_banned_for_twice_as_long_each_time() -> None:
    s = BackoffScheduler([1, 1], match_limit=10)
    s.matched(0, 11, step=1)  # over 10: banned for FIRST_BAN steps
    s.matched(1, 10, step=1)  # at the budget: not banned
    assert s.banned_until == [1 + FIRST_BAN, 0]
    assert s.active(1 + FIRST_BAN - 1) == [1]
    assert s.active(1 + FIRST_BAN) == [0, 1]
    s.matched(0, 20, step=5)  # the budget doubled to 20: not banned
    assert s.banned_until[0] == 1 + FIRST_BAN
    s.matched(0, 21, step=5)  # over 20: banned for twice as long
    assert s.banned_until[0] == 5 + 2 * FIRST_BAN
    assert s.bans_pending(5 + 2 * FIRST_BAN - 1) and not s.bans_pending(5 + 2 * FIRST_BAN)


def test_quiet_rules_run_together_first_and_loud_ones_alone_quietest_first() -> None:
    s = BackoffScheduler([1, 4, 1, 1], match_limit=1000)
    for rule, n in enumerate([0, 30, 500, 200]):
        s.matched(rule, n, step=1)
    # room 1000: quiet below 1000 // 20 = 50 e-nodes; rule 1 may add 30 * 4 = 120
    assert s.groups([0, 1, 2, 3], room=1000) == [(0,), (1,), (3,), (2,)]
    assert s.groups([0, 1, 2, 3], room=100_000) == [(0, 1, 2, 3)]
    assert s.groups([1, 2], room=0) == [(1,), (2,)]  # no room: every rule that matched is loud


def test_predicted_seconds_scale_with_the_square_of_the_e_graph() -> None:
    s = BackoffScheduler([1, 1, 1], match_limit=10)
    assert s.predicted_seconds([0, 1, 2], size=10_000) == 0.0  # nothing has run yet
    s.timed([0, 1], seconds=0.2, size=1000)  # each rule's share: 0.1 s at 1000 e-nodes
    assert s.predicted_seconds([0], size=2000) == 0.1 * 4
    assert s.predicted_seconds([0, 1, 2], size=1000) == 0.2
