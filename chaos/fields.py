"""Fields of plain-data files (experiments, fault specs, settings), with errors in a file's words.

Every model a user writes in YAML is a `Strict` model built from these
fields: frozen, unknown keys refused with the list of known ones, numbers
and durations never coerced from strings, and every message ending in what
was expected and what was found ("expected a number greater than 0, got
"fast""). Bounds are documented where they are declared: a duration is at
most a day, a count at most what one machine can run.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    ModelWrapValidatorHandler,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import (
    CoreSchema,
    ErrorDetails,
    InitErrorDetails,
    PydanticCustomError,
    core_schema,
)

from chaos.duration import DURATION_EXAMPLES, parse_duration

# The longest duration any file may ask for: a run that long is a mistake, not a plan.
MAX_DURATION_S = 24 * 3600.0


def printable(text: str) -> str:
    """User text fit for one line of a terminal: control characters and lone surrogates (which
    no terminal can be sent) escaped, never interpreted."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]", _escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def shown(value: object) -> str:
    """A value as the user wrote it in YAML: strings quoted, mappings and lists named."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def expected(what: str) -> PydanticCustomError:
    """An error whose line ends with what the user wrote (`expected X, got Y`)."""
    return PydanticCustomError("expected", "expected {expected}", {"expected": what})


def invalid(message: str, kind: str = "invalid") -> PydanticCustomError:
    """An error with a complete message of its own."""
    # The message travels in ctx so braces in user input are never read as a template.
    return PydanticCustomError(kind, "{message}", {"message": message})


def problem(
    loc: tuple[str | int, ...], error: PydanticCustomError, value: object
) -> InitErrorDetails:
    return InitErrorDetails(type=error, loc=loc, input=value)


def again(error: ErrorDetails) -> InitErrorDetails:
    """A nested validation's error, to be raised again together with others."""
    repeated = PydanticCustomError(error["type"], error["msg"], error.get("ctx"))
    return problem(error["loc"], repeated, error["input"])


def reject(model: str, problems: Sequence[InitErrorDetails]) -> None:
    """Raise the problems at their own locations (pydantic prefixes the caller's location)."""
    if problems:
        raise ValidationError.from_exception_data(model, list(problems))


class Check:
    """A validator used as `Annotated` metadata: the instance is called with the raw value."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self)


@dataclass(frozen=True)
class Bounded(Check):
    """A number, integer or duration within bounds; the error names the bounds.

    Used instead of pydantic's `gt`/`ge` so that a value of the wrong type and
    one out of range get the same complete message ("expected a number
    greater than 0"), and so that YAML strings are never coerced to numbers.
    """

    what: Literal["number", "integer", "duration"]
    gt: float | None = None
    ge: float | None = None
    le: float | None = None

    def expected(self) -> str:
        if self.what == "duration":
            above = f"greater than {_bound(self.gt)}, " if self.gt is not None else ""
            below = f"at most {_hours(self.le)}, " if self.le is not None else ""
            return f"a duration {above}{below}{DURATION_EXAMPLES}"
        noun = "an integer" if self.what == "integer" else "a number"
        gt, ge, le = _bound(self.gt), _bound(self.ge), _bound(self.le)
        if self.ge is not None and self.le is not None:
            return f"{noun} from {ge} to {le}"
        if self.gt is not None and self.le is not None:
            return f"{noun} greater than {gt} and at most {le}"
        if self.ge is not None:
            return f"{noun} of at least {ge}"
        parts = [f"greater than {gt}"] if self.gt is not None else []
        parts += [f"at most {le}"] if self.le is not None else []
        return f"{noun} {' and '.join(parts)}".rstrip()

    def __call__(self, value: object) -> float | int:
        try:
            number = self._parse(value)
        except ValueError:
            raise expected(self.expected()) from None
        too_low = (self.gt is not None and number <= self.gt) or (
            self.ge is not None and number < self.ge
        )
        if too_low or (self.le is not None and number > self.le):
            raise expected(self.expected())
        return number

    def _parse(self, value: object) -> float | int:
        if self.what == "duration":
            return parse_duration(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(value)
        if self.what == "integer":
            if not isinstance(value, int):
                raise ValueError(value)
            return value
        if not math.isfinite(value):
            raise ValueError(value)
        return float(value)


def _bound(value: float | None) -> str:
    """A bound as a file would write it: integers in full (2000000, not 2e+06)."""
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g}h" if seconds >= 3600 else f"{seconds:g}s"


@dataclass(frozen=True)
class Span(Check):
    """A `[min, max]` pair for a value drawn from the experiment's seed."""

    bound: Bounded

    def __call__(self, value: object) -> tuple[float, float]:
        if isinstance(value, list | tuple) and len(value) == 2:
            try:
                low, high = (self.bound(item) for item in value)
            except PydanticCustomError:
                pass
            else:
                if low <= high:
                    return float(low), float(high)
        raise expected(f"[min, max] with min <= max, each {self.bound.expected()}")


@dataclass(frozen=True)
class Pattern(Check):
    """A string matching a pattern, or one of some words, with what a valid one looks like."""

    pattern: re.Pattern[str]
    description: str
    words: tuple[str, ...] = ()

    def __call__(self, value: object) -> str:
        if isinstance(value, str) and (value in self.words or self.pattern.fullmatch(value)):
            return value
        raise expected(self.description)


Duration = Annotated[float, Bounded("duration", ge=0, le=MAX_DURATION_S)]
PositiveDuration = Annotated[float, Bounded("duration", gt=0, le=MAX_DURATION_S)]
Fraction = Annotated[float, Bounded("number", ge=0, le=1)]
Count = Annotated[int, Bounded("integer", ge=0)]


# Control characters (a terminal would act on them: colours, a cleared screen) and lone
# surrogates (which no terminal or file can be sent) are not text a line may hold.
_NOT_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


MAX_LINE_CHARS = 2_000  # a title or description; the catalogue's longest is 160


def _one_line(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if text and len(text) <= MAX_LINE_CHARS and not _NOT_TEXT.search(text):
        return text
    what = f"one line of text (at most {MAX_LINE_CHARS:,} characters, no control characters)"
    if isinstance(value, str) and len(value) > 60:  # the error line would quote all of it
        raise invalid(
            f'expected {what}, got {shown(value[:40])[:-1]}..." ({len(value):,} characters)'
        )
    raise expected(what)


OneLine = Annotated[str, PlainValidator(_one_line)]


class Strict(BaseModel):
    """Frozen; an unknown field is an error that lists the fields this part has."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="wrap")
    @classmethod
    def _known_fields(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Report unknown fields beside the other problems of the same part, not instead."""
        known = _known(cls)
        if not isinstance(data, dict) or all(key in known for key in data):
            return handler(data)
        message = f"unknown field; expected one of {', '.join(cls.model_fields)}"
        problems = [
            problem((key,), invalid(message, "unknown_field"), key)
            for key in data
            if key not in known
        ]
        try:
            handler({key: value for key, value in data.items() if key in known})
        except ValidationError as exc:
            problems += [again(error) for error in exc.errors()]
        raise ValidationError.from_exception_data(cls.__name__, problems)


def _known(model: type[BaseModel]) -> set[str]:
    """Field names and their aliases, as a file may write them."""
    names = set(model.model_fields)
    return names | {f.alias for f in model.model_fields.values() if f.alias}
