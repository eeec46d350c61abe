"""Messages from a student's kernel, read by the grading side's session: bounded, total, and said when set aside.

A real jupyter_client Session with a key plays the kernel (student code holds the kernel's key, so it
signs whatever it sends); the grading side's Session, with the same key, is guarded as ContainedExecute
guards it. Every hostile message ends as a message or as a stand-in that names why it was set aside.
"""

import json

import pytest
from jupyter_client.session import Session

from cnnkit.grading.kernel_messages import (
    DROPPED_TYPE,
    INVALID_OUTPUT,
    guard,
    message_problem,
    without_display_id,
)

KEY = b"a-kernel-key"


def sessions():
    return Session(key=KEY), Session(key=KEY)


def frames(kernel, msg_type, content, parent=None):
    """What the kernel's socket sends: identities, the delimiter, the signature and the parts."""
    header = kernel.msg_header(msg_type)
    parts = [kernel.pack(header), kernel.pack({"msg_id": "cell-1"} if parent is None else parent), b"{}", content]
    return [b"topic", b"<IDS|MSG>", kernel.sign(parts), *parts]


def receive(client, message_frames):
    """What the client's channel does with frames (jupyter_client.channels: feed_identities, deserialize)."""
    _, parts = client.feed_identities(message_frames)
    return client.deserialize(parts)


def deep(depth):
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
@pytest.mark.parametrize("where", ["data", "metadata", "traceback"])
def test_content_nested_at_any_depth_is_set_aside_with_its_reason(depth, where):
    kernel, client = sessions()
    checker = guard(client, 64)
    content = {
        "data": b'{"data": {"text/plain": ' + deep(depth) + b'}, "metadata": {}}',
        "metadata": b'{"data": {"text/plain": "x"}, "metadata": {"a": ' + deep(depth) + b"}}",
        "traceback": b'{"ename": "E", "evalue": "v", "traceback": ' + deep(depth) + b"}",
    }[where]
    message = receive(client, frames(kernel, "display_data", content))
    assert message["msg_type"] == DROPPED_TYPE and message["parent_header"] == {}
    assert checker.take_dropped() == ["a message nested more than 64 levels deep"]
    assert checker.take_dropped() == []


def test_nesting_within_the_limit_is_read_and_beyond_it_is_not():
    kernel, client = sessions()
    checker = guard(client, 64)
    content = b'{"data": {"application/json": ' + deep(63) + b'}, "metadata": {}}'  # the last list at level 64
    assert receive(client, frames(kernel, "display_data", content))["content"]["data"]
    content = b'{"data": {"application/json": ' + deep(64) + b'}, "metadata": {}}'
    assert receive(client, frames(kernel, "display_data", content))["msg_type"] == DROPPED_TYPE
    assert checker.take_dropped() == ["a message nested more than 64 levels deep"]


@pytest.mark.parametrize(
    "hostile, reason",
    [
        (lambda kernel: frames(kernel, "display_data", b'{"data": '), "not JSON"),
        (lambda kernel: frames(kernel, "display_data", b"\xff\xfe"), "not JSON"),
        (lambda kernel: frames(kernel, "display_data", b"[1, 2]"), "content is not an object"),
        (lambda kernel: frames(kernel, "display_data", b"{}", parent=[1, 2]), "parent header"),
        (lambda kernel: [b"no", b"delimiter"], "cannot read"),
        (lambda kernel: [b"<IDS|MSG>", b"bad-signature", b"{}", b"{}", b"{}", b"{}"], "Invalid Signature"),
        (lambda kernel: [b"<IDS|MSG>", b"x"], "cannot read"),
    ],
    ids=["not-json", "not-utf8", "list-content", "list-parent", "raw-frames", "unsigned", "too-short"],
)
def test_a_message_that_cannot_be_read_becomes_a_stand_in_with_its_reason(hostile, reason):
    kernel, client = sessions()
    checker = guard(client, 64)
    message = receive(client, hostile(kernel))
    assert message["msg_type"] == DROPPED_TYPE
    assert message["parent_header"].get("msg_id") is None  # nbclient matches no cell with it
    (dropped,) = checker.take_dropped()
    assert reason in dropped


def test_a_replayed_message_is_read_once():
    kernel, client = sessions()
    checker = guard(client, 64)
    sent = frames(kernel, "stream", json.dumps({"name": "stdout", "text": "hi"}).encode())
    assert receive(client, sent)["content"]["text"] == "hi"
    assert receive(client, sent)["msg_type"] == DROPPED_TYPE
    assert "Duplicate Signature" in checker.take_dropped()[0]


def test_the_guard_is_installed_once_per_session():
    _, client = sessions()
    assert guard(client, 64) is guard(client, 32)
    assert guard(client, 32).max_depth == 32


@pytest.mark.parametrize(
    "content, problem",
    [
        ({"execution_count": {"a": [1]}, "data": {}, "metadata": {}}, "execution count"),
        ({"execution_count": "3", "data": {}, "metadata": {}}, "execution count"),
        ({"data": {}, "metadata": {}, "transient": [1]}, "display id"),
        ({"data": {}, "metadata": {}, "execution_count": 3, "transient": {"display_id": "d"}}, None),
    ],
)
def test_fields_nbclient_uses_before_the_output_are_checked(content, problem):
    found = message_problem({"msg_type": "execute_result", "content": content})
    assert found is None if problem is None else problem in found


def test_display_ids_are_dropped_so_no_update_rewrites_other_outputs():
    message = {"msg_type": "display_data", "content": {"data": {}, "metadata": {}, "transient": {"display_id": "d"}}}
    assert "transient" not in without_display_id(message)["content"]
    assert "transient" in message["content"]


@pytest.mark.parametrize(
    "msg_type, content",
    [
        ("display_data", {"data": {"text/plain": {"a": [1]}}, "metadata": {}}),
        ("display_data", {"data": {"text/plain": "x"}, "metadata": 5}),
        ("display_data", {"data": {"text/plain": "x"}}),
        ("error", {"ename": 5, "evalue": {"a": 1}, "traceback": "x"}),
        ("stream", {"name": "stdout"}),
    ],
)
def test_invalid_outputs_raise_what_contained_execute_replaces_by_a_note(msg_type, content):
    from nbformat.v4 import output_from_msg

    with pytest.raises(INVALID_OUTPUT):
        output_from_msg({"msg_type": msg_type, "header": {"msg_type": msg_type}, "content": content})


@pytest.mark.parametrize(
    "content, read",
    [
        ({"status": "ok", "execution_count": 3}, True),
        ({"status": "error", "ename": "ValueError", "evalue": "x", "traceback": ["ValueError: x"]}, True),
        ({}, False),  # nbgrader's on_cell_executed: KeyError 'status'
        ({"status": ["ok"]}, False),
        ({"status": "error"}, False),  # KeyError 'ename'
        ({"status": "error", "ename": "E", "evalue": {"a": 1}, "traceback": "x"}, False),
        ({"status": "error", "ename": "E", "evalue": "v", "traceback": ["x" * 600_000] * 2}, False),
    ],
    ids=["ok", "error", "empty", "list-status", "error-bare", "error-types", "error-huge"],
)
def test_a_forged_execute_reply_is_set_aside_and_the_real_one_awaited(content, read):
    kernel, client = sessions()
    checker = guard(client, 64)
    message = receive(client, frames(kernel, "execute_reply", json.dumps(content).encode()))
    assert (message["msg_type"] == "execute_reply") is read
    assert checker.take_dropped() == (
        [] if read else ["an execute_reply whose status or error is not one a kernel writes"]
    )
