"""Reading a YAML file into data, and every problem into one line at its place in the file.

Positions come from composing the YAML with PyYAML (its nodes carry marks)
and following a validation error's location through the node tree. Hostile
input is refused in bounded time before anything is built from it: files
over 10 MB, more values or deeper nesting than any experiment has (refused
while the tree is composed, not after), aliases that expand a small file
into millions of values or into themselves, keys that are not text, and
values YAML's own constructors cannot build (`2020-13-45`, `!!int abc`).
Files shaped like experiments (up to FAST_BYTES, no line of 500 characters)
are parsed by PyYAML's own parser, whose messages name what it found; the
rest by libyaml, ten times faster and linear where PyYAML's is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml: every file takes the pure-Python parser
    CParser = None

from chaos.errors import SourceError
from chaos.fields import printable, shown

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64  # an experiment nests five levels; anything this deep is not one
# Values in the file, and after its aliases are expanded: a file of 1,000 faults has 10,000 to
# 20,000; beyond, composing and validating would take seconds, for a file no one meant.
MAX_VALUES = 20_000
MAX_KEYS = 1_000  # in one mapping; the longest an experiment has is about 15
MAX_LINES = 50  # problems reported per file; the rest are counted
FAST_BYTES = 16 * 1024  # beyond this (no experiment is as long), libyaml parses the file
LONG_LINE = re.compile(r"[^\n]{500}")  # and a line this long (no experiment has one)
STRING_TAG = "tag:yaml.org,2002:str"
SURROGATE = re.compile("[\ud800-\udfff]")
# What YAML's reader refuses (PyYAML's own set), checked here so that both parsers agree.
NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def at(source: str, line: int, column: int, field: str, message: str) -> str:
    """One problem as `FILE:LINE:COLUMN: FIELD: message`."""
    where = f"{printable(source)}:{line}:{column}"
    body = f"{printable(field)}: {printable(message)}" if field else printable(message)
    return f"{where}: {body}"


def _mark_line(source: str, node: Node, field: str, message: str) -> str:
    mark = node.start_mark
    return at(source, mark.line + 1, mark.column + 1, field, message)


def compose(source: str, text: str, what: str) -> tuple[Node, Any]:
    """The node tree (for positions) and the data built from that same tree.

    `what` names what the file should hold, for the empty-file message.
    """
    if len(text) > MAX_BYTES:
        raise SourceError([f"{printable(source)}: over 10 MB: not {what}"])
    bad = NON_PRINTABLE.search(text)
    if bad:
        raise SourceError([_control_line(source, text, bad.start())])
    try:
        loader = _loader(text)
    except yaml.reader.ReaderError as exc:
        raise SourceError([_reader_line(source, text, exc)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise SourceError([at(source, 1, 1, "", f"empty file; expected {what}")])
        problems = _shape_problems(source, node)
        if problems:
            raise SourceError(problems)
        return node, loader.construct_document(node)
    except _Refused as exc:
        line, column = exc.mark.line + 1, exc.mark.column + 1
        raise SourceError([at(source, line, column, "", exc.message)]) from None
    except yaml.reader.ReaderError as exc:
        raise SourceError([_reader_line(source, text, exc)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"invalid YAML: {_problem(exc)}"
        if mark and "nesting depth" in str(exc.problem):
            line, column, message = _depth_refusal(text[: mark.index]) or (line, column, message)
        raise SourceError([at(source, line, column, "", message)]) from None
    except yaml.YAMLError as exc:
        message = f"invalid YAML: {' '.join(str(exc).split())}"
        raise SourceError([at(source, 1, 1, "", message)]) from None
    except (RecursionError, MemoryError):  # bounded above; kept so no input can escape as a bug
        message = f"too large or nested too deeply to read (more than {MAX_DEPTH} levels)"
        raise SourceError([at(source, 1, 1, "", message)]) from None
    finally:
        loader.dispose()


def _depth_refusal(prefix: str) -> tuple[int, int, str] | None:
    """Where the text before libyaml's own nesting limit (1,000 levels, from libyaml 0.2.6)
    first went past MAX_DEPTH: libyaml's scanner looks that far ahead before the composer
    sees a node, so the bounded composer is given the prefix alone, which PyYAML scans fast."""
    loader = _Loader(prefix)
    try:
        loader.get_single_node()
    except _Refused as exc:
        return exc.mark.line + 1, exc.mark.column + 1, exc.message
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return None


def _problem(exc: yaml.MarkedYAMLError) -> str:
    """What the parser says, in one line; a duplicate anchor's problem is only "second
    occurrence", its name and first place are in the context."""
    first = exc.context_mark
    if exc.problem == "second occurrence" and exc.context and first:
        name = exc.context.removesuffix("; first occurrence")
        return f"{name} (first at {first.line + 1}:{first.column + 1})"
    return str(exc.problem)


class _Refused(Exception):
    """Composing stopped at `mark`: the file is past a bound no experiment comes near."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.mark, self.message = mark, message


class _BoundedComposer(Composer):
    """PyYAML's composer, refusing as it goes: past MAX_VALUES values (aliases count), MAX_KEYS
    keys in one mapping or MAX_DEPTH levels, and an alias inside the value its anchor names
    (a loop no data can be built from). Bounded while the tree is built, so no input
    reaches the recursion limit or takes seconds to compose."""

    def _bounds(self) -> None:
        self.depth = 0
        self.values = 0
        self.open_anchors: set[str] = set()

    def compose_node(self, parent: Node | None, index: object) -> Node:
        event = self.peek_event()
        self.values += 1
        if self.values > MAX_VALUES:
            message = f"more than {MAX_VALUES:,} values: refused (no experiment has as many)"
            raise _Refused(event.start_mark, message)
        if isinstance(parent, MappingNode) and index is None and len(parent.value) >= MAX_KEYS:
            message = f"more than {MAX_KEYS:,} keys in one mapping: refused (no experiment has)"
            raise _Refused(event.start_mark, message)
        if isinstance(event, ScalarEvent) and (half := SURROGATE.search(event.value)):
            # PyYAML's scanner makes one of "\ud800" (libyaml refuses it): no text holds one.
            message = f"escape \\u{ord(half.group()):04x} is half a character: refused"
            raise _Refused(event.start_mark, message)
        if isinstance(event, AliasEvent):
            if event.anchor in self.open_anchors:
                message = f"alias *{event.anchor} inside the value it names: a loop, refused"
                raise _Refused(event.start_mark, message)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        if self.depth >= MAX_DEPTH:
            raise _Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        self.depth += 1
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        try:
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self.depth -= 1
            self.open_anchors.discard(event.anchor)


class _Constructor(SafeConstructor):
    """PyYAML's safe constructor; a value it cannot build (`2020-13-45`, `!!int abc`, an
    integer of 5,000 digits) is a marked error at that value, not a ValueError."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            tag = node.tag.rsplit(":", 1)[-1]
            reason = str(exc).split(";")[0]  # not Python's advice on its own limits
            problem = f"cannot read {_shown_value(node)} as {tag}: {reason}"
            raise ConstructorError(None, None, problem, node.start_mark) from None


def _shown_value(node: Node) -> str:
    if isinstance(node, ScalarNode):
        value = node.value if len(node.value) <= 40 else f"{node.value[:40]}..."
        return repr(value)
    return "a list" if isinstance(node, SequenceNode) else "a mapping"


class _Loader(Reader, Scanner, Parser, _BoundedComposer, _Constructor, Resolver):
    """PyYAML's safe loader with the bounds above."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        self._bounds()
        _Constructor.__init__(self)
        Resolver.__init__(self)


if CParser is not None:

    class _FastLoader(_BoundedComposer, CParser, _Constructor, Resolver):  # type: ignore[misc,valid-type]
        """The same, parsed by libyaml; composing stays in Python, where the bounds are."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            self._bounds()
            _Constructor.__init__(self)
            Resolver.__init__(self)


def _loader(text: str) -> _Loader:
    """PyYAML's parser for files shaped like experiments; libyaml for the rest (a long line of
    brackets costs PyYAML's scanner time growing with the square of its length)."""
    if CParser is not None and (len(text) > FAST_BYTES or LONG_LINE.search(text)):
        return _FastLoader(text)  # type: ignore[return-value]
    return _Loader(text)


def _control_line(source: str, text: str, position: int) -> str:
    before = text[:position]
    line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
    code = ord(text[position])
    return at(source, line, column, "", f"control character #x{code:04x} is not allowed")


def _reader_line(source: str, text: str, exc: yaml.reader.ReaderError) -> str:
    """A character libyaml's reader refuses (a byte offset: it reads UTF-8) that PyYAML's
    set allows, such as a byte-order mark inside the file."""
    before = text.encode("utf-8", "surrogatepass")[: exc.position].decode("utf-8", "ignore")
    if len(before) < len(text):
        return _control_line(source, text, len(before))
    return at(source, 1, 1, "", f"invalid YAML: {exc.reason}")


def _shape_problems(source: str, root: Node) -> list[str]:
    """Depth, text keys and keys given twice (each node visited once), then the size the
    document has once its aliases are expanded; in file order."""
    found: list[tuple[int, str]] = []
    visited: set[int] = set()
    stack: list[tuple[Node, int, str]] = [(root, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            message = f"nested more than {MAX_DEPTH} levels deep"
            return [_mark_line(source, node, path, message)]
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, MappingNode):
            names: set[str] = set()
            for key, value in node.value:
                if not (isinstance(key, ScalarNode) and key.tag == STRING_TAG):
                    line = _mark_line(source, key, path, f"expected a text key, got {_key(key)}")
                    found.append((key.start_mark.index, line))
                    continue
                name = _join(path, key.value)
                if key.value in names:
                    found.append(
                        (key.start_mark.index, _mark_line(source, key, name, "duplicate key"))
                    )
                names.add(key.value)
                stack.append((value, depth + 1, name))
        elif isinstance(node, SequenceNode):
            stack.extend((item, depth + 1, _join(path, i)) for i, item in enumerate(node.value))
    if _expanded(root, {}) > MAX_VALUES:
        message = f"expands to more than {MAX_VALUES:,} values (through YAML aliases): refused"
        return [_mark_line(source, root, "", message)]
    return [line for _, line in sorted(found)]


def _expanded(node: Node, sizes: dict[int, int]) -> int:
    """How many values `node` stands for with every alias expanded; each node counted once,
    and the count stops growing once past the bound."""
    if id(node) not in sizes:
        total = 1
        for child in _children(node):
            total += _expanded(child, sizes)
            if total > MAX_VALUES:
                break
        sizes[id(node)] = total
    return sizes[id(node)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _key(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return f"{node.value!r} ({node.tag.rsplit(':', 1)[-1]})"
    return "a list" if isinstance(node, SequenceNode) else "a mapping"


# What pydantic's own error types expect, in the words of a YAML file.
_EXPECTED = {
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


def message(error: ErrorDetails, kinds: Sequence[str]) -> str:
    """What an error says, in the words of a YAML file; `kinds` are the union's tags."""
    kind, ctx, given = error["type"], error.get("ctx", {}), error["input"]
    if kind in ("invalid", "unknown_field") or (kind == "missing" and "message" in ctx):
        return str(ctx["message"])
    if kind == "missing":
        return "required field is missing"
    if kind == "union_tag_not_found":
        return f"required field is missing; expected one of {', '.join(kinds)}"
    if kind == "union_tag_invalid":
        wanted = f"one of {', '.join(_quoted(ctx['expected_tags']))}"
        given = given.get(ctx["discriminator"].strip("'")) if isinstance(given, dict) else given
    elif kind == "literal_error":
        wanted = f"one of {', '.join(_quoted(ctx['expected']))}"
    elif kind == "expected":
        if isinstance(given, dict | list | tuple):  # "got a list" would add nothing
            return f"expected {ctx['expected']}"
        wanted = ctx["expected"]
    elif kind in _EXPECTED:
        wanted = _EXPECTED[kind]
    else:
        return error["msg"]
    return f"expected {wanted}, got {shown(given)}{_hint(given)}"


def _hint(given: object) -> str:
    """Why a number came out as text: YAML 1.1 reads `1e9` (no dot) as a string."""
    if isinstance(given, str) and re.fullmatch(r"[-+]?\d+[eE][-+]?\d+", given.strip()):
        return " (YAML reads it as text: write 1.0e9 or the digits)"
    return ""


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


class Locator:
    """Follows error locations through the node tree; each mapping is indexed once."""

    def __init__(self, root: Node) -> None:
        self.root = root
        self._entries: dict[int, dict[str, tuple[Node, Node]]] = {}

    def entries(self, node: MappingNode) -> dict[str, tuple[Node, Node]]:
        found = self._entries.get(id(node))
        if found is None:
            found = {k.value: (k, v) for k, v in node.value if isinstance(k, ScalarNode)}
            self._entries[id(node)] = found
        return found

    def walk(self, loc: tuple[str | int, ...]) -> tuple[str, Node, Node]:
        """The field path as the user reads it (`faults[0].target`), the node the error is
        about (the parent mapping when the field is missing) and the key node naming it.
        A fault's `kind` value that pydantic puts in the location (the union member it
        chose) is skipped."""
        path, node, key = "", self.root, self.root
        skipped_tag: Node | None = None
        for part in loc:
            if isinstance(node, MappingNode):
                entries = self.entries(node)
                kind = entries.get("kind", (None, None))[1]
                if skipped_tag is not node and isinstance(kind, ScalarNode) and kind.value == part:
                    skipped_tag = node
                    continue
                path = _join(path, part)
                if str(part) not in entries:
                    break
                key, node = entries[str(part)]
            elif (
                isinstance(node, SequenceNode) and isinstance(part, int) and part < len(node.value)
            ):
                path = _join(path, part)
                key = node = node.value[part]
            else:
                break
        return path, node, key


def validate(
    source: str,
    text: str,
    what: str,
    build: Callable[[Any], Any],
    kinds: Sequence[str] = (),
) -> Any:
    """Compose `text`, build the model with `build`, and raise every problem as one line each,
    in file order (at most MAX_LINES, then a count of the rest)."""
    root, data = compose(source, text, what)
    try:
        return build(data)
    except ValidationError as exc:
        locator = Locator(root)
        found = []
        for error in exc.errors():
            loc = error["loc"]
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc = (*loc, error["ctx"]["discriminator"].strip("'"))
            path, node, key = locator.walk(loc)
            place = key if error["type"] == "unknown_field" else node
            found.append((place.start_mark.index, place, path, message(error, kinds)))
        found.sort(key=lambda item: (item[0], item[2], item[3]))
        # Only the lines shown are formatted: a file of a thousand unknown keys answers at once.
        first = found[:MAX_LINES]
        lines = [_mark_line(source, place, path, text) for _, place, path, text in first]
        if len(found) > MAX_LINES:
            lines.append(f"{printable(source)}: and {len(found) - MAX_LINES:,} more problems")
        raise SourceError(lines) from None


def read_text(path: Path) -> str:
    """A text file's content, or one line saying why it cannot be read (refused over 10 MB)."""
    shown_path = printable(str(path))
    if path.is_symlink() and not path.exists():
        raise SourceError([f"{shown_path}: a symbolic link that leads nowhere (or to itself)"])
    try:
        if path.is_dir():
            raise SourceError([f"{shown_path}: a folder, not a file"])
        if path.exists() and not path.is_file():  # reading a pipe or /dev/zero never ends
            raise SourceError([f"{shown_path}: not a regular file (a pipe or a device)"])
        if path.stat().st_size > MAX_BYTES:
            raise SourceError([f"{shown_path}: over 10 MB: refused"])
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SourceError([f"{shown_path}: cannot read: {reason}"]) from None
    except UnicodeDecodeError:
        raise SourceError([f"{shown_path}: cannot read: not UTF-8 text"]) from None
