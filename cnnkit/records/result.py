"""The result record: what the student's kernel says a function returned, taken apart before anything trusts it.

The check cells publish one record per case: ``cnn_checks.grade`` displays ``{"function", "case",
"outcome"}`` under RESULT_MIME (the checker keeps its own copy of that name, as it cannot import the kit;
tests/records checks that the two are equal). ``VerifyResults`` judges each outcome with the checker's
``judge``. Every byte of a record comes from the student's kernel, and student code can write any record
it likes (replace ``cnn_checks.encode_outcome``, or display its own). ``collect_outcomes`` therefore
takes at most one record per case, and ``read_outcome`` rebuilds each outcome from scratch, in exactly
the shape the checker writes (fresh dicts of plain str, int, float and list; arrays whose dtype is a
number type and whose bytes match their shape), or returns an outcome that fails the case and says why.
The checker never sees anything else, so a hostile record costs its own case and nothing more.

Everything here is bounded: nesting, the number of values, the bytes of an array, the length of
every text. A shape is checked with Python integers before numpy sees it, so no product overflows.
"""

import base64
import math
import re
from typing import TypedDict

import numpy as np

RESULT_MIME = "application/vnd.cnnkit.result+json"
UNREADABLE = "unreadable_result"  # the verdict kind of a case whose record could not be read
MAX_DEPTH = 16  # nesting of a returned value (the checker's deepest: a tuple holding a cache tuple and a dict)
MAX_VALUES = 10_000  # values in one returned value, all levels together
MAX_ARRAY_BYTES = 64 * 2**20  # one array's data (a case's largest expected array is a few kilobytes)
MAX_DIMENSIONS = 32
MAX_TEXT = 300  # type names, reprs, messages: the checker writes at most 200 characters of each
MAX_CHANGED = 64  # paths of changed inputs (a function has at most 4 arguments, a cache at most 4 items)
NUMBER_DTYPE = re.compile(r"[<>|=][biuf][1-9][0-9]?\Z")  # what numpy's dtype.str is for bool, int, uint, float
CONTAINERS = ("tuple", "list")


class Raised(TypedDict, total=False):
    type: str  # the exception's class name
    message: str


class CaseOutcome(TypedDict, total=False):
    """One case's outcome: exactly one of raised, skipped or returned, and the time the kernel measured."""

    raised: Raised
    skipped: str  # why the case was not run (or, once read here, why its record could not be read)
    returned: dict  # the returned value, encoded as cnn_checks.encode writes it
    changed: list[list[int]]  # paths of the inputs the call changed
    seconds: float
    kind: str  # set by the kit on an outcome it makes (e.g. UNREADABLE), never taken from the record
    detail: str


class Unreadable(ValueError):
    """A record that is not one the checker writes; its message says what is wrong, for the student."""


def collect_outcomes(outputs, name, count) -> dict[int, CaseOutcome]:
    """Case index -> outcome from a cell's result records of function name, each read by read_outcome.

    Records of another function or of no case 0 .. count - 1 are left out; a case with more than one
    record is refused (none is trusted).
    """
    outcomes, duplicated = {}, set()
    for output in outputs:
        record = output.get("data", {}).get(RESULT_MIME) if output.get("output_type") == "display_data" else None
        if not isinstance(record, dict) or record.get("function") != name:
            continue
        index = record.get("case")
        if type(index) is not int or not 0 <= index < count:
            continue
        if index in outcomes:
            duplicated.add(index)
        outcome = read_outcome(record.get("outcome"))
        if "skipped" in outcome and "kind" not in outcome:  # the kernel skips a case only when out of time
            outcome["kind"] = "budget_spent"
        outcomes[index] = outcome
    for index in duplicated:
        outcomes[index] = {
            "skipped": "more than one result was recorded for this case, so none is trusted",
            "kind": "duplicate_results",
        }
    return outcomes


def read_outcome(outcome) -> CaseOutcome:
    """The outcome of one case as the checker writes it, rebuilt; or an unreadable outcome saying why.

    An outcome is {"raised": {"type", "message", optional "where"}} or {"skipped": text} or {"returned": encoded value},
    with "seconds" and (for "returned") "changed" besides.
    """
    try:
        return checked_outcome(outcome)
    except Unreadable as problem:
        return unreadable(f"the value returned could not be read: {problem}")


def unreadable(text):
    return {"skipped": text, "kind": UNREADABLE}


def checked_outcome(outcome):
    if not isinstance(outcome, dict):
        raise Unreadable(f"the record holds {type_name(outcome)} where the checker writes a dict")
    seconds = {"seconds": checked_seconds(outcome.get("seconds", 0.0))}
    if "raised" in outcome:
        raised = checked_dict(outcome["raised"], "the exception raised")
        error = {"type": checked_text(raised.get("type"), "the exception's type"), "message": ""}
        error["message"] = checked_text(raised.get("message", ""), "the exception's message")
        if "where" in raised:  # the student's function it was raised in, when not the checked one (the checker's words)
            error["where"] = checked_text(raised["where"], "the function the exception was raised in")
        return {"raised": error, **seconds}
    if "skipped" in outcome:
        return {"skipped": checked_text(outcome["skipped"], "the reason the case was skipped"), **seconds}
    if "returned" not in outcome:
        raise Unreadable("the record says neither what was returned nor what was raised")
    checked = {"returned": EncodedValue().read(outcome["returned"]), **seconds}
    changed = checked_changed(outcome.get("changed", []))
    return {**checked, "changed": changed} if changed else checked


def type_name(value):
    return {dict: "an object", list: "a list", str: "a text", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def checked_dict(value, what):
    if not isinstance(value, dict):
        raise Unreadable(f"{what} is {type_name(value)}, not an object")
    return value


def checked_text(value, what):
    if not isinstance(value, str):
        raise Unreadable(f"{what} is {type_name(value)}, not a text")
    return value[:MAX_TEXT]


def checked_int(value, what, low=0, high=None):
    if type(value) is not int or value < low or (high is not None and value > high):
        allowed = f"from {low}" + (f" to {high}" if high is not None else "")
        raise Unreadable(f"{what} is {str(value)[:40]!r}, not a whole number {allowed}")
    return value


def checked_seconds(value):
    """The time the kernel measured: a finite number, else 0 (it only feeds the benchmarks)."""
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return 0.0


def checked_changed(changed):
    """The paths of the inputs the call changed: short lists of small non-negative integers."""
    if not isinstance(changed, list) or len(changed) > MAX_CHANGED:
        raise Unreadable("the list of changed inputs is not a short list")
    paths = []
    for path in changed:
        if not isinstance(path, list) or len(path) > 8:
            raise Unreadable("a changed input's path is not a short list")
        paths.append([checked_int(step, "a changed input's index", high=1000) for step in path])
    return paths


class EncodedValue:
    """Reads one encoded returned value (cnn_checks.encode's format), counting what it has read."""

    def __init__(self):
        self.values = 0

    def read(self, encoded, depth=0):
        """A fresh copy of encoded with only the keys the checker writes, each of its type; else Unreadable."""
        self.values += 1
        if depth > MAX_DEPTH or self.values > MAX_VALUES:
            raise Unreadable(f"it nests deeper than {MAX_DEPTH} levels or holds more than {MAX_VALUES} values")
        encoded = checked_dict(encoded, "the encoded value")
        kind = encoded.get("kind")
        if kind == "array":
            return read_array(encoded)
        if kind == "scalar":
            return {
                "kind": kind,
                "type": checked_text(encoded.get("type"), "the number's type"),
                "value": number(encoded),
            }
        if kind in CONTAINERS and "array" in encoded:
            length = checked_int(encoded.get("length"), f"the {kind}'s length")
            array = checked_dict(encoded["array"], f"the {kind}'s numbers")
            if array.get("kind") != "array":
                raise Unreadable(f"the {kind}'s numbers are not an encoded array")
            return {"kind": kind, "length": length, "array": read_array(array)}
        if kind in CONTAINERS:
            items = encoded.get("items")
            if not isinstance(items, list):
                raise Unreadable(f"the {kind}'s items are {type_name(items)}, not a list")
            return {"kind": kind, "items": [self.read(item, depth + 1) for item in items]}
        if kind == "dict":
            items = checked_dict(encoded.get("items"), "the dict's items")
            return {
                "kind": kind,
                "items": {str(key)[:MAX_TEXT]: self.read(item, depth + 1) for key, item in items.items()},
            }
        if kind == "other":
            return {
                "kind": kind,
                "type": checked_text(encoded.get("type"), "the value's type"),
                "repr": checked_text(encoded.get("repr", ""), "the value's text"),
            }
        raise Unreadable(f"its kind {str(kind)[:40]!r} is not one the checker writes")


def number(encoded):
    value = encoded.get("value")
    if type(value) not in (int, float):
        raise Unreadable(f"the number is {type_name(value)}")
    try:
        return float(value)
    except OverflowError:
        raise Unreadable("the number is too large for a float") from None


def read_array(encoded):
    """An encoded array whose dtype, shape and bytes agree, as a fresh dict; else Unreadable.

    The dtype must be numbers (what the checker encodes: bool, int, uint, float of numpy's own
    spelling); the shape, whole numbers; the data, base64 of exactly shape's product times the
    item size bytes. numpy then rebuilds it without surprises (cnn_checks.decode_array).
    """
    dtype = read_dtype(encoded.get("dtype"))
    shape = encoded.get("shape")
    if not isinstance(shape, list) or len(shape) > MAX_DIMENSIONS:
        raise Unreadable(f"the array's shape is not a list of at most {MAX_DIMENSIONS} sizes")
    shape = [checked_int(size, "a size in the array's shape") for size in shape]
    data = encoded.get("data")
    if not isinstance(data, str) or len(data) > (MAX_ARRAY_BYTES // 3 + 1) * 4:
        raise Unreadable(f"the array's data is not a text of at most {MAX_ARRAY_BYTES} bytes in base64")
    count = math.prod(shape)
    try:
        size = len(base64.b64decode(data, validate=True))
    except ValueError:  # binascii.Error, or a character beyond ASCII
        raise Unreadable("the array's data is not base64") from None
    if math.prod(size for size in shape if size) * dtype.itemsize > MAX_ARRAY_BYTES or count * dtype.itemsize != size:
        raise Unreadable(
            f"the array claims shape {tuple(shape)[:8]} of {dtype} ({count} values) but holds {size} bytes"
        )
    return {"kind": "array", "dtype": dtype.str, "shape": shape, "data": data}


def read_dtype(text):
    if not isinstance(text, str) or not NUMBER_DTYPE.match(text):
        shown = text[:40] if isinstance(text, str) else type_name(text)
        raise Unreadable(f"the array's dtype {shown!r} is not a number type (bool, int, uint or float)")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise Unreadable(f"the array's dtype {text!r} is not one numpy knows") from None
    if dtype.kind not in "biuf":
        raise Unreadable(f"the array's dtype {text!r} is not a number type (bool, int, uint or float)")
    return dtype
