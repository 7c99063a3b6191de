"""Whether one figure got worse than its baseline: a one-sided Mann-Whitney U test with a
minimum effect, fit for the handful of noisy runs a night affords.

Recovery figures are skewed, a loaded machine adds the odd slow run, and there are only a
few of them: the U test assumes no distribution, only asks whether tonight's values tend
to lie above the baseline's. Its p-value is exact, every split of the pooled runs counted
(with ties, such as lost writes or two "never"s, by enumerating the splits), so it means
what it says at 8 vs 8 runs, where a normal approximation does not.

A figure regresses when both hold:

- p ≤ ALPHA, 0.01 per figure: a verdict tests up to six figures, so noise alone fails a
  night less than 6 % of the time even if they were independent (Bonferroni);
- its median grew by at least MIN_RELATIVE of the baseline's median, and by the figure's
  floor: a real but harmless shift (+10 % on a quiet machine) never fails a build.

NIGHTLY_REPEATS is the runs per experiment each night. A +50 % shift of a lognormal figure
with the spread of the suite's real Raft leader failovers (1.2-2.4 s as its central 95 %,
a CV of 18 %) is caught about 92 % of the time at 8 vs 8, 87 % at 7, 78 % at 6 and 63 % at
5; 8 keeps a margin for noisier nights (with a fifth more spread, still 78 %). Noise alone
failed 2.2 % of nights of five independent figures at 8 vs 8, 0.4 % of figures (1,000
seeded trials each, tests/unit/test_regression.py; `pytest -s` prints the rates).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chaos.baseline.figures import Figure
from chaos.compare.statistics import NEVER, Distribution

ALPHA = 0.01
MIN_RELATIVE = 0.25
NIGHTLY_REPEATS = 8
# Splits enumerated exactly when values tie: 8 + 8 runs have 12,870 (about 1.5 s); beyond,
# the tie-corrected normal approximation, which is good at such sizes.
MAX_SPLITS = 13_000

FigureOutcome = Literal["regressed", "held", "not judged"]


def judgeable(before: int, after: int) -> bool:
    """Whether any outcome of this few runs could reach ALPHA: the most extreme split of
    n + m runs has p = 1 / C(n + m, n), so 4 vs 4 (1/70) cannot, 5 vs 5 (1/252) can."""
    return before > 0 and after > 0 and math.comb(before + after, before) * ALPHA >= 1


MIN_RUNS = next(n for n in range(1, 100) if judgeable(n, n))


def p_worse(before: Sequence[float], after: Sequence[float]) -> float | None:
    """The one-sided p-value that `after` tends to lie above `before` (never ranks last);
    None where no outcome of this few runs could reach ALPHA."""
    # Imported here: pages that show a recorded verdict need no SciPy.
    from scipy.stats import PermutationMethod, mannwhitneyu

    if not judgeable(len(before), len(after)):
        return None
    pooled = [*before, *after]
    distinct = len(set(pooled))
    if distinct == 1:
        return 1.0
    if distinct == len(pooled):
        method: Any = "exact"
    elif math.comb(len(pooled), len(before)) <= MAX_SPLITS:
        method = PermutationMethod(n_resamples=math.inf)
    else:
        method = "asymptotic"
    result = mannwhitneyu(after, before, alternative="greater", method=method)
    return float(result.pvalue)


@dataclass(frozen=True)
class Shift:
    """One figure, the baseline's runs against tonight's, and the test's p-value."""

    figure: Figure
    before: Distribution
    after: Distribution
    p: float | None

    @classmethod
    def of(cls, figure: Figure, before: Sequence[float], after: Sequence[float]) -> Shift:
        return cls(
            figure,
            Distribution(tuple(sorted(before))),
            Distribution(tuple(sorted(after))),
            p_worse(before, after),
        )

    @property
    def growth(self) -> float:
        """How much the median grew, in the figure's unit (NEVER: it never happened tonight)."""
        if self.before.median == self.after.median:
            return 0.0
        return self.after.median - self.before.median

    @property
    def minimum(self) -> float:
        """The smallest growth that counts as a regression."""
        return max(MIN_RELATIVE * self.before.median, self.figure.floor)

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p <= ALPHA

    @property
    def regressed(self) -> bool:
        return self.significant and self.growth >= self.minimum

    @property
    def outcome(self) -> FigureOutcome:
        if self.p is None:
            return "not judged"
        return "regressed" if self.regressed else "held"

    def change(self) -> str:
        """The growth as a percentage of the baseline's median, or as is where that is 0."""
        before, after = self.before.median, self.after.median
        if after == NEVER:
            return "no change" if before == NEVER else "never happened"
        if before == NEVER:
            return "happened again"
        if before == 0:
            return f"{after - before:+g}" if self.figure.unit == "writes" else "from 0"
        return f"{(after / before - 1) * 100:+.0f} %"

    def line(self) -> str:
        """'time to detect 1.58 s → 3.71 s, +135 %, p = 0.004, 5 vs 5 runs'."""
        show = self.figure.show
        head = f"{self.figure.label} {show(self.before.median)} → {show(self.after.median)}"
        runs = f"{self.before.n} vs {self.after.n} runs"
        if self.p is None:
            return f"{head}, {self.change()}, {runs}: too few to reach p ≤ {ALPHA:g}"
        text = f"{head}, {self.change()}, {p_text(self.p)}, {runs}"
        if self.significant and not self.regressed and self.growth > 0:
            text += f" (under the minimum effect: {self.minimum_text()})"
        return text

    def minimum_text(self) -> str:
        return f"+{MIN_RELATIVE * 100:.0f} % and +{self.figure.show(self.figure.floor)}"


def p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
