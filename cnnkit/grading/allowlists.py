"""The sanitising policy: what HTML, SVG and MathML a person's browser may be given (cnnkit.grading.sanitize).

Allowlists for nh3 (the Ammonia sanitiser): ``strict_html`` keeps plain formatting, tables and images from
data: URIs, with links to the web only (``keep_attribute``); ``strict_svg`` the drawing elements without
script, links or styles; ``permissive_html`` is only the tests' premise (what a page would run unsanitised);
``strict_mathml`` MathML Core's presentation elements with plain attribute values, for the formulas the
kit makes on the server (cnnkit.grading.mathml). ``links_are_safe`` checks markdown's rendering a second way.
"""

import html
import re

import nh3

from cnnkit.grading.remember import remembered

HTML_TAGS = set(
    "a abbr b blockquote br caption cite code col colgroup dd del details dfn div dl dt em figcaption figure h1 h2"
    " h3 h4 h5 h6 hr i img input ins kbd li mark ol p pre q s samp small span strike strong sub summary sup table"
    " tbody td tfoot th thead tr tt u ul var wbr".split()
)
HTML_ATTRIBUTES = {
    "*": {"title", "lang", "dir", "class"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "input": {"checked", "disabled"},  # markdown task lists; `type` is restricted below
    "ol": {"start"},
    "td": {"colspan", "rowspan", "align", "style"},
    "th": {"colspan", "rowspan", "align", "style", "scope"},
    **{f"h{level}": {"id"} for level in range(1, 7)},  # nbconvert's heading anchors
}
SVG_TAGS = set(
    "svg g path rect circle ellipse line polyline polygon text tspan defs clipPath linearGradient radialGradient"
    " stop title desc use symbol marker pattern mask".split()
)
SVG_ATTRIBUTES = {
    "*": set(
        "id class transform fill fill-opacity fill-rule stroke stroke-width stroke-opacity stroke-linecap"
        " stroke-linejoin stroke-dasharray stroke-miterlimit opacity clip-path clip-rule mask font-family font-size"
        " font-weight text-anchor dominant-baseline x y x1 y1 x2 y2 cx cy r rx ry width height d points viewBox"
        " preserveAspectRatio offset stop-color stop-opacity gradientUnits gradientTransform patternUnits"
        " markerWidth markerHeight refX refY orient dx dy version xmlns href".split()
    )
}
URL_SCHEMES = {"http", "https", "mailto", "data"}  # then narrowed per attribute by keep_attribute
DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*\Z")
WEB_LINK = re.compile(r"(?:https?:|mailto:|#)", re.IGNORECASE)
# Class names: the short ones of code highlighting (pygments), and the names nbconvert's markdown uses.
SAFE_CLASS = re.compile(
    r"[a-z][a-z0-9]{0,2}\Z|highlight\Z|anchor-link\Z|language-[\w+-]{1,30}\Z|task-list-item(?:-checkbox)?\Z"
)
SAFE_GRADE_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}\Z")

# MathML Core's presentation elements, as cnnkit.grading.mathml's converter writes them. Left out on purpose:
# maction, semantics, annotation and annotation-xml (they hold HTML or switch what is shown), mglyph and
# malignmark (the parser's namespace confusions), and every HTML element (mtext and its kin may hold HTML).
MATHML_TAGS = set(
    "math mrow mi mn mo ms mtext mspace msub msup msubsup munder mover munderover mmultiscripts mprescripts"
    " none mfrac msqrt mroot mstyle mpadded mphantom menclose merror mtable mtr mtd".split()
)
MATHML_ATTRIBUTES = {
    "*": set(
        "display displaystyle scriptlevel mathvariant mathsize mathcolor mathbackground dir stretchy fence"
        " separator form lspace rspace largeop movablelimits symmetric minsize maxsize accent accentunder"
        " linethickness width height depth voffset notation columnalign rowalign columnspacing rowspacing"
        " columnlines rowlines frame rowspan columnspan".split()
    )
}
# A MathML attribute's value: a length, a number, a keyword or a colour (no url(), quotes or script).
MATHML_VALUE = re.compile(r"[\w .#%+-]{0,64}\Z")

SCRIPT_MIME_WORDS = ("javascript", "ecmascript", "jscript", "widget")
IMAGE_MIMES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}
ATTACHMENT_NAME = re.compile(r"attachment:([^\s)\"'<>]+)")  # a name as markdown's link and image syntax ends it
HTML_START = re.compile(r"<[A-Za-z/!?]")  # what begins raw HTML in markdown (CommonMark 6.6)
# An attribute with a URL as nbconvert's markdown renderer writes it (double quotes, escaped value).
RENDERED_URL = re.compile(r"<([A-Za-z][\w-]*)[^>]*?\s(href|src)=\"([^\"]*)\"")


def keep_attribute(tag, attribute, value):
    """Ammonia's attribute_filter: URLs only where they cannot run or fetch anything; known class names."""
    if attribute == "src":
        return value if DATA_IMAGE.match(value) else None
    if attribute == "href":
        if tag in ("use", "a") and value.startswith("#"):
            return value
        return value if tag == "a" and WEB_LINK.match(value) else None
    if attribute == "class":
        kept = [name for name in value.split() if SAFE_CLASS.match(name)]
        return " ".join(kept) or None
    return value


@remembered
def strict_html(value):
    """value sanitised for an HTML page: plain formatting, tables, images from data: URIs."""
    return nh3.clean(
        value,
        tags=HTML_TAGS,
        attributes=HTML_ATTRIBUTES,
        tag_attribute_values={"input": {"type": {"checkbox"}}},
        attribute_filter=keep_attribute,
        url_schemes=URL_SCHEMES,
        filter_style_properties={"text-align"},
        link_rel=None,
    )


@remembered
def strict_svg(value):
    """An SVG image sanitised: shapes, text and gradients; no script, events, styles or outside links."""
    return nh3.clean(
        value,
        tags=SVG_TAGS,
        attributes=SVG_ATTRIBUTES,
        attribute_filter=keep_attribute,
        url_schemes=set(),
        link_rel=None,
    )


@remembered
def permissive_html(value):
    """value through the same parser and serialiser, but keeping every tag, attribute and URL it has.

    strict_html(v) == permissive_html(v) means the sanitiser took nothing out of v.
    """
    words = set(re.findall(r"[A-Za-z_:][-A-Za-z0-9_:.]*", value))
    schemes = {scheme.lower() for scheme in re.findall(r"([A-Za-z][A-Za-z0-9+.-]*):", value)}
    return nh3.clean(
        value,
        tags=HTML_TAGS | {word.lower() for word in words},
        clean_content_tags=set(),
        attributes={"*": words},
        url_schemes=schemes | URL_SCHEMES,
        link_rel=None,
    )


def keep_math_attribute(tag, attribute, value):
    """Ammonia's attribute_filter for MathML: plain values only (lengths, numbers, keywords, colours)."""
    return value if MATHML_VALUE.match(value) else None


@remembered
def strict_mathml(value):
    """MathML sanitised: MathML Core's presentation elements and their plain attributes, text, nothing else."""
    return nh3.clean(
        value,
        tags=MATHML_TAGS,
        attributes=MATHML_ATTRIBUTES,
        attribute_filter=keep_math_attribute,
        url_schemes=set(),
        link_rel=None,
    )


def links_are_safe(rendered):
    """True when every link and image of markdown's rendering passes keep_attribute (a second, plain check)."""
    for tag, attribute, value in RENDERED_URL.findall(rendered):
        if keep_attribute(tag.lower(), attribute.lower(), html.unescape(value)) is None:
            return False
    return True
