"""Coverage-guided fuzzing of the experiment loader (atheris, libFuzzer): bytes in, an
`Experiment` or a `ChaosError` out; any other exception is a crash, and so is an input that
takes longer than libFuzzer's `-timeout`.

    pip install -e '.[fuzz]'
    python fuzz/fuzz_experiment.py -max_total_time=300 -timeout=5 -dict=fuzz/yaml.dict \
        fuzz/corpus experiments tests/adversarial/experiments

The first folder collects what the run finds interesting (created if missing); the others
seed it with the catalogue and the adversarial corpus. An input of odd length is parsed as
a large file is (libyaml), an even one by PyYAML's own parser, so small inputs reach both.
The short, every-commit counterpart is tests/unit/test_fuzz.py.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["chaos", "yaml"]):
    from chaos.errors import ChaosError
    from chaos.experiment import parse_experiment, source

SMALL_FILES = source.FAST_BYTES


def test_one_input(data: bytes) -> None:
    source.FAST_BYTES = 0 if len(data) % 2 else SMALL_FILES
    text = data.decode("utf-8", "surrogateescape")  # bytes that are not UTF-8 stay visible
    with contextlib.suppress(ChaosError):  # an answer; anything else escapes: a crash
        parse_experiment(text, "fuzzed.yaml")


def main() -> None:
    folders = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    if folders:  # where libFuzzer keeps what it finds
        Path(folders[0]).mkdir(parents=True, exist_ok=True)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
