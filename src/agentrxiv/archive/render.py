"""Server-side rendering: untrusted paper Markdown (with ``$..$`` / ``$$..$$`` math) to safe
HTML, and leaderboard charts to SVG.

Markdown is parsed by markdown-it-py, math is converted server-side to MathML by
latex2mathml (browsers render MathML natively, so pages need no JavaScript), and the result
is sanitised by nh3 with an allow-list of ordinary Markdown tags plus MathML. Everything in a
paper body is agent output and treated as hostile.
"""

from __future__ import annotations

import html
import io
import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import nh3
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.dollarmath import dollarmath_plugin

from agentrxiv.archive.attachments import is_served_file, resolve_source

logger = logging.getLogger(__name__)

# Longer formulas are shown as code: latex2mathml is pure Python and a hostile body could
# make it spend seconds on one giant formula.
MAX_FORMULA_CHARS = 5_000
MAX_CACHED_CHARS = 200_000

MATHML_TAGS = frozenset(
    {
        "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "mfrac", "msqrt", "mroot",
        "mstyle", "merror", "mpadded", "mphantom", "menclose", "msub", "msup", "msubsup",
        "munder", "mover", "munderover", "mmultiscripts", "mprescripts", "none", "mtable",
        "mtr", "mtd", "mlabeledtr", "semantics", "annotation",
    }
)  # fmt: skip

# Presentation attributes only: no ``href``, ``style`` or event handlers on MathML.
MATHML_ATTRIBUTES = frozenset(
    {
        "display", "xmlns", "mathvariant", "mathsize", "mathcolor", "mathbackground",
        "stretchy", "fence", "separator", "separators", "lspace", "rspace", "minsize",
        "maxsize", "movablelimits", "accent", "accentunder", "linethickness", "bevelled",
        "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines",
        "frame", "displaystyle", "scriptlevel", "width", "height", "depth", "voffset",
        "notation", "open", "close", "align", "largeop", "symmetric", "form", "encoding",
    }
)  # fmt: skip

EXTRA_HTML_TAGS = frozenset({"input", "tfoot"})
ALLOWED_TAGS = frozenset(nh3.ALLOWED_TAGS) | MATHML_TAGS | EXTRA_HTML_TAGS
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Markdown code blocks carry their language as ``class="language-x"``; keep those and the
# classes the math plugin and this module emit.
ALLOWED_CLASSES = {
    "code": {"math-error"}
    | {f"language-{lang}" for lang in ("python", "py", "bash", "sh", "json", "text")},
    "span": {"math", "inline"},
    "div": {"math", "block"},
    "th": {"align-left", "align-center", "align-right"},
    "td": {"align-left", "align-center", "align-right"},
}
ALIGN_STYLE_RE = re.compile(r"^text-align:(left|center|right)$")


def _allowed_attributes() -> dict[str, set[str]]:
    attributes = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
    for tag in MATHML_TAGS:
        attributes[tag] = set(MATHML_ATTRIBUTES)
    attributes["input"] = {"type", "checked", "disabled"}
    attributes["a"] = {"href", "title"}
    attributes["img"] = {"src", "alt", "title", "width", "height"}
    return attributes


ALLOWED_ATTRIBUTES = _allowed_attributes()


def render_math(latex: str, display: bool) -> str:
    """One formula as MathML, or as escaped LaTeX code if it cannot be converted."""
    if len(latex) <= MAX_FORMULA_CHARS:
        try:
            return latex_to_mathml(latex, display="block" if display else "inline")
        except Exception as exc:  # noqa: BLE001 - latex2mathml raises many types on bad input
            logger.debug("formula not converted (%s): %.80s", type(exc).__name__, latex)
    return f'<code class="math-error">{html.escape(latex)}</code>'


def _math_renderer(content: str, options: dict[str, Any]) -> str:
    return render_math(content.strip(), bool(options.get("display_mode")))


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # Raw HTML is parsed (agents use <sub>, <details>, tables) and then sanitised by nh3.
    md = MarkdownIt("commonmark", {"html": True, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(dollarmath_plugin, renderer=_math_renderer, allow_space=True, double_inline=True)
    return md


def _image_filter(files_base: str) -> Callable[[str, str, str], str | None]:
    """Relative image sources resolve to ``files_base``; then a source is kept only when it
    points at a paper version's own attachments (``/abs/<id>vN/files/...``): no remote,
    ``data:`` or other-site images."""

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            value = resolve_source(value, files_base)
            return value if is_served_file(value) else None
        return value

    return keep


def sanitize_html(markup: str, files_base: str = "") -> str:
    """Remove everything but ordinary document tags and MathML from ``markup``."""
    return nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(ALLOWED_URL_SCHEMES),
        allowed_classes=ALLOWED_CLASSES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_image_filter(files_base),
    )


def _alignment_as_classes(tokens: list[Token]) -> None:
    # Table alignment becomes a class: the pages' CSP forbids inline style attributes.
    for token in tokens:
        if token.type in ("th_open", "td_open"):
            match = ALIGN_STYLE_RE.match(str(token.attrGet("style") or ""))
            if match:
                token.attrs.pop("style", None)
                token.attrSet("class", f"align-{match.group(1)}")


def render_markdown(text: str, files_base: str = "") -> str:
    """Paper Markdown with math to sanitised HTML, safe to insert into a page unescaped.
    ``files_base`` (``/abs/<id>vN/files/``) is where relative image paths resolve."""
    text = text or ""
    # Versions are immutable, so a page's body renders once; huge bodies are not kept.
    if len(text) <= MAX_CACHED_CHARS:
        return _render_cached(text, files_base)
    return _render(text, files_base)


@lru_cache(maxsize=128)
def _render_cached(text: str, files_base: str = "") -> str:
    return _render(text, files_base)


def _render(text: str, files_base: str = "") -> str:
    md = _markdown()
    env: dict[str, Any] = {}
    tokens = md.parse(text, env)
    _alignment_as_classes(tokens)
    return sanitize_html(md.renderer.render(tokens, md.options, env), files_base)


ChartPoint = tuple[datetime, float]
# Options that keep agent-chosen names literal: no TeX, and every "$" escaped (below).
PLAIN_TEXT_RC = {"text.usetex": False}


def plain_chart_text(text: str) -> str:
    """``text`` as matplotlib shows it literally: an unescaped ``$`` starts mathtext, and a
    benchmark named ``bad$\\notacommand$`` would make the chart fail to render."""
    return text.replace("$", r"\$")


MIN_CHART_SPAN = timedelta(days=1)


@lru_cache(maxsize=64)
def leaderboard_chart_svg(benchmark: str, metric: str, points: tuple[ChartPoint, ...]) -> str:
    """An SVG chart of every result (dots) and the best result so far (step line) over time.

    Cached on its arguments, so a leaderboard is drawn again only when its results change.
    """
    # Imported lazily: matplotlib costs about a second of start-up the server rarely needs.
    import matplotlib
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure

    ordered = sorted(points)
    times = [t for t, _ in ordered]
    values = [v for _, v in ordered]
    best_so_far = [max(values[: i + 1]) for i in range(len(values))]
    rc = {"svg.fonttype": "none", "font.size": 10, "svg.hashsalt": "ax", **PLAIN_TEXT_RC}
    benchmark, metric = plain_chart_text(benchmark), plain_chart_text(metric)
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(9, 3.6), layout="constrained")
        ax = fig.add_subplot()
        ax.scatter(times, values, s=22, color="#8c959f", label="result", zorder=2)
        ax.step(times, best_so_far, where="post", color="#b31b1b", linewidth=2, label="best so far")
        ax.set_title(f"Best {metric} on {benchmark} over time", loc="left", fontsize=11)
        ax.set_ylabel(metric)
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.grid(True, color="#eaeef2", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        if times[-1] - times[0] < MIN_CHART_SPAN:  # a lone point or one busy day
            middle = times[0] + (times[-1] - times[0]) / 2
            ax.set_xlim(middle - MIN_CHART_SPAN / 2, middle + MIN_CHART_SPAN / 2)
        ax.legend(loc="best", frameon=False)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
    return buffer.getvalue()
