"""Literature sources: the archive and an arXiv-API endpoint. A second, real AgentRxiv server
stands in for arXiv (tests/lab/arxiv_standin.py) with injected delays and 503s, to prove the
rate limit (measured gaps), retries, the cache, full text from PDFs and resolving references."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.lab.arxiv_standin import PAPERS, StandIn, paper_pdf, start_standin

from agentrxiv.errors import ConfigError
from agentrxiv.lab.actions import AddPaper, LiteratureCommand
from agentrxiv.lab.config import parse_config
from agentrxiv.lab.phases import literature
from agentrxiv.lab.phases.references import drop_unresolved_citations
from agentrxiv.lab.sources import SourceUnavailable
from agentrxiv.lab.sources.arxiv import ArxivSource, arxiv_query
from agentrxiv.lab.sources.fulltext import pdf_text, truncate_sections

HERE = Path(__file__).parent
INTERVAL = 0.5  # shorter than arXiv's 3 s so the tests stay quick; the rule is the same
SLOW_ANSWER_S = 0.3


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[StandIn]:
    """A second AgentRxiv server with three papers (PDFs included) standing in for arXiv."""
    server = start_standin(tmp_path / "standin-home")
    yield server
    server.stop()


def arxiv_config(url: str, **extra: object):
    data = {
        "topic": "majority voting prompting accuracy",
        "literature_sources": ["arxiv"],
        "arxiv_base_url": url,
        "arxiv_min_interval_s": INTERVAL,
        "arxiv_backoff_s": 0.05,
    }
    return parse_config({**data, **extra})


@pytest.mark.integration
def test_rate_limit_retries_and_cache_against_a_standin(standin, isolated_home):
    """Two 503s then an answer: three spaced requests; a second source on the same home
    (a repeated run) finds the query and the PDF text in the cache and sends nothing."""
    standin.faults.fail_next = 2
    source = ArxivSource(arxiv_config(standin.url))
    hits = source.search("majority voting", 5)
    assert hits and hits[0].title == PAPERS[0][0]
    assert {h.paper_id for h in hits} <= set(standin.paper_ids)
    text = source.full_text(hits[0].paper_id)
    assert "Majority voting is a cheap" in text and "Abstract" in text
    arrivals = [path for _, path in standin.faults.arrivals]
    assert arrivals[:3] == ["/api/query"] * 3 and arrivals[3].startswith("/pdf/")
    assert source.requests_made == 4
    assert min(standin.faults.gaps()) >= INTERVAL
    again = ArxivSource(arxiv_config(standin.url))
    assert [h.paper_id for h in again.search("majority voting", 5)] == [h.paper_id for h in hits]
    assert again.full_text(hits[0].paper_id) == text
    assert again.requests_made == 0 and len(standin.faults.arrivals) == 4
    assert (isolated_home / "literature_cache.sqlite").exists()


@pytest.mark.integration
def test_the_rate_limit_holds_across_processes(standin, isolated_home):
    """Two lab processes on one $AGENTRXIV_HOME share the endpoint's lock file: one request
    at a time, the next starting an interval after the previous one was answered, so with a
    slow server every gap is at least the answer time plus the interval."""
    standin.faults.delay_s = SLOW_ANSWER_S
    script = textwrap.dedent(
        f"""
        import sys
        from agentrxiv.lab.config import parse_config
        from agentrxiv.lab.sources.arxiv import ArxivSource
        config = parse_config({{"topic": "t-" + sys.argv[1], "arxiv_base_url": "{standin.url}",
            "arxiv_min_interval_s": {INTERVAL}, "literature_cache_days": 0}})
        source = ArxivSource(config)
        for word in ("voting", "verification", "reasoning"):
            source.search(word + " " + sys.argv[1], 2)
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, name], cwd=HERE.parents[1])
        for name in ("a", "b")
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    gaps = standin.faults.gaps()
    assert len(standin.faults.arrivals) == 6
    assert min(gaps) >= INTERVAL + SLOW_ANSWER_S, gaps


def test_an_unreachable_source_is_reported_not_fatal(isolated_home):
    config = arxiv_config("http://127.0.0.1:9", arxiv_max_retries=1, arxiv_timeout_s=2)
    with pytest.raises(SourceUnavailable, match="unreachable"):
        ArxivSource(config).search("anything", 3)


@pytest.mark.integration
def test_scripted_lab_reads_both_sources_and_every_reference_resolves(
    labkit, sqlite_server, standin, isolated_home
):
    """The scripted lab: archive + arXiv stand-in, the report adds a reference; every
    reference in the paper resolves; a repeated run makes no request at all."""
    prior = labkit.seed_archive(sqlite_server)
    overrides = {
        "literature_sources": ["agentrxiv", "arxiv"],
        "arxiv_base_url": standin.url,
        "arxiv_min_interval_s": INTERVAL,
        "papers_to_review": 3,
        "literature_steps": 6,
        "report_reference_steps": 3,
    }
    rt = labkit.run(labkit.config(lab_name="both-1", **overrides), server=sqlite_server)
    lit = rt.state.literature
    sources = sorted({p.source for p in lit.papers})
    assert sources == ["agentrxiv", "arxiv"], lit.papers
    assert lit.remote_requests == len(standin.faults.arrivals) > 0
    first_run_requests = lit.remote_requests
    paper = Path(rt.state.report.paper_path).read_text(encoding="utf-8")
    refs = paper.split("## References", 1)[1]
    cited = re.findall(r"^- (AgentRxiv |arXiv:)(\S+?):", refs, re.MULTILINE)
    assert ("AgentRxiv ", prior.id) in cited
    arxiv_ids = [pid for kind, pid in cited if kind == "arXiv:"]
    assert arxiv_ids and set(arxiv_ids) <= set(standin.paper_ids)
    assert f"{standin.url}/abs/" in refs  # arXiv references link to their abstract page
    with sqlite_server.client() as http:
        for kind, pid in cited:
            if kind == "AgentRxiv ":
                assert http.get(f"/api/v1/papers/{pid}").status_code == 200
    assert any(p.notes == "supports the method" for p in lit.papers)  # added while writing
    assert len(cited) == len(lit.papers) == 3
    summary = (rt.lab_dir / "summary.md").read_text(encoding="utf-8")
    assert "## Literature" in summary and "from arxiv" in summary
    arrivals = len(standin.faults.arrivals)
    again = labkit.run(labkit.config(lab_name="both-2", **overrides), server=sqlite_server)
    assert again.state.literature.remote_requests == 0
    assert len(standin.faults.arrivals) == arrivals
    print(f"requests per scripted lab run: {first_run_requests} without cache, 0 with it")


@pytest.mark.integration
def test_lab_with_arxiv_offline_continues_and_says_so(labkit, sqlite_server, isolated_home):
    labkit.seed_archive(sqlite_server)
    config = labkit.config(
        literature_sources=["agentrxiv", "arxiv"],
        arxiv_base_url="http://127.0.0.1:9",
        arxiv_max_retries=0,
        arxiv_min_interval_s=0,
        papers_to_review=2,
        literature_steps=4,
    )
    rt = labkit.runtime(config, server=sqlite_server)
    outcome = literature.run(rt)
    assert [p.source for p in rt.state.literature.papers] == ["agentrxiv"]
    assert "unreachable" in outcome
    rt.checkpoint()
    from agentrxiv.lab.loop import write_summary

    write_summary(rt)
    summary = (rt.lab_dir / "summary.md").read_text(encoding="utf-8")
    assert "literature source unreachable: arXiv source http://127.0.0.1:9" in summary


def test_adding_an_arxiv_id_no_search_returned_is_refused(labkit, isolated_home):
    config = labkit.config(literature_sources=["arxiv"], arxiv_base_url="http://127.0.0.1:9")
    rt = labkit.runtime(config)
    action = AddPaper(paper_id="2401.99999", source="arxiv", notes="invented")
    out = literature.execute(rt, LiteratureCommand(action=action))
    assert "not returned by any search" in out and rt.state.literature.papers == []


def test_invented_citations_are_dropped_and_known_ones_kept():
    text = (
        "As shown [2401.00001] and [arXiv:2612.00002v1], not [2399.12345] (agentrxiv:2301.54321)."
    )
    clean, dropped = drop_unresolved_citations(text, {"2401.00001", "2612.00002"})
    assert dropped == 2
    assert "[2401.00001]" in clean and "[arXiv:2612.00002v1]" in clean
    assert "2399.12345" not in clean and "2301.54321" not in clean


def test_full_text_keeps_the_sections_that_matter_first():
    text = pdf_text(paper_pdf(*PAPERS[0]))
    assert "Introduction sentence 29" in text and "[39] A. Author" in text  # all of it read
    cut = truncate_sections(text, 900)
    assert len(cut) <= 900
    for needed in ("Abstract", "Sampling several answers", "Method", "Results", "47.5%"):
        assert needed in cut
    assert "Majority voting is a cheap" in cut  # the conclusion survives the long intro
    assert "[39] A. Author" not in cut  # references go first


def test_free_text_queries_become_arxiv_queries():
    assert arxiv_query("How does majority voting help?") == "all:majority OR all:voting OR all:help"
    assert arxiv_query("ti:voting AND au:smith") == "ti:voting AND au:smith"


def test_arxiv_true_is_a_synonym_and_sources_are_validated():
    assert parse_config({"topic": "abc", "arxiv": True}).literature_sources == [
        "agentrxiv",
        "arxiv",
    ]
    assert parse_config({"topic": "abc"}).literature_sources == ["agentrxiv"]
    with pytest.raises(ConfigError, match="literature_sources"):
        parse_config({"topic": "abc", "literature_sources": ["scholar"]})


def test_example_config_shows_both_sources_with_arxiv_off():
    from agentrxiv.lab.config import load_config

    path = Path(__file__).parents[2] / "src/agentrxiv/lab/example_math500.yaml"
    text = path.read_text(encoding="utf-8")
    assert "literature_sources: [agentrxiv]" in text and "[agentrxiv, arxiv]" in text
    assert load_config(path).literature_sources == ["agentrxiv"]


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.integration
@pytest.mark.timeout(1200)
def test_embedded_model_lab_completes_with_both_sources(
    labkit, sqlite_server, standin, isolated_home
):
    """The literature review is the embedded SmolLM2's (the
    other phases stay scripted so that CI stays short; every agent on SmolLM2 took 12-24 min
    on 2 shared cores): the lab reads the archive and the arXiv stand-in, finishes, and its
    references resolve."""
    prior = labkit.seed_archive(sqlite_server)
    config = labkit.config(
        lab_name="smol-both",
        phase_models={"literature": "local/smollm2"},
        literature_sources=["agentrxiv", "arxiv"],
        arxiv_base_url=standin.url,
        arxiv_min_interval_s=INTERVAL,
        papers_to_review=2,
        literature_steps=3,
        report_reference_steps=1,
        dialogue_turns=0,
        mle_solver_steps=0,
        paper_solver_steps=0,
        reviewers=["harsh_but_fair"],
        publish_rule={"max_rounds": 1},
        max_tokens=256,
        problem_limit=2,
    )
    rt = labkit.run(config, server=sqlite_server)
    assert rt.state.finished, rt.state.stopped_reason
    assert standin.faults.arrivals  # the arXiv source was searched (the topic, at least)
    assert rt.state.literature.remote_requests == len(standin.faults.arrivals)
    for paper in rt.state.literature.papers:  # whatever the small model added resolves
        if paper.source == "arxiv":
            assert paper.paper_id in standin.paper_ids
        else:
            with sqlite_server.client() as http:
                assert http.get(f"/api/v1/papers/{paper.paper_id}").status_code == 200
    text = Path(rt.state.report.paper_path).read_text(encoding="utf-8")
    refs = text.split("## References", 1)[1] if "## References" in text else ""
    cited = re.findall(r"^- (AgentRxiv |arXiv:)(\S+?):", refs, re.MULTILINE)
    kinds = {"AgentRxiv ": "agentrxiv", "arXiv:": "arxiv"}
    added = {(p.source, p.paper_id) for p in rt.state.literature.papers}
    assert {(kinds[kind], pid) for kind, pid in cited} == added  # the list is exactly those
    assert prior.id in {pid for _, pid in cited} or not added


def test_pdf_links_off_the_endpoint_are_refused(isolated_home):
    source = ArxivSource(arxiv_config("https://export.arxiv.org"))
    assert source.pdf_url_allowed("http://arxiv.org/pdf/2401.00001v1")
    assert source.pdf_url_allowed("https://export.arxiv.org/pdf/2401.00001")
    for bad in (
        "http://169.254.169.254/latest/meta-data",
        "file:///etc/passwd",
        "http://arxiv.org.evil.example/pdf/1",
        "http://127.0.0.1:8000/pdf/2401.00001",
    ):
        assert not source.pdf_url_allowed(bad), bad


@pytest.mark.integration
def test_a_bad_query_is_refused_not_retried(standin, isolated_home):
    from agentrxiv.lab.sources import SourceRefused

    source = ArxivSource(arxiv_config(standin.url, arxiv_max_retries=3))
    with pytest.raises(SourceRefused, match="HTTP 400"):
        source.search('ti:"unclosed', 3)
    assert source.requests_made == 1  # a 4xx is the query's fault: no retry
