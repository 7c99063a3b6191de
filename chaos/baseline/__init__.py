"""Nightly regression tracking: each experiment's figures kept as a baseline, tonight's runs
tested against it, and their trend over the nights.

A night passes a fixed SLO long before it doubles its failover time, and recovery figures
are distributions measured on shared, noisy machines: so a night is judged against the
distribution of the last good night on the same configuration, by a test fit for a
handful of runs, with a minimum effect (`regression`). Built only from run folders
(chaos.artefacts) and the baseline folder, never Docker.

| module | job |
|---|---|
| `figures` | the figures kept, as docs/metrics.md defines them, and one run's value of each |
| `night` | one batch of runs of one experiment: what it ran on, each figure's values |
| `regression` | one figure against its baseline: one-sided Mann-Whitney U, minimum effect |
| `verdict` | a night against its baseline (a change is no regression); `regression.json` |
| `store` | the baseline folder: per experiment its nights and each configuration's baseline |
| `files` | reading the package's versioned files |
| `trend` | `trend.html`: each figure over the nights |

Nothing is imported here, so the run report can read a verdict without loading SciPy.
"""
