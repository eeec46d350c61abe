"""The graded functions, one module each: ``FUNCTION``, its part, reference, mistakes, case keys and sample.

cnnkit.spec.table finds every module here (no list to keep up to date); docs/extending.md walks through
adding one.
"""
