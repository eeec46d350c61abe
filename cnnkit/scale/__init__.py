"""Grading a whole class fast, with the same results as stock ``nbgrader autograde``."""
