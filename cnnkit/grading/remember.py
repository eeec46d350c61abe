"""Results of pure functions of text, remembered for the life of the process, within a memory bound.

The grading process makes one feedback page after another, and most of each page is the release's: the same
markdown, the same code, the same formulas for every student. Sanitising, rendering and highlighting those
again is most of what a page costs. ``remembered`` keeps a function's recent results (least recently used
first out) for calls whose text arguments are short: a submission's large outputs are worked out every time,
so what is kept stays small whatever the submissions hold. Only for functions whose result depends on their
arguments alone: a remembered call returns exactly what the call would.
"""

import functools

# Text per call that may be remembered: the release's longest markdown is ~4,000 characters, its longest code
# cell ~3,000. A hostile submission can fill the memo with texts just under the bound, so the bound sets
# the memory: at most MAX_CHARS * MAX_ENTRIES characters of arguments per function (16 M), plus results.
MAX_CHARS = 16_000
MAX_ENTRIES = 1024  # results kept per function (the release has ~60 cells; least recently used first out)
REMEMBERING = []  # every remembered function, for forget_all


def text_size(value):
    """Characters of text in value: a str, or nested tuples of them (other values count 0)."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, tuple):
        return sum(text_size(item) for item in value)
    return 0


def remembered(function):
    """function, its results remembered for calls of at most MAX_CHARS characters of text (hashable arguments)."""
    cached = functools.lru_cache(maxsize=MAX_ENTRIES)(function)

    @functools.wraps(function)
    def call(*args):
        if text_size(args) > MAX_CHARS:
            return function(*args)
        return cached(*args)

    call.cache_info, call.cache_clear = cached.cache_info, cached.cache_clear
    REMEMBERING.append(call)
    return call


def forget_all():
    """Forget every remembered result (the next calls work everything out again)."""
    for function in REMEMBERING:
        function.cache_clear()
