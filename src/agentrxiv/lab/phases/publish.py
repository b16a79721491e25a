"""Phase 8, publish: upload the paper with structured results (from result.json), lineage
(the papers the review added), the code artifact, then post the reviews."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from agentrxiv.archive.attachments import collect_attachments
from agentrxiv.archive.schemas import Author, PaperCreate, ResultIn, ReviewCreate
from agentrxiv.archive.technique import TECHNIQUE_FILE, extract_technique
from agentrxiv.bench.registry import parse_spec
from agentrxiv.lab.checkpoint import LabState
from agentrxiv.lab.phases.interpretation import best_result
from agentrxiv.lab.runtime import LabRuntime
from agentrxiv.lab.technique_space import without_driver

COMMENT = "Written by an AgentRxiv agent lab; every reported number was measured by the code."


def reset(state: LabState) -> None:
    """Nothing to undo: a published paper stays published."""


def artifact(state: LabState) -> str:
    """Where the paper was published."""
    return state.published_url or state.published_id or "Not published."


def build_paper(rt: LabRuntime) -> PaperCreate:
    """The submission: body, results from the result file, parents, code, optional PDF."""
    state, config = rt.state, rt.config
    result = best_result(state)
    exp = state.experiments
    best, seed = exp.best(), exp.tried[0]
    results = [
        ResultIn(**{k: result[k] for k in ("benchmark", "metric", "value", "n", "model", "split")})
    ]
    baseline = result.get("details", {}).get("baseline")
    if isinstance(baseline, dict) and "accuracy" in baseline:
        results.append(
            ResultIn(
                benchmark=result["benchmark"],
                metric="baseline_accuracy",
                value=baseline["accuracy"],
                n=baseline.get("n"),
                model=result["model"],
                split=result["split"],
            )
        )
    code = {
        "experiment.py": best.code,
        "seed_experiment.py": seed.code,
        "result.json": json.dumps(result, indent=2),
    }
    if state.data_prep:
        code["data_prep.py"] = state.data_prep.code
    technique = add_technique(code, without_driver(best.code), result, config.target_model)
    body = Path(state.report.paper_path).read_text(encoding="utf-8")
    pdf = None
    if state.report.pdf_path:
        pdf = base64.b64encode(Path(state.report.pdf_path).read_bytes()).decode()
    abstract = state.report.sections.get("abstract", "").strip() or (
        state.plan.hypothesis if state.plan else config.topic
    )
    models = sorted({config.model_for(p) for p in ("literature", "plan", "experiments", "report")})
    return PaperCreate(
        title=state.report.title[:500],
        abstract=abstract[:20_000],
        authors=[
            Author(
                name=f"{config.lab_name} agents",
                lab=config.lab_name,
                models=models + [config.target_model],
            )
        ],
        body=body,
        # The figures the body shows (figures/<name>.png next to paper.md) go with it.
        attachments=collect_attachments(body, Path(state.report.paper_path).parent, True),
        categories=[parse_spec(config.benchmark)[0], "agent-lab"],
        comment=_comment(config.unsafe_sandbox),
        parents=_parents(state),
        results=results,
        code_files=code,
        technique=technique,
        pdf_base64=pdf,
        campaign_id=config.campaign_id,
        builds_on_technique=state.builds_on.paper_id if state.builds_on else None,
        variants_tried=exp.variants_measured(),
        # Deterministic per lab run: a retry or a --resume after a lost response returns
        # the paper the server already created instead of publishing it twice.
        idempotency_key=f"lab-run:{config.lab_name}:{state.run_id}",
    )


def _parents(state: LabState) -> list[str]:
    """The archive papers the review added (arXiv references are not parents), and the
    paper whose technique the lab built on."""
    parents = state.literature.archive_ids()
    if state.builds_on and state.builds_on.paper_id not in parents:
        parents.append(state.builds_on.paper_id)
    return parents


def add_technique(
    code: dict[str, str], program: str, result: dict, target_model: str
) -> str | None:
    """Put the best program's technique (its ``solve`` and what it needs, without the
    experiment driver) into ``technique.py``; returns ``technique.py:solve`` (None if the
    program has no ``solve``, e.g. a checkpoint from before techniques were required)."""
    header = (
        "The technique this paper reports, extracted by the lab from experiment.py.\n\n"
        f"solve(problem, model) -> str; measured on benchmark {result.get('benchmark')!r}, "
        f"split {result.get('split')!r}, target model {target_model!r}."
    )
    try:
        code[TECHNIQUE_FILE] = extract_technique(program, header)
    except ValueError:
        return None
    return f"{TECHNIQUE_FILE}:solve"


def _comment(unsafe_sandbox: bool) -> str:
    """The paper's comment; it carries the unsafe-sandbox warning when that mode ran."""
    from agentrxiv.sandbox import UNSAFE_WARNING

    return f"{COMMENT} {UNSAFE_WARNING}." if unsafe_sandbox else COMMENT


def run(rt: LabRuntime) -> str:
    """Submit once (the id is checkpointed before reviews are posted), then post reviews."""
    state = rt.state
    if rt.archive is None:
        return f"no server: paper kept at {state.report.paper_path}"
    if not state.published_id:
        paper = rt.archive.submit(build_paper(rt))
        state.published_id = paper.id
        state.published_url = f"{rt.archive_url.rstrip('/')}/abs/{paper.id}"
        rt.checkpoint()
    final = state.review_rounds[-1] if state.review_rounds else None
    posted = 0
    if final is not None:
        for persona, form in final.reviews.items():
            if persona in state.posted_reviews:
                continue
            rt.archive.review(  # keyed: a resume after a lost response posts it once
                state.published_id,
                ReviewCreate(reviewer=f"{rt.config.lab_name}/{persona}", form=form),
                idempotency_key=f"review:{state.published_id}:{persona}",
            )
            state.posted_reviews.append(persona)
            posted += 1
            rt.checkpoint()
    return f"published {state.published_id} with {len(state.posted_reviews)} reviews"
