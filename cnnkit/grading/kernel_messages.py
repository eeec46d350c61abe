"""What the grading process takes from a student's kernel: every message read within bounds, or set aside.

Student code runs in the kernel and holds the kernel's own session key (``get_ipython().kernel.session``),
so it can send anything on the kernel's sockets, correctly signed: content of any JSON type or nesting,
text that is not JSON, raw frames, one message twice. jupyter_client reads every message with
``json.loads`` and nbclient takes what it reads on trust; a single such message (nested 10,000 deep,
an output of the wrong types, a list where a dict belongs) raised inside nbclient and failed the whole
notebook, so the student was not graded at all. Here:

- ``guard(session, max_depth)`` makes the grading side's session total: a message it cannot read (not
  JSON, nested deeper than max_depth, not signed, signed twice, missing its parts) becomes one that
  nbclient ignores, and its reason is kept until ``MessageGuard.take_dropped()``, so that the cell it
  arrived during gets a note. JSON is read with the standard decoder, whose recursion limit stops it at
  any depth; what it returns is measured without recursion.
- an execute_reply (the kernel's answer that a cell is done, which nbgrader and nbclient read on
  trust) must have a status, and for an error its name, value and a bounded traceback;
- ``message_problem(msg)`` says why a message that was read cannot be processed (an execution count or
  display id of the wrong type); ``INVALID_OUTPUT`` are the errors nbformat and nbclient raise when its
  content is not a valid output. ContainedExecute puts a note where such an output would have been.
"""

import json

from nbformat import ValidationError

# What nbformat (schema) and nbclient (missing keys, wrong types) raise on content that is not an output.
INVALID_OUTPUT = (ValidationError, KeyError, TypeError, AttributeError)
DROPPED_TYPE = "cnnkit_dropped"
MAX_REPLY_ERROR_CHARS = 1_000_000  # an execute_reply's error (a real one is a traceback of a few kilobytes)  # the type of the stand-in for a message that could not be read


class Unreadable(ValueError):
    """A part of a message that is not JSON within the limits."""


def nesting_depth_over(value, limit):
    """True if value (JSON-like) nests deeper than limit; iterative, so any depth is safe to ask about."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def guard(session, max_depth):
    """The session's MessageGuard, installed on first use (every client of the kernel shares its session)."""
    existing = session.__dict__.get("cnnkit_guard")
    if existing is None:
        existing = MessageGuard(session, max_depth)
    existing.max_depth = max_depth
    return existing


class MessageGuard:
    """Reads a session's incoming messages within bounds; sets aside, with a reason, what it cannot read."""

    def __init__(self, session, max_depth):
        self.max_depth = max_depth
        self.dropped = []
        self._feed_identities, self._deserialize = session.feed_identities, session.deserialize
        session.unpack = self.unpack
        session.feed_identities = self.feed_identities
        session.deserialize = self.deserialize
        session.__dict__["cnnkit_guard"] = self

    def unpack(self, data):
        """One JSON part of a message, nested at most max_depth deep; Unreadable otherwise."""
        if isinstance(data, bytes):
            data = data.decode("utf8", "replace")  # as jupyter_client's own unpacker
        try:
            value = json.loads(data)
        except RecursionError:
            raise Unreadable(f"a message nested more than {self.max_depth} levels deep") from None
        except ValueError:
            raise Unreadable("a message that is not JSON") from None
        if nesting_depth_over(value, self.max_depth):
            raise Unreadable(f"a message nested more than {self.max_depth} levels deep")
        return value

    def feed_identities(self, msg_list, copy=True):
        try:
            return self._feed_identities(msg_list, copy)
        except ValueError:  # no delimiter: raw frames, not a message; deserialize sets them aside
            return [], []

    def deserialize(self, msg_list, content=True, copy=True):
        """The message, or a stand-in nbclient ignores (for no cell: it has no parent) when it cannot be read."""
        try:
            message = self._deserialize(msg_list, content=content, copy=copy)
        except Unreadable as error:
            return self.set_aside(str(error))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:  # signature, parts, header
            what = str(error).split(":")[0][:80]  # without the signature or the data that follows
            return self.set_aside(f"a message jupyter_client cannot read ({type(error).__name__}: {what})")
        problem = envelope_problem(message, content)
        return self.set_aside(problem) if problem else message

    def set_aside(self, reason):
        self.dropped.append(reason)
        return {
            "header": {"msg_id": "", "msg_type": DROPPED_TYPE},
            "msg_id": "",
            "msg_type": DROPPED_TYPE,
            "parent_header": {},
            "metadata": {},
            "content": {},
            "buffers": [],
        }

    def take_dropped(self):
        """The reasons of the messages set aside since the last call."""
        dropped, self.dropped = self.dropped, []
        return dropped


def envelope_problem(message, content=True):
    """Why a read message is not one nbclient can handle (None when it is): the parts it looks into."""
    header, parent = message.get("header"), message.get("parent_header")
    if not isinstance(header, dict) or not all(isinstance(header.get(key), str) for key in ("msg_id", "msg_type")):
        return "a message whose header is not a Jupyter header"
    if not isinstance(parent, dict) or not isinstance(parent.get("msg_id", ""), str):
        return "a message whose parent header is not a Jupyter header"
    if content and not isinstance(message.get("content"), dict):
        return "a message whose content is not an object"
    if content and header["msg_type"] == "execute_reply" and not is_execute_reply(message["content"]):
        return "an execute_reply whose status or error is not one a kernel writes"
    return None


def is_execute_reply(content):
    """A reply nbclient and nbgrader can read: a status, and for an error its name, value and traceback.

    (nbgrader copies the error of a reply into the cell, outside the cell's output budget: hence the bound.)
    """
    if not isinstance(content.get("status"), str):
        return False
    if content["status"] != "error":
        return True
    traceback = content.get("traceback")
    return (
        isinstance(content.get("ename"), str)
        and isinstance(content.get("evalue"), str)
        and isinstance(traceback, list)
        and all(isinstance(line, str) for line in traceback)
        and sum(map(len, traceback)) + len(content["evalue"]) <= MAX_REPLY_ERROR_CHARS
    )


def message_problem(msg):
    """Why nbclient must not process msg, a message read by a MessageGuard (None when it may)."""
    content = msg.get("content")
    if not isinstance(msg.get("msg_type"), str) or not isinstance(content, dict):
        return "a message that is not a Jupyter message"
    count = content.get("execution_count")
    if count is not None and type(count) is not int:
        return "an execution count that is not a whole number"
    transient = content.get("transient")
    if transient is not None and not isinstance(transient, dict):
        return "a display id that is not an object"
    return None


def without_display_id(msg):
    """msg with no display id: a display stays as it was first shown.

    Updating a display rewrites every output that shares its id, in any cell, outside the output
    budget of the cell that sends the update; grading does not need the updates.
    """
    content = msg["content"]
    if "transient" not in content:
        return msg
    return {**msg, "content": {key: value for key, value in content.items() if key != "transient"}}
