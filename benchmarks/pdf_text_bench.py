"""Which PDF text library should read papers' full texts? pypdf, pdfminer.six and pypdfium2
side by side on PDFs made here (no downloads): word recall against the known source text
and milliseconds per page.

PDFs: synthetic papers (title, abstract, numbered sections, equations in words, a reference
list), printed by headless chromium from HTML in one and two columns (the layout of most
preprints), and drawn by matplotlib with embedded TrueType text.

    python benchmarks/pdf_text_bench.py                 # 3 papers x 3 layouts, 3 repeats
    python benchmarks/pdf_text_bench.py --papers 5 --repeats 5
"""

from __future__ import annotations

import argparse
import html
import io
import random
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

WORDS = [
    "prompting",
    "model",
    "accuracy",
    "benchmark",
    "verification",
    "majority",
    "voting",
    "sample",
    "reasoning",
    "chain",
    "arithmetic",
    "problem",
    "answer",
    "technique",
    "baseline",
    "improvement",
    "dataset",
    "evaluation",
    "interval",
    "significant",
    "measured",
    "difference",
    "temperature",
    "solver",
    "program",
    "experiment",
    "literature",
    "review",
    "agent",
    "laboratory",
    "archive",
    "citation",
    "transformer",
    "attention",
    "gradient",
    "optimisation",
    "loss",
]
SECTIONS = ("Introduction", "Related Work", "Method", "Experiments", "Results", "Conclusion")


def synthetic_paper(seed: int, paragraphs: int = 4) -> tuple[str, list[tuple[str, str]]]:
    """A title and (heading, text) sections of random but fixed prose."""
    rng = random.Random(seed)

    def sentence() -> str:
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
        if rng.random() < 0.3:
            words.insert(rng.randint(0, len(words)), f"{rng.uniform(0, 100):.1f}%")
        return " ".join(words).capitalize() + "."

    def paragraph() -> str:
        return " ".join(sentence() for _ in range(rng.randint(4, 7)))

    body = [("Abstract", paragraph())]
    for number, name in enumerate(SECTIONS, 1):
        body.append((f"{number} {name}", "\n".join(paragraph() for _ in range(paragraphs))))
    refs = "\n".join(f"[{i}] A. Author. {sentence()} arXiv:24{i:02d}.0{i}123." for i in range(1, 6))
    body.append(("References", refs))
    return f"Paper {seed}: {sentence()}", body


def chromium_pdf(title: str, sections: list[tuple[str, str]], columns: int, out: Path) -> bool:
    """Print the paper as HTML with headless chromium; False when chromium is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return False
    # Chromium does not break a multi-column box across pages, so each section is its own
    # two-column box (short enough for a page).
    css = "body{font-family:serif;font-size:10pt;margin:1.5cm} div{column-count:COLS}"
    css = css.replace("COLS", str(columns))
    parts = [f"<html><head><style>{css}</style></head><body><h1>{html.escape(title)}</h1>"]
    for heading, text in sections:
        paras = "".join(f"<div><p>{html.escape(p)}</p></div>" for p in text.split("\n"))
        parts.append(f"<h2>{html.escape(heading)}</h2>{paras}")
    page = out.with_suffix(".html")
    page.write_text("".join(parts) + "</body></html>", encoding="utf-8")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer"]
    cmd += [f"--print-to-pdf={out}", page.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    return out.exists()


def matplotlib_pdf(title: str, sections: list[tuple[str, str]], out: Path) -> bool:
    """Draw the paper's lines on A4 pages with matplotlib (TrueType text, one column)."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["pdf.fonttype"] = 42
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    lines = [title, ""]
    for heading, text in sections:
        lines += [heading] + [w for p in text.split("\n") for w in textwrap.wrap(p, 95)] + [""]
    per_page = 60
    with PdfPages(out) as pdf:
        for start in range(0, len(lines), per_page):
            fig = plt.figure(figsize=(8.27, 11.69))
            for row, line in enumerate(lines[start : start + per_page]):
                fig.text(0.08, 0.95 - row * 0.015, line, fontsize=8, family="DejaVu Serif")
            pdf.savefig(fig)
            plt.close(fig)
    return out.exists()


def extract_pypdf(data: bytes) -> tuple[str, int]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages), len(reader.pages)


def extract_pdfminer(data: bytes) -> tuple[str, int]:
    from pdfminer.high_level import extract_text
    from pdfminer.pdfpage import PDFPage

    pages = sum(1 for _ in PDFPage.get_pages(io.BytesIO(data)))
    return extract_text(io.BytesIO(data)), pages


def extract_pypdfium2(data: bytes) -> tuple[str, int]:
    import pypdfium2 as pdfium

    from agentrxiv.lab.sources.fulltext import pdf_text

    return pdf_text(data), len(pdfium.PdfDocument(data))


EXTRACTORS: dict[str, Callable[[bytes], tuple[str, int]]] = {
    "pypdf": extract_pypdf,
    "pdfminer.six": extract_pdfminer,
    "pypdfium2": extract_pypdfium2,
}


def tokens(text: str) -> Counter[str]:
    """Lower-case words and numbers (hyphenation at line ends rejoined)."""
    text = re.sub(r"-\s*\n\s*", "", text)
    return Counter(re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", text.lower()))


def bigrams(text: str) -> Counter[tuple[str, str]]:
    """Consecutive word pairs: found only when words come out in reading order, unmerged."""
    words = re.findall(r"[a-z0-9]+(?:\.[0-9]+)?", re.sub(r"-\s*\n\s*", "", text.lower()))
    return Counter(zip(words, words[1:], strict=False))


def recall(truth: Counter, got: Counter) -> float:
    """Share of the source's words or pairs (with multiplicity) found in the extracted text."""
    return sum(min(n, got[w]) for w, n in truth.items()) / max(1, sum(truth.values()))


def make_pdfs(papers: int, folder: Path) -> list[tuple[str, Path, str]]:
    """(layout, path, source words) for every paper and layout that could be made here."""
    made = []
    for seed in range(papers):
        title, sections = synthetic_paper(seed)
        truth = title + "\n" + "\n".join(f"{h}\n{t}" for h, t in sections)
        for layout, build in (
            ("chromium-1col", lambda p, t=title, s=sections: chromium_pdf(t, s, 1, p)),
            ("chromium-2col", lambda p, t=title, s=sections: chromium_pdf(t, s, 2, p)),
            ("matplotlib", lambda p, t=title, s=sections: matplotlib_pdf(t, s, p)),
        ):
            path = folder / f"paper{seed}-{layout}.pdf"
            if build(path):
                made.append((layout, path, truth))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = make_pdfs(args.papers, Path(tmp))
        layouts = sorted({layout for layout, _, _ in pdfs})
        print(f"{len(pdfs)} PDFs ({', '.join(layouts)}), {args.repeats} timed repeats each")
        heads = " | ".join(f"{x} words / in order" for x in layouts)
        print(f"| library | {heads} | ms/page (median) |")
        print("|---|" + "---|" * (len(layouts) + 1))
        for name, extract in EXTRACTORS.items():
            per_layout: dict[str, list[tuple[float, float]]] = {x: [] for x in layouts}
            ms_per_page: list[float] = []
            for layout, path, truth in pdfs:
                data = path.read_bytes()
                text, pages = extract(data)
                per_layout[layout].append(
                    (recall(tokens(truth), tokens(text)), recall(bigrams(truth), bigrams(text)))
                )
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    extract(data)
                    ms_per_page.append(1000 * (time.perf_counter() - start) / max(1, pages))
            ms_per_page.sort()
            cells = " | ".join(
                f"{sum(w for w, _ in v) / len(v):.3f} / {sum(o for _, o in v) / len(v):.3f}"
                for v in (per_layout[x] for x in layouts)
            )
            print(f"| {name} | {cells} | {ms_per_page[len(ms_per_page) // 2]:.1f} |")


if __name__ == "__main__":
    main()
