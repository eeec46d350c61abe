"""DrawIllustrations (generate_assignment): the release shows each illustration as a picture, not as code.

Every code cell of the master tagged ``illustration`` becomes a markdown cell with its picture attached,
drawn now by the cell's own matplotlib code (cnnkit.spec.figures). It runs first in nbgrader's release
pipeline (nbgrader_config.py), so the steps after it see the cells the students get.
"""

from nbgrader.preprocessors import NbGraderPreprocessor

from cnnkit.spec import figures


class DrawIllustrations(NbGraderPreprocessor):
    """generate_assignment: each illustration cell becomes a markdown cell with its picture attached."""

    def preprocess(self, nb, resources):
        nb.cells = figures.with_pictures(nb.cells)
        return nb, resources
