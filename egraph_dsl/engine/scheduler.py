"""Which rules run in a saturation step, and in what groups: egg's backoff scheduler.

A rule that matched more than its budget in one step is banned for a few steps; its budget and
its ban double each time, so commutativity and associativity cannot crowd out the other rules.
Rules whose last run could add only a little to the e-graph run together in one group; the
others ("loud" rules) run alone, quietest first, so the engine can try each on a copy before
it risks a limit. The scheduler also remembers what each rule's last run cost in seconds at
what e-graph size, so the engine can predict a group's time at the present size.

The engine (``EGraph.run``) owns the limits and the egglog calls; this module only keeps the
per-rule bookkeeping, so the policy can be read, and tested, on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

FIRST_BAN = 2  # a rule's first ban, in steps; each later ban doubles (egg's BackoffScheduler)
QUIET_SHARE = 20  # a rule is quiet when its last run could add under 1/20 of the room left


class BackoffScheduler:
    """Per-rule bans, budgets and last-run sizes for one saturation run of ``n_rules`` rules.

    ``match_limit`` is a rule's budget (matches per step) before its first ban; ``growth[i]`` is
    how many e-nodes one match of rule ``i`` may add.
    """

    def __init__(self, growth: Sequence[int], match_limit: int, first_ban: int = FIRST_BAN) -> None:
        n = len(growth)
        self.growth = list(growth)
        self.match_limit = match_limit
        self.first_ban = first_ban
        self.bans = [0] * n  # bans so far: the budget and the ban length are shifted by this
        self.banned_until = [0] * n  # first step the rule may run again
        self.last = [0] * n  # matches in the rule's last run
        self._seconds_at = [(0.0, 1)] * n  # (seconds, e-graph size) of the last run that applied the rule

    def active(self, step: int) -> list[int]:
        """The rules not banned at ``step``."""
        return [i for i, until in enumerate(self.banned_until) if until <= step]

    def groups(self, active: Sequence[int], room: int) -> list[tuple[int, ...]]:
        """The order ``active`` rules run in this step: the quiet ones together first (their last
        run could add under 1/QUIET_SHARE of ``room``, the e-nodes left before a limit), then each
        loud one alone, quietest first."""
        limit = max(1, room) // QUIET_SHARE
        quiet = [i for i in active if self.last[i] * self.growth[i] < limit]
        loud = sorted((i for i in active if i not in quiet), key=lambda i: self.last[i])
        return ([tuple(quiet)] if quiet else []) + [(i,) for i in loud]

    def ban(self, rule: int, step: int) -> None:
        """Ban ``rule`` from ``step`` on, for twice as long as its previous ban."""
        self.banned_until[rule] = step + (self.first_ban << self.bans[rule])
        self.bans[rule] += 1

    def matched(self, rule: int, matches: int, step: int) -> None:
        """Record that ``rule`` matched ``matches`` times at ``step``; ban it if that is over its budget."""
        self.last[rule] = matches
        if matches > self.match_limit << self.bans[rule]:
            self.ban(rule, step)

    def timed(self, group: Sequence[int], seconds: float, size: int) -> None:
        """Record that applying ``group`` took ``seconds`` on an e-graph of ``size`` e-nodes."""
        for i in group:  # each rule's share of the step, at this size
            self._seconds_at[i] = (seconds / len(group), max(1, size))

    def predicted_seconds(self, group: Sequence[int], size: int) -> float:
        """What applying ``group`` should take at ``size`` e-nodes, from each rule's last run (a
        rule's work grows about with the square of the e-graph: matches times the cost of each)."""
        return sum(s * (size / at) ** 2 for s, at in (self._seconds_at[i] for i in group))

    def bans_pending(self, step: int) -> bool:
        """Whether some rule is still banned at ``step`` (so nothing firing is not saturation yet)."""
        return any(until > step for until in self.banned_until)
