"""An interactive optimization session on the reactivity model, step by step.

The model is a Bernoulli-logistic log-posterior with a normal prior on the weights: naive
NumPy code that overflows for large |z| (``1 - p`` rounds to 0 and ``log`` gives -inf). We
stabilise the logs first, only where they are, then let algebra and linalg tidy the rest under
tight limits, look at why the result has its form, undo and redo a step, and compile it.

Run it: ``PYTHONPATH=. python examples/interactive_session.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import egraph_dsl as ed


def reactivity(X, y, w, b):  # type: ignore[no-untyped-def]
    z = X @ w + b
    p = 1 / (1 + np.exp(-z))
    return np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) - 0.5 * np.sum(w * w)


def make_data(n: int = 200, k: int = 4, seed: int = 0) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    w = rng.normal(size=k)
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w)))).astype(float)
    return X, y, w, 0.25


def main(verbose: bool = True) -> dict[str, Any]:
    say = print if verbose else (lambda *a, **k: None)
    X, y, w, b = make_data()
    s = ed.Session(reactivity, X, y, w, b)
    say("== the traced program, with the cost of each op")
    say(str(s))

    say("\n== where are the logs?")
    logs = s.find("log(_)")
    say(logs)

    say("\n== 1. stabilise only below the logs (the prior term is left alone)")
    step1 = s.apply("stability", scope=s.below(logs))
    say(step1)

    say("\n== 2. algebra on the data term only, with tight limits (AC rules grow fast)")
    (data_sum,) = [m for m in s.find("sum(_)") if "softplus" in {t.op for t in ed.term.postorder([m.term])}]
    step2 = s.apply("algebra", scope=s.below(data_sum), limits={"iterations": 3, "nodes": 2000})
    say(step2)

    say("\n== 3. linalg everywhere: sums of products become dot products")
    step3 = s.apply("linalg", limits={"iterations": 3})
    say(step3)
    say(str(s))

    say("\n== why does the output look like this?")
    why = s.explain()
    say(why)

    say("\n== undo step 3, look, redo it")
    s.undo()
    cost_without_linalg = s.cost
    s.redo()
    say(f"cost without step 3: {cost_without_linalg:,.0f}; with it: {s.cost:,.0f}")

    say("\n== exact extraction and the runners-up")
    exact = s.extract(method="ilp")
    say(f"ilp cost {exact.cost:,.0f} (optimal: {exact.optimal})")
    alternatives = s.alternatives(3)
    for alt in alternatives:
        say(f"  #{alt.rank}: cost {alt.cost:,.0f}, {alt.program.op_count()} ops")

    say("\n== compile and run; compare with NumPy on ordinary and extreme inputs")
    f = s.compile(backend="numpy")
    value, reference = f(X, y, w, b), reactivity(X, y, w, b)
    say(f"optimized {float(value):.12f}  numpy {float(reference):.12f}")
    with np.errstate(all="ignore"):
        naive_big = reactivity(X * 100, y, w, b)  # exp overflows, 1 - p == 0: -inf or nan
    big = f(X * 100, y, w, b)
    say(f"with X*100: optimized {float(big):.3f}, naive NumPy {float(naive_big)}")
    say("\n== history")
    for r in s.history():
        say(f"  step {r.index}: {r.kind} {r.what} ({r.scope}) cost {r.cost_before:,.0f} -> {r.cost_after:,.0f}")
    return {"session": s, "steps": (step1, step2, step3), "explanation": why, "value": value,
            "reference": reference, "big": big, "naive_big": naive_big, "alternatives": alternatives}


if __name__ == "__main__":
    main()
