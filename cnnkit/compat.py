"""Every call into a private API of nbgrader, nbclient, jupyter_client or the interpreter, in one place.

The rest of the kit reaches nbgrader through its public extension points (preprocessors, hooks,
plugins, exporters, config). What has no public way in is wrapped here, one small function each,
and ``check()`` fails loudly, naming what changed, when an upgrade removed or renamed something
this module relies on (tests/grading/test_compat.py and tests/scale/test_compat_scale.py run it;
so does every grading process at start).
"""

import asyncio
import contextlib
import functools
import importlib
import importlib.util
import inspect
import io
import logging
import os
import shutil
import sys

# --- jupyter_client / nbclient (used by cnnkit.grading) -----------------------------------------


class GradingApiChanged(RuntimeError):
    """A jupyter_client, nbclient or nbgrader behaviour that cnnkit.grading relies on is gone (check_grading)."""


# The private socket folders of the kit's kernel manager: /tmp/cnnkit-ipc-<pid>-<random>/ (cnnkit/sandbox/socketdir.py).
IPC_PREFIX = "cnnkit-ipc-"


@functools.cache
def kernel_manager_class():
    """The kit's kernel manager: jupyter_client's AsyncKernelManager, reachable by its own process only.

    - Its kernel listens on Unix sockets (transport "ipc", whatever the configuration says) in a
      private folder, made 0700 for each manager in /tmp (cnnkit/sandbox/socketdir.py) and removed
      with the kernel. jupyter_client's default is five TCP ports on 127.0.0.1, which every account
      on the machine can connect to, and IOPub needs no key: any local user could read every cell
      run (docs/security.md). (With ipc and no folder given, jupyter_client's default address is the
      relative path "kernel-ipc", which each process would resolve against its own working folder.)
      The sandbox's launcher refuses TCP, and serves these sockets to the process that started it only.
    - Its connection file is a fresh one (jupyter_client's mkstemp, 0600, in TMPDIR), also when the
      configuration names one (a student's on the hub does: cnnkit.hub.deploy), so that a spare
      kernel and the notebook's never share one.
    - It notices within 10 ms (not 100 ms) that a kernel has exited: after a shutdown request
      jupyter_client polls every ``pollinterval`` seconds of its private ``_async_wait``; there is no
      setting for it. A sandboxed kernel is gone some 20 to 120 ms later, so the 100 ms poll added
      up to 0.1 s per notebook. Only speed depends on it.
    - Stopping a kernel at once (``shutdown_kernel(now=True)``, as ContainedExecute and the spare kernels
      do once nothing more is needed from a kernel) sends SIGTERM to its process group, not jupyter_client's
      SIGKILL: the sandbox's launcher then ends the sandbox and cleans up after it (its socket folder, the
      whole-sandbox cgroup's report and removal: cnnkit/sandbox/launch.py), which a SIGKILL would skip.
      SIGKILL follows only if the kernel is still there after ``shutdown_wait_time`` seconds. (A graceful
      shutdown asks ipykernel to stop and waits for it: some 0.2 s of wall and 0.15 s of the kernel's CPU
      per notebook, against some 0.03 s this way.)

    The launcher's report on the limits the sandbox hit goes beside the connection file (cnnkit/sandbox/
    cgroup.py), which is why that stays out of the socket folder: ContainedExecute reads the report after
    the kernel is gone. One class per process: ContainedExecute's default, and every Execute's in
    nbgrader_config.py.
    """
    from jupyter_client.manager import AsyncKernelManager

    from cnnkit.sandbox import socketdir

    class PrivateKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.socket_folder = socketdir.make(IPC_PREFIX)
            self.transport = "ipc"
            self.ip = str(self.socket_folder / "k")  # the sockets: k-1 ... k-5
            self.connection_file = ""  # jupyter_client makes a fresh one when it starts the kernel

        async def _async_wait(self, pollinterval=0.1):
            await super()._async_wait(pollinterval=min(pollinterval, 0.01))

        async def _async_kill_kernel(self, restart=False):
            if not self.has_kernel:
                return
            await self.provisioner.terminate(restart=restart)
            try:
                await asyncio.wait_for(self._async_wait(), timeout=self.shutdown_wait_time)
            except TimeoutError:
                await super()._async_kill_kernel(restart=restart)
                return
            if self.has_kernel:
                await self.provisioner.wait()  # reaps it, as jupyter_client's kill does

        async def _async_cleanup_resources(self, restart=False):
            await super()._async_cleanup_resources(restart=restart)
            if not restart:
                shutil.rmtree(self.socket_folder, ignore_errors=True)

        # AsyncKernelManager binds the public name to the base class's function: bind it to ours.
        cleanup_resources = _async_cleanup_resources

    PrivateKernelManager.__qualname__ = PrivateKernelManager.__name__
    PrivateKernelManager.__module__ = __name__
    return PrivateKernelManager


def record_kernel_info(client, reply):
    """Do with a kernel_info reply what jupyter_client's wait_for_ready does: adopt its protocol version.

    A spare kernel's readiness is checked with the kit's own kernel_info request (cnnkit.grading.spare),
    so the client must still learn the protocol version it speaks.
    """
    client._handle_kernel_info_reply(reply)


def cleanup_kernel(executor):
    """nbclient's own clean-up of a NotebookClient's kernel: shut it down, drop its manager and client.

    Used before a dead kernel is replaced mid-notebook (cnnkit.grading.execute); nbclient has no
    public call for it (it runs it itself only when the notebook ends).
    """
    executor._cleanup_kernel()


def grading_apis():
    """{name nbgrader, nbclient or jupyter_client may rename: what is installed under it, or None}."""
    from jupyter_client.client import KernelClient
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient, util
    from nbgrader.converters.base import BaseConverter

    found = {
        "AsyncKernelManager._async_wait": getattr(AsyncKernelManager, "_async_wait", None),
        "AsyncKernelManager._async_cleanup_resources": getattr(AsyncKernelManager, "_async_cleanup_resources", None),
        "AsyncKernelManager._async_kill_kernel": getattr(AsyncKernelManager, "_async_kill_kernel", None),
        "KernelClient._handle_kernel_info_reply": getattr(KernelClient, "_handle_kernel_info_reply", None),
        "NotebookClient._cleanup_kernel": getattr(NotebookClient, "_cleanup_kernel", None),
        "nbclient.util.run_hook": getattr(util, "run_hook", None),
        "BaseConverter.exporter_class": getattr(BaseConverter, "exporter_class", None),  # a config trait
    }
    for method in ("create_kernel_manager", "start_new_kernel", "start_new_kernel_client", "execute_cell", "output"):
        found[f"NotebookClient.{method}"] = getattr(NotebookClient, method, None)
    return found


def check_grading():
    """Fail loudly, naming it, if something cnnkit.grading relies on above is gone from the installed versions."""
    from jupyter_client.manager import AsyncKernelManager
    from nbgrader.converters.base import BaseConverter

    missing = [name for name, found in grading_apis().items() if found is None]
    if missing:
        raise GradingApiChanged(f"cnnkit.grading needs {', '.join(missing)}, which the installed version lacks")
    if "pollinterval" not in inspect.signature(AsyncKernelManager._async_wait).parameters:
        raise GradingApiChanged("AsyncKernelManager._async_wait no longer takes pollinterval")
    shutdown = inspect.getsource(AsyncKernelManager._async_shutdown_kernel)
    # kernel_manager_class removes its socket folder in the one, and stops a kernel with SIGTERM in the other
    for step in ("_async_cleanup_resources", "_async_kill_kernel"):
        if f"self.{step}(" not in shutdown:
            raise GradingApiChanged(f"AsyncKernelManager._async_shutdown_kernel no longer calls {step}")
    # cnnkit.scale.course_start.AutogradeStart runs when the converter builds its exporter: that must come
    # before nbgrader decides which submissions to skip (convert_notebooks -> init_destination).
    start = inspect.getsource(BaseConverter.start)
    built, converted = start.find("self.exporter_class("), start.find("self.convert_notebooks()")
    if not 0 <= built < converted:
        raise GradingApiChanged("BaseConverter.start no longer builds its exporter before converting the notebooks")


# --- nbgrader applications and the interpreter (used by cnnkit.scale) ---------------------------


class ScaleApiChanged(RuntimeError):
    """An nbgrader or interpreter behaviour that cnnkit.scale relies on is gone (raised by check_scale)."""


RFC3987_SYNTAX = "rfc3987_syntax"  # the optional package jsonschema imports for its "iri" format checks
RFC3987_GRAMMAR = "syntax_rfc3987.lark"  # its grammar file, beside its __init__.py
RFC3987_STARTS = ("iri", "iri_reference", "absolute_iri")  # the start rules of its one parser jsonschema calls


def skip_unused_slow_imports():
    """Keep jsonschema from compiling RFC 3987 grammars on import (0.8 s of CPU per process), validation kept.

    When the optional rfc3987-syntax package is installed, importing jsonschema (which nbformat, hence
    nbgrader, does) imports it, and the package builds some 36 Earley parsers at import, although
    jsonschema calls only its ``is_valid_syntax`` (one parser, for the "iri" and "iri-reference"
    formats), which nothing in nbformat, nbgrader or the kit checks (upstream:
    python-jsonschema/jsonschema#1428). A stand-in module takes its place (``lazy_rfc3987_syntax``):
    its ``is_valid_syntax`` builds that one parser from the package's own grammar file on its first call
    (0.03 s), so a format checker validates exactly as before; any other name loads the real package.
    Nothing happens when the package is absent or already imported. Call it before anything imports jsonschema.
    """
    if RFC3987_SYNTAX in sys.modules:
        return
    spec = importlib.util.find_spec(RFC3987_SYNTAX)
    grammar = spec and spec.origin and os.path.join(os.path.dirname(spec.origin), RFC3987_GRAMMAR)
    if grammar and os.path.isfile(grammar):
        sys.modules[RFC3987_SYNTAX] = lazy_rfc3987_syntax(spec, grammar)


def lazy_rfc3987_syntax(spec, grammar):
    """A module standing in for the rfc3987_syntax package (found at spec, not imported).

    ``is_valid_syntax(term, value)`` is the package's: the same grammar file, the same Earley parser with
    the same start rules, the same answer; the parser is built on its first call. Any other name imports
    the real package (which then takes the stand-in's place in sys.modules); its submodules import as usual.
    """
    import types

    module = types.ModuleType(spec.name, "rfc3987_syntax's is_valid_syntax, its parser built on first use")
    module.__file__, module.__path__ = spec.origin, list(spec.submodule_search_locations or [])
    module.__spec__ = spec  # importlib.util.find_spec answers with it (check_scale looks the package up)

    @functools.cache
    def parser():
        from lark import Lark

        with open(grammar, encoding="utf-8") as source:
            return Lark(source.read(), start=list(RFC3987_STARTS), parser="earley")

    def is_valid_syntax(term, value):
        from lark import exceptions

        try:
            parser().parse(value, start=term)
        except exceptions.LarkError:
            return False
        return True

    @functools.cache
    def real():
        package = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = package  # its own imports of itself find it there
        spec.loader.exec_module(package)
        return package

    def other_name(name):
        if name.startswith("__"):  # the interpreter's own questions (a module's __getattr__ hears them too)
            raise AttributeError(name)
        return getattr(real(), name)

    module.is_valid_syntax = is_valid_syntax
    module.__getattr__ = other_name
    return module


def forget_package(name):
    """Drop package name and its submodules from sys.modules: the next import loads them from sys.path again.

    Used by a Dask worker when a batch brings a newer kit than the one it imported for an earlier batch.
    """
    for loaded in [module for module in sys.modules if module == name or module.startswith(name + ".")]:
        del sys.modules[loaded]


@contextlib.contextmanager
def nbgrader_app(argv):
    """NbGraderApp's process-wide singleton, initialized as `nbgrader <argv>` would be; reset afterwards.

    The config files are loaded from the current directory as the command line loads them. The
    reset (nbgrader's own, which clears the singleton and its subapp's) lets the next call start afresh.
    """
    from nbgrader.apps.nbgraderapp import NbGraderApp

    app = NbGraderApp.instance()
    try:
        app.initialize(argv)
        yield app
    finally:
        app.reset()


def run_nbgrader_in_process(argv, log_stream):
    """Run `nbgrader <argv>` in this process, its log into log_stream; the exit code.

    0 when it ran through; the SystemExit code otherwise: 1 when nbgrader failed on a notebook
    (it logged why), a message when the configuration stopped it.
    """
    from jupyter_core.application import NoStart

    try:
        with nbgrader_app(argv) as app:
            app.init_logging(logging.StreamHandler, [log_stream], color=False, subapps=True)
            app.start()
    except NoStart:  # how a Jupyter app says its subcommand ran
        return 0
    except SystemExit as exit:
        return exit.code
    return 0


def run_nbgrader_in(folder, argv):
    """Run `nbgrader <argv>` in this process from folder, as the command line would run there; (exit code, log).

    The working directory and sys.path (a course's config may add to it) are put back afterwards.
    """
    saved_path, saved_cwd = list(sys.path), os.getcwd()
    log = io.StringIO()
    os.chdir(folder)
    try:
        code = run_nbgrader_in_process(argv, log)
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
    return code, log.getvalue()


def submitted_assignments(converter):
    """{submitted assignment folder: [its notebook paths]} as an Autograde converter finds them.

    nbgrader's own glob over the submitted directory (Autograde.init_notebooks); raises nbgrader's
    NbGraderException (after logging the glob) when nothing matched.
    """
    converter.init_notebooks()
    return dict(converter.assignments)


def autograde_would_grade(converter, assignment, student, notebooks):
    """Whether `nbgrader autograde` would grade this submission now (Autograde.init_destination).

    Stock's rules: student_id_exclude, not yet autograded, --force, or a newer submission;
    with --force or a newer submission, the old autograded folder is removed, as stock does.
    """
    converter.notebooks = sorted(notebooks)
    return converter.init_destination(assignment, student)


def check_scale():
    """Fail loudly, naming it, if something cnnkit.scale relies on above is gone from the installed versions."""
    from jupyter_core import application
    from nbgrader.apps.nbgraderapp import NbGraderApp
    from nbgrader.converters import Autograde

    needed = {
        "NbGraderApp.instance": getattr(NbGraderApp, "instance", None),
        "NbGraderApp.initialize": getattr(NbGraderApp, "initialize", None),
        "NbGraderApp.init_logging": getattr(NbGraderApp, "init_logging", None),
        "NbGraderApp.start": getattr(NbGraderApp, "start", None),
        "NbGraderApp.reset": getattr(NbGraderApp, "reset", None),
        "NbGraderApp.clear_instance": getattr(NbGraderApp, "clear_instance", None),
        "jupyter_core.application.NoStart": getattr(application, "NoStart", None),
        "Autograde.init_notebooks": getattr(Autograde, "init_notebooks", None),
        "Autograde.init_destination": getattr(Autograde, "init_destination", None),
    }
    missing = [name for name, found in needed.items() if found is None]
    if missing:
        raise ScaleApiChanged(f"cnnkit.scale needs {', '.join(missing)}, which the installed version lacks")
    for method, attribute in (("init_notebooks", "self.assignments"), ("init_destination", "self.notebooks")):
        if attribute not in inspect.getsource(getattr(Autograde, method)):
            raise ScaleApiChanged(f"Autograde.{method} no longer uses {attribute}, which cnnkit.compat relies on")
    if "clear_instance" not in inspect.getsource(NbGraderApp.reset):
        raise ScaleApiChanged("NbGraderApp.reset no longer clears the singleton (clear_instance)")
    stand_in_still_fits()


def stand_in_still_fits():
    """ScaleApiChanged if the installed rfc3987_syntax no longer answers is_valid_syntax the way lazy_rfc3987_syntax does."""
    spec = importlib.util.find_spec(RFC3987_SYNTAX)
    if spec is None or not spec.origin:
        return
    helpers = os.path.join(os.path.dirname(spec.origin), "syntax_helpers.py")
    source = ""
    if os.path.isfile(helpers):
        with open(helpers, encoding="utf-8") as text:
            source = text.read()
    built = f"Lark(grammar, start={list(RFC3987_STARTS)!r}, parser=RFC3987_SYNTAX_PARSER_TYPE)".replace("'", '"')
    for needed in (built, 'RFC3987_SYNTAX_PARSER_TYPE: str = "earley"', "syntax_parser.parse(value, start=term)"):
        if needed not in source:
            raise ScaleApiChanged(
                f"rfc3987_syntax's is_valid_syntax changed ({helpers} lacks {needed}): "
                "cnnkit.compat.lazy_rfc3987_syntax no longer stands in for it"
            )


# --- nbconvert's HTML export (used by cnnkit.grading.feedback_page) ----------------------------------

# What HTMLExporter.from_notebook_node does with its BeautifulSoup parse of the finished page; any other
# use of it would be a step cnnkit.grading.feedback_page does not repeat.
SOUP_SELECTS = (
    '"img:not([alt])"',
    '".jp-Notebook div.jp-Cell-inputWrapper"',
    '".jp-Notebook div.jp-OutputArea-output"',
)


class FeedbackApiChanged(RuntimeError):
    """nbconvert's HTMLExporter no longer ends the way cnnkit.grading.feedback_page expects (check_feedback)."""


class _Unparsed:
    """Stands in for BeautifulSoup in HTMLExporter.from_notebook_node: selects nothing, gives the page back as is."""

    def __init__(self, markup, features=None):
        self.markup = markup

    def select(self, selector):
        return []

    def __str__(self):
        return self.markup


@contextlib.contextmanager
def html_export_without_reparse():
    """Within: nbconvert's HTMLExporter returns its page without re-parsing it (the caller does what that added)."""
    from nbconvert.exporters import html

    saved = html.BeautifulSoup
    html.BeautifulSoup = _Unparsed
    try:
        yield
    finally:
        html.BeautifulSoup = saved


def check_feedback():
    """Fail loudly if HTMLExporter's last step is no longer the BeautifulSoup pass with the known selects."""
    from nbconvert.exporters import html

    source = inspect.getsource(html.HTMLExporter.from_notebook_node)
    selects = tuple(
        line.split("soup.select(", 1)[1].rsplit(")", 1)[0] for line in source.splitlines() if "soup.select(" in line
    )
    if not hasattr(html, "BeautifulSoup") or "return str(soup), resources" not in source or selects != SOUP_SELECTS:
        raise FeedbackApiChanged(
            "nbconvert's HTMLExporter.from_notebook_node no longer ends with the BeautifulSoup pass "
            f"cnnkit.grading.feedback_page repeats (selects {SOUP_SELECTS})"
        )


# --- nbgrader's formgrader (used by cnnkit.hub.formgrader_note) ------------------------------------


class FormgraderApiChanged(RuntimeError):
    """The formgrader no longer renders its pages as cnnkit.hub.formgrader_note expects (check_formgrader)."""


# The tornado setting in which nbgrader's formgrader keeps the jinja2 Environment of its pages (no public way in).
FORMGRADER_TEMPLATES = "nbgrader_jinja2_env"


def formgrader_templates(web_app):
    """The jinja2 Environment the formgrader renders its pages with, or None where the formgrader is not loaded."""
    return web_app.settings.get(FORMGRADER_TEMPLATES)


def check_formgrader():
    """Fail loudly if the formgrader no longer sets that Environment, or its base.tpl lost the body block.

    Reads nbgrader's files without importing the formgrader (which imports jupyter_server): every grading
    process runs check() at start.
    """
    spec = importlib.util.find_spec("nbgrader.server_extensions.formgrader.formgrader")
    folder = os.path.dirname(spec.origin)
    with open(spec.origin, encoding="utf-8") as handle:
        sets_it = f"{FORMGRADER_TEMPLATES}=jinja_env" in handle.read()
    with open(os.path.join(folder, "templates", "base.tpl"), encoding="utf-8") as handle:
        has_body = "{%- block body -%}" in handle.read()
    if not (sets_it and has_body):
        raise FormgraderApiChanged(
            f"nbgrader's formgrader no longer keeps its page templates in the tornado setting {FORMGRADER_TEMPLATES} "
            "or its base.tpl has no body block: cnnkit.hub.formgrader_note cannot add its note"
        )


def check():
    """Every section's check: each ``check_<section>()`` of this module, in name order; the first failure raises.

    Defined last so that it sees every section's check (a section adds one by defining check_<its name>).
    """
    for name, section_check in sorted(globals().items()):
        if name.startswith("check_") and callable(section_check):
            section_check()
