"""Hypothesis profiles for rule checking: ``dev`` (fast), ``ci`` (make test), ``thorough``."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

EXAMPLES = {"dev": 20, "ci": 60, "thorough": 600}


def settings_for(profile: str) -> settings:
    """Settings for ``profile``; ``ci`` is derandomized so a run is reproducible."""
    if profile not in EXAMPLES:
        raise ValueError(f"unknown profile {profile!r}; use one of {', '.join(EXAMPLES)}")
    return settings(
        max_examples=EXAMPLES[profile],
        deadline=None,
        database=None,
        derandomize=profile == "ci",
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        print_blob=False,
        report_multiple_bugs=False,
    )
