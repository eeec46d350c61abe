"""cnnkit.compat's grading section: its check passes on the installed versions and fails loudly, naming
what changed, when something it relies on is gone; the wrappers do what they stand for."""

import asyncio

import pytest
from jupyter_client.client import KernelClient
from jupyter_client.manager import AsyncKernelManager, KernelManager
from nbclient import NotebookClient, util
from nbgrader.converters.base import BaseConverter

from cnnkit import compat
from cnnkit.grading import execute

MISSING = [
    (KernelManager, "_async_wait", "AsyncKernelManager._async_wait"),
    (KernelClient, "_handle_kernel_info_reply", "KernelClient._handle_kernel_info_reply"),
    (NotebookClient, "_cleanup_kernel", "NotebookClient._cleanup_kernel"),
    (NotebookClient, "start_new_kernel_client", "NotebookClient.start_new_kernel_client"),
    (util, "run_hook", "nbclient.util.run_hook"),
    (BaseConverter, "exporter_class", "BaseConverter.exporter_class"),
]


def test_the_installed_versions_pass():
    compat.check_grading()
    compat.check()  # every section's check, this one included


@pytest.mark.parametrize(("owner", "attribute", "named"), MISSING, ids=[named for _, _, named in MISSING])
def test_a_missing_api_is_named(monkeypatch, owner, attribute, named):
    monkeypatch.delattr(owner, attribute)
    with pytest.raises(compat.GradingApiChanged, match=named.replace(".", r"\.")):
        compat.check_grading()


def test_a_changed_signature_is_named(monkeypatch):
    async def renamed(self, interval=0.1):
        pass

    monkeypatch.setattr(KernelManager, "_async_wait", renamed)
    with pytest.raises(compat.GradingApiChanged, match="_async_wait no longer takes pollinterval"):
        compat.check_grading()


def test_an_exporter_built_after_the_skipping_is_named(monkeypatch):
    def start(self):
        self.init_notebooks()
        self.convert_notebooks()
        self.exporter = self.exporter_class(parent=self, config=self.config)

    monkeypatch.setattr(BaseConverter, "start", start)
    with pytest.raises(compat.GradingApiChanged, match="exporter before converting"):
        compat.check_grading()


def test_contained_execute_refuses_to_run_on_a_changed_version(monkeypatch):
    monkeypatch.delattr(KernelClient, "_handle_kernel_info_reply")
    execute.installed_versions_checked.cache_clear()
    try:
        with pytest.raises(compat.GradingApiChanged, match="_handle_kernel_info_reply"):
            execute.ContainedExecute()
    finally:
        execute.installed_versions_checked.cache_clear()


def test_the_kit_s_manager_polls_every_10_ms(monkeypatch):
    manager_class = compat.kernel_manager_class()
    assert issubclass(manager_class, AsyncKernelManager) and manager_class is compat.kernel_manager_class()
    answers, slept = [True, True, False], []

    async def is_alive(self):
        return answers.pop(0)

    async def sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(manager_class, "_async_is_alive", is_alive)
    manager = manager_class()
    monkeypatch.setattr(asyncio, "sleep", sleep)
    asyncio.run(manager._async_wait())
    monkeypatch.undo()
    asyncio.run(manager.cleanup_resources())  # its socket folder (tests/sandbox/test_relay.py)
    assert slept == [0.01, 0.01]


def test_record_kernel_info_adopts_the_kernels_protocol_version():
    client = KernelClient()
    compat.record_kernel_info(client, {"content": {"protocol_version": "4.1"}})
    assert client.session.adapt_version == 4
