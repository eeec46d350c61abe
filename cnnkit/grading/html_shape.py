"""How deeply a piece of HTML nests, and how many attributes an element has, measured in one linear pass.

The sanitiser (nh3, on html5ever) takes time quadratic in both, so cnnkit.grading.sanitize asks
``structure_problem`` first and refuses a value that would take it too long. The model of the HTML
parser here errs towards more nesting, never less.
"""

import re

from cnnkit.grading.remember import remembered

MAX_DEPTH = 256  # element nesting; html5ever's scope checks are quadratic in it
# For the bound on how deeply elements nest (html5ever's scope checks are quadratic in it), the HTML parser's
# rules that matter: void elements never open, `/>` closes only SVG and MathML elements, some HTML tags
# end SVG and MathML, and some SVG and MathML elements hold HTML.
VOID = set("area base br col embed hr img input keygen link meta param source track wbr basefont bgsound frame".split())
BREAKOUT = set(
    "b big blockquote body br center code dd div dl dt em embed font h1 h2 h3 h4 h5 h6 head hr i img li listing"
    " menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul var".split()
)
HOLDS_HTML = {"foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext", "annotation-xml"}
TAG_HEAD = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
SELF_CLOSING = re.compile(r"(?:^|[\s\"'])/\s*\Z")  # `/>` that the tokenizer reads as such, not as a value's end
ATTRIBUTE_START = re.compile(r"[\s/]+[^\s/>]")
MAX_ATTRIBUTES = 256  # per element; html5ever's duplicate check is quadratic in it


def tags(value):
    """(closing, lowercase name, attribute text) of every tag, in one linear pass.

    A tag runs from `<name` to the next `>`, as far as the tokenizer's own tags go or less (it reads quoted
    `>` as part of a value): what lies inside a real tag may be counted as tags, never the other way round.
    """
    position, next_gt = 0, -1
    while (lt := value.find("<", position)) >= 0:
        head = TAG_HEAD.match(value, lt)
        if not head:
            position = lt + 1
            continue
        if next_gt < lt:
            next_gt = value.find(">", lt)
            if next_gt < 0:
                return  # a tag cut off by the end of the text is dropped by the parser
        yield bool(head.group(1)), head.group(2).lower(), value[head.end() : next_gt]
        position = next_gt + 1


@remembered
def structure_problem(value):
    """Why value would take the sanitiser too long (None when it would not): nesting or attributes.

    The open elements are modelled on the HTML parser's, erring towards more: an end tag closes only the
    element on top (or, in SVG and MathML, one of theirs), as the parser does at least.
    """
    stack = []  # (name, is SVG or MathML)
    for closing, name, attributes in tags(value):
        if len(ATTRIBUTE_START.findall(attributes)) > MAX_ATTRIBUTES:
            return f"an element with more than {MAX_ATTRIBUTES} attributes"
        foreign = bool(stack) and stack[-1][1] and stack[-1][0] not in HOLDS_HTML
        if closing:
            close_tag(stack, name, foreign)
            continue
        if foreign and name in BREAKOUT:
            while stack and stack[-1][1]:
                stack.pop()
            foreign = False
        self_closed = SELF_CLOSING.search(attributes) is not None
        if (foreign or name in ("svg", "math")) and self_closed or not foreign and name in VOID:
            continue
        stack.append((name, foreign or name in ("svg", "math")))
        if len(stack) > MAX_DEPTH:
            return f"elements nested more than {MAX_DEPTH} deep"
    return None


def close_tag(stack, name, foreign):
    """The model's stack after </name>: the top element if it is name; in SVG/MathML, theirs up to name."""
    if stack and stack[-1][0] == name:
        stack.pop()
    elif foreign and name in ("p", "br"):  # these end SVG and MathML content
        while stack and stack[-1][1]:
            stack.pop()
    elif foreign:
        for index in range(len(stack) - 1, -1, -1):
            if not stack[index][1]:
                return  # an HTML element: nothing closes (the parser may close more)
            if stack[index][0] == name:
                del stack[index:]
                return
