"""The embedded SmolLM2-135M model completes the plan's structured choice of technique options
(real model, grammar-constrained decoding, no scripted replies)."""

from __future__ import annotations

import pytest

from agentrxiv.lab import accumulate
from agentrxiv.lab.actions import Plan
from agentrxiv.lab.config import parse_config
from agentrxiv.lab.loop import build_runtime
from agentrxiv.lab.technique_space import TechniqueOptions

pytestmark = [pytest.mark.model, pytest.mark.slow]
PLANS = [
    Plan(
        title="Worked examples for arithmetic",
        hypothesis="Showing worked examples improves accuracy on arithmetic.",
        technique_name="few-shot",
        technique_instruction="Compute the result exactly.",
        evaluation="accuracy against zero-shot on dev",
    ),
    Plan(
        title="Voting over sampled answers",
        hypothesis="Majority voting over several samples helps.",
        technique_name="vote",
        technique_instruction="Solve it carefully.",
        samples=3,
        evaluation="accuracy against zero-shot on dev",
    ),
]


@pytest.mark.parametrize("plan", PLANS, ids=["few-shot", "vote"])
def test_smollm2_completes_the_technique_choice(tmp_path, plan):
    config = parse_config(
        {
            "topic": "prompting techniques for small models on arithmetic",
            "lab_name": "choice",
            "output_dir": str(tmp_path),
            "model": "local/smollm2",
            "target_model": "local/smollm2",
            "benchmark": "arith",
            "archive_access": "none",
            "latex": False,
        }
    )
    rt = build_runtime(config, resume=False, archive=None, archive_url="", cache=False)
    rt.state.plan = plan
    record = accumulate.choose_technique(rt, rt.agent("phd", "plan"), plan.model_dump_json())
    # The model's own JSON was accepted (not the no-reply fallback) and gives valid options.
    assert record.source == "model", record.error
    options = TechniqueOptions.model_validate(record.options)
    assert options.model_dump() == record.options
    assert len(record.fell_back) < len(TechniqueOptions.model_fields)
