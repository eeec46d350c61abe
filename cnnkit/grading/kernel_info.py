"""NameTheKernelsLanguage (generate_assignment): the release's language_info is the kernel's own, key for key.

JupyterLab writes what the running kernel says of its language (ipykernel's language_info: Python's version,
lexer, mimetype ...) into the notebook's metadata as soon as the kernel has told it, and a notebook whose
language_info was anything else is then marked changed: a student who only opened the release was asked
"Save changes?" on closing it. On the hub, Validate's save can even come before the kernel's answer (the
server is busy validating), so the notebook turned changed again after it.

So the release carries what the kernel of the environment that makes it reports: ``make release`` in the
kit's venv, and on the hub the deploy makes the release again with the students' own environment
(cnnkit.hub.deploy.copy_course runs generate_assignment there), whose kernel is the one they open it with.
"""

from nbformat.notebooknode import from_dict
from nbgrader.preprocessors import NbGraderPreprocessor


def kernel_language_info():
    """What this environment's Python kernel (ipykernel) tells JupyterLab of its language."""
    from ipykernel.ipkernel import IPythonKernel  # only when releasing: every nbgrader command reads this config

    return dict(IPythonKernel.language_info)


class NameTheKernelsLanguage(NbGraderPreprocessor):
    """generate_assignment: the notebook's language_info becomes exactly the kernel's."""

    def preprocess(self, nb, resources):
        nb.metadata.language_info = from_dict(kernel_language_info())
        return nb, resources
