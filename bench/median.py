"""The median of benchmark rounds and its confidence interval, for ratios read near a target.

On a shared machine one run's ratio moves by as much as the margin to a target, so a target is
read on the median of several rounds and on the interval where the true median lies: the
distribution-free interval from the order statistics (the k-th lowest and k-th highest rounds,
k the largest with P(Binomial(n, 1/2) < k) <= (1 - level) / 2; no assumption on how the rounds
spread). It needs 6 rounds at 95 %.
"""
import math
import statistics


def median_interval(values, level=0.95):
    """(low, high, coverage) of the median of `values`, or None when there are too few."""
    xs, n = sorted(values), len(values)
    tail, k = 0.0, 0
    while k < n and tail + math.comb(n, k) / 2**n <= (1 - level) / 2:
        tail += math.comb(n, k) / 2**n
        k += 1
    return (xs[k - 1], xs[n - k], 1 - 2 * tail) if k else None


def describe(values):
    """`a, b, c; median m (96% interval l-h, n rounds)`, the interval from 6 rounds on."""
    line = ", ".join(f"{v:.2f}" for v in values) + f"; median {statistics.median(values):.2f}"
    interval = median_interval(values)
    if interval:
        low, high, coverage = interval
        line += f" ({coverage:.0%} interval {low:.2f}-{high:.2f}, {len(values)} rounds)"
    return line


if __name__ == "__main__":
    # Self-check: the interval of 1..n for the sizes the scripts use.
    assert median_interval([1, 2, 3, 4, 5]) is None
    assert median_interval(list(range(1, 7)))[:2] == (1, 6)
    assert median_interval(list(range(1, 13)))[:2] == (3, 10)
    assert median_interval(list(range(1, 21)))[:2] == (6, 15)
    assert all(median_interval(list(range(n)))[2] >= 0.95 for n in range(6, 60))
    print("ok")
