"""Official grading on submit: ``python -m cnnkit.hub.service --course DIR [--poll SECONDS] [--once]``.

Interface (the hub's config relies on it): runs forever, looking into the exchange's inbound folder
every --poll seconds (default 2); ``--once`` grades what is there, releases the feedback and exits;
``--report`` prints one line per submission seen. Run as a managed JupyterHub service (JUPYTERHUB_API_TOKEN,
JUPYTERHUB_SERVICE_PREFIX and JUPYTERHUB_SERVICE_URL set), it also serves its pages (cnnkit.hub.site: each
student their attempts, the graders the class); without them it runs without a web page. DIR is the
course root (nbgrader_config.py, gradebook.db). What each poll does is cnnkit.hub.grader. Every line of
the log is printable ASCII (``OneLineFormatter``): a name or a reason a student controls cannot start a
line of its own. docs/grading-on-submit.md is the instructor's guide.
"""

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from cnnkit import compat

compat.skip_unused_slow_imports()  # before the imports below bring jsonschema in (nbformat, nbgrader): 0.8 s a start

from cnnkit.hub import class_view, site  # noqa: E402
from cnnkit.hub.grader import LOG, Service, log  # noqa: E402
from cnnkit.ingest import exchange  # noqa: E402
from cnnkit.policy import rules  # noqa: E402
from cnnkit.policy.ledger import ServiceBusy, State  # noqa: E402

# ---------------------------------------------------------------- running


def run(service, poll_seconds, once, stop=None):
    """Poll until stopped (once: until nothing is left to grade). A failure in one poll is logged and the
    next poll tries again. While grading is under way a poll waits for the next outcome (up to
    poll_seconds), so each feedback goes out as soon as its grading is done."""
    stop = stop or threading.Event()
    if not once:
        service.warm_up()  # grading processes up and a kernel booted before the first submission
    while not stop.is_set():
        try:
            busy = service.poll(wait=poll_seconds)
        except rules.PolicyError as error:
            log.error("%s", error)
            if once:
                return 1
            busy = False
        except Exception:
            log.exception("poll failed; trying again in %g s", poll_seconds)
            if once:
                return 1
            busy = False
        if once and not busy:
            return 0
        if not busy:
            stop.wait(poll_seconds)
    return 0


def serve_status_page(service, graders_group=""):
    """Serve the service's pages (HubOAuth; cnnkit.hub.site) on JUPYTERHUB_SERVICE_URL; blocks (tornado's loop).

    graders_group: the Unix group whose members see the whole class (jupyterhub_config.py passes the course's)."""
    from urllib.parse import urlparse

    import tornado.ioloop

    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    readonly = State(service.root, readonly=True)  # its own connection, for the web thread
    app = site.make_app(site.Site(service, readonly, prefix, graders_group))
    app.listen(url.port, url.hostname)
    log.info("status page at %s (%s)", prefix, os.environ["JUPYTERHUB_SERVICE_URL"])
    tornado.ioloop.IOLoop.current().start()


class OneLineFormatter(logging.Formatter):
    """Each record as one line of printable ASCII (exchange.printable): newlines, terminal escapes and
    non-ASCII characters in a name or a reason a student controls are shown escaped, never acted on."""

    def format(self, record):
        return exchange.printable(super().format(record))


def setup_logging(root):
    (root / LOG).parent.mkdir(parents=True, exist_ok=True)
    form = OneLineFormatter("%(asctime)s %(levelname)s %(message)s")
    for handler in (logging.StreamHandler(sys.stdout), logging.FileHandler(root / LOG)):
        handler.setFormatter(form)
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def parser():
    commands = argparse.ArgumentParser(prog="python -m cnnkit.hub.service", description=__doc__.split("\n\n")[0])
    commands.add_argument("--course", type=Path, required=True, help="the course root (nbgrader_config.py)")
    commands.add_argument("--poll", type=float, default=2.0, help="seconds between looks into the exchange")
    commands.add_argument("--once", action="store_true", help="grade what is there, then exit")
    commands.add_argument("--workers", type=int, help="grading processes (default: number of cores)")
    commands.add_argument("--report", action="store_true", help="print every submission's state, then exit")
    commands.add_argument(
        "--graders-group", default="", help="the Unix group whose members see the whole class on the service's page"
    )
    return commands


def main(argv=None):
    args = parser().parse_args(argv)
    root = args.course.resolve()
    if not (root / "nbgrader_config.py").is_file():
        print(f"{root} holds no nbgrader_config.py: --course names the course root", file=sys.stderr)
        return 2
    if args.report:
        return class_view.instructor_report(State(root))
    setup_logging(root)
    # The hub stops its services with SIGTERM. Stopping at once is safe at any moment (the state file is
    # committed step by step, as after a kill -9), and the grading processes end within a second when
    # they see their parent gone (cnnkit.scale.processes.watch_parent). Waiting instead could let a
    # grading cut short be recorded as a failed submission.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        service = Service(root, args.workers)
    except (ServiceBusy, rules.PolicyError) as error:
        log.error("%s", error)
        return 1
    try:
        if args.once or not os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
            return run(service, args.poll, args.once)
        stop = threading.Event()
        poller = threading.Thread(target=run, args=(service, args.poll, False, stop), daemon=True)
        poller.start()
        try:
            serve_status_page(service, args.graders_group)
        finally:
            stop.set()
            poller.join()
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        service.close()


if __name__ == "__main__":
    sys.exit(main())
