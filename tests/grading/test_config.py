"""nbgrader_config.py, loaded in-process as nbgrader loads it: its time limits are the time policy's,
and loading it changes nothing on disk (the batch's first step runs when autograde starts)."""

import os

import pytest
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item

from cnnkit import course
from cnnkit.grading import time_policy
from cnnkit.ingest.collect import LinkSafeCollect
from cnnkit.ingest.safe_release_feedback import SafeReleaseFeedback
from cnnkit.ingest.zip_collect import SafeExtractor
from cnnkit.ingest.zip_owners import SafeCollector
from cnnkit.policy.late import PolicyLatePenalty
from cnnkit.records import integrity, marker
from cnnkit.results.export import PartsCsvExport
from cnnkit.sandbox import bwrap
from cnnkit.scale import course_start as batch


def course_state():
    """The course folder's entries and its backups."""
    backups = course.ROOT / "backups"
    return sorted(course.ROOT.iterdir()), sorted(backups.iterdir()) if backups.is_dir() else []


@pytest.fixture
def config(monkeypatch):
    monkeypatch.setattr(os, "environ", dict(os.environ))  # sandbox.configure() writes the environment
    before = course_state()
    loaded = PyFileConfigLoader("nbgrader_config.py", path=str(course.ROOT)).load_config()
    assert course_state() == before
    return loaded


def test_time_limits_come_from_the_time_policy(config):
    assert config.Execute.timeout == time_policy.CELL_TIMEOUT
    assert config.ContainedExecute.notebook_budget == time_policy.NOTEBOOK_BUDGET
    assert bwrap.Limits.from_env(os.environ).cpu_seconds == time_policy.SANDBOX_CPU_SECONDS
    assert os.environ[bwrap.Limits.env_name("cpu_seconds")] == str(time_policy.SANDBOX_CPU_SECONDS)


def test_autograde_starts_with_the_batch_step_and_marks_what_it_finished(config):
    assert config.Autograde.exporter_class is batch.AutogradeStart
    assert config.Autograde.post_convert_hook is batch.mark_graded
    assert marker.FILE in config.CourseDirectory.ignore and integrity.FILE in config.CourseDirectory.ignore


def test_every_class_the_config_names_by_its_dotted_path_can_be_imported(config):
    """nbgrader imports these only when the command needs them: a module moved in the kit would break that
    command alone, late (the late penalty in the middle of an autograde)."""
    named = {
        config.AssignLatePenalties.plugin_class: PolicyLatePenalty,
        config.ExchangeFactory.collect: LinkSafeCollect,
        config.ExchangeFactory.release_feedback: SafeReleaseFeedback,
        config.ZipCollectApp.extractor_plugin: SafeExtractor,
        config.ZipCollectApp.collector_plugin: SafeCollector,
        config.ExportApp.plugin_class: PartsCsvExport,
    }
    for dotted, expected in named.items():
        assert import_item(dotted) is expected, dotted
