"""Each record's name is spelled in one module: the one that writes and reads it (cnnkit.records).

A second spelling is how a reader drifts from its writer (the report read a verdict MIME type of its own,
the outcomes file had two paths and two lists of statuses). Every other module takes the name from the
record's module; the student's checker, which cannot import the kit, keeps a copy that must be equal.
"""

import re

import pytest

from cnnkit import course
from cnnkit.policy import ledger
from cnnkit.records import admission, integrity, marker, outcomes, probe, result, verdict
from tests.test_layers import ROOT

OWNERS = {
    result.RESULT_MIME: "cnnkit/records/result.py",
    verdict.VERDICT_MIME: "cnnkit/records/verdict.py",
    probe.PROBE_MIME: "cnnkit/records/probe.py",
    integrity.FILE: "cnnkit/records/integrity.py",
    marker.FILE: "cnnkit/records/marker.py",
    outcomes.OUTCOMES_FILE.name: "cnnkit/records/outcomes.py",
    outcomes.LOG_FILE.name: "cnnkit/records/outcomes.py",
    admission.FILE: "cnnkit/records/admission.py",
    ledger.PATH.name: "cnnkit/policy/ledger.py",
}
# The kit's own code: its package, the course's nbgrader_config.py and the benchmarks (tests excepted).
CODE = sorted([*ROOT.glob("cnnkit/**/*.py"), ROOT / "nbgrader_config.py", *ROOT.glob("benchmarks/*.py")])


def spelled_in(name):
    """The files of CODE that spell name (not as a part of a longer name: submit-service-autograde.log)."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])")
    return sorted(str(path.relative_to(ROOT)) for path in CODE if pattern.search(path.read_text()))


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_each_record_name_is_spelled_in_its_own_module_only(name):
    assert spelled_in(name) == [OWNERS[name]]


def test_the_search_finds_a_second_spelling():
    assert spelled_in("VerifyResults") != ["cnnkit/grading/verify.py"]  # named in the config too
    assert spelled_in("submit-service-autograde.log") == ["cnnkit/hub/grader.py"]


@pytest.mark.parametrize("folder", [course.SOURCE, course.RELEASE], ids=["source", "release"])
def test_the_checker_names_its_result_records_as_the_kit_reads_them(folder):
    """cnn_checks.py cannot import the kit (it is the student's): its copy of the name must be the kit's."""
    checker = (folder / course.CHECKS_FILE.name).read_text()
    assert re.search(r'^RESULT_MIME = "([^"]+)"$', checker, re.M)[1] == result.RESULT_MIME
