"""The course kit's own package: trusted reference, grading steps, sample submissions, CLI."""
