"""The lab's configuration: a YAML file validated into ``LabConfig`` with clear errors.

Every key of the issue is here with its default; ``load_config`` turns YAML and validation
problems into one-line ``ConfigError`` messages naming the key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agentrxiv.errors import ConfigError
from agentrxiv.files import read_yaml_config
from agentrxiv.lab.actions import SECTIONS, SectionName
from agentrxiv.sandbox import SandboxConfig

if TYPE_CHECKING:
    from agentrxiv.bench.registry import Benchmark

PhaseName = Literal[
    "literature",
    "plan",
    "data_prep",
    "experiments",
    "interpretation",
    "report",
    "review",
    "publish",
]
PHASES: tuple[PhaseName, ...] = get_args(PhaseName)
LiteratureSourceName = Literal["agentrxiv", "arxiv"]
ARXIV_EXPORT_API = "https://export.arxiv.org"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BudgetConfig(_Strict):
    """Limits for the whole lab run (across resumes); ``None`` means unlimited."""

    max_tokens: int | None = Field(default=None, gt=0)
    max_usd: float | None = Field(default=None, gt=0)
    max_seconds: float | None = Field(default=None, gt=0)


class PublishRule(_Strict):
    """When the lab publishes: the mean reviewer ``overall`` must reach the threshold."""

    min_mean_overall: float = Field(default=5.0, ge=1, le=10)
    max_rounds: int = Field(default=2, ge=1, le=10)
    after_last_round: Literal["publish", "stop"] = "publish"


class AfterPublish(_Strict):
    """Steps the lab runs once its paper is published (all off by default): held-out
    verification on the test split, then distilling the verified paper into insights."""

    verify: bool = Field(default=False, description="Verify the paper on the test split.")
    verify_model: str | None = Field(default=None, description="Default: the target model.")
    verify_limit: int | None = Field(default=None, ge=1, description="Test problems; all=None.")
    verify_token: str | None = Field(
        default=None, description="Token that posts the verification (default: the lab's)."
    )
    archive_verifier_wait_s: float = Field(
        default=0.0,
        ge=0,
        le=86_400,
        description="When the archive's verifier is running, wait this long for its "
        "verification instead of verifying (0: always verify here).",
    )
    distil_insights: bool = Field(
        default=False, description="With use_insights: distil the verified paper into insights."
    )

    def enabled(self) -> bool:
        """Whether any step is configured."""
        return self.verify or self.distil_insights


class LabConfig(_Strict):
    """One lab run: topic, models, bounds and where to write."""

    topic: str = Field(min_length=3, description="The research question the lab works on.")
    lab_name: str = Field(default="lab", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    output_dir: Path = Field(default=Path("lab_runs"), description="Parent of the lab directory.")
    language: str = Field(default="English", description="Language of the paper.")

    model: str = Field(default="local/smollm2", description="Default model for every agent.")
    phase_models: dict[PhaseName, str] = Field(default_factory=dict)
    target_model: str = Field(default="local/smollm2", description="Model under study.")
    base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint URL.")
    api_key_env: str | None = None

    task_notes: dict[PhaseName, list[str]] = Field(default_factory=dict)

    server: str | None = Field(default=None, description="AgentRxiv server URL.")
    token: str | None = Field(default=None, description="Write token (or AGENTRXIV_TOKEN).")
    papers_to_retrieve: int = Field(default=5, ge=1, le=50, description="Search results shown.")
    papers_to_review: int = Field(default=5, ge=0, le=50, description="Papers to add.")
    literature_steps: int = Field(default=8, ge=1, le=100)
    literature_sources: list[LiteratureSourceName] = Field(
        default_factory=lambda: ["agentrxiv"],
        description="Where the literature review searches: agentrxiv (the archive), arxiv.",
    )
    arxiv: bool = Field(default=False, description="Synonym of adding arxiv to the sources.")
    arxiv_base_url: str = Field(
        default=ARXIV_EXPORT_API,
        pattern=r"^https?://",
        description="arXiv-API endpoint (arXiv's export API, or an AgentRxiv server).",
    )
    arxiv_min_interval_s: float = Field(
        default=3.0, ge=0, le=600, description="At most one request per this many seconds."
    )
    arxiv_max_retries: int = Field(default=3, ge=0, le=10, description="Retries on errors.")
    arxiv_backoff_s: float = Field(
        default=3.0, ge=0, le=600, description="First retry delay; doubles each retry."
    )
    arxiv_timeout_s: float = Field(default=30.0, gt=0, le=600, description="Per request.")
    literature_cache_days: float = Field(
        default=7.0, ge=0, description="Keep cached arXiv answers this long; 0 = no cache."
    )
    full_text_chars: int = Field(
        default=6_000, ge=500, le=200_000, description="Full-text budget per read."
    )
    report_reference_steps: int = Field(
        default=0, ge=0, le=20, description="Reference searches while writing the report."
    )
    campaign_id: str | None = Field(default=None, description="Campaign the lab writes for.")
    archive_access: Literal["shared", "own", "none"] = Field(
        default="shared",
        description="shared: the campaign's papers; own: this lab's only; none: no search.",
    )
    archive_lab: str | None = Field(
        default=None, description="Server lab name for 'own' (default: lab_name)."
    )

    data: Path | None = Field(default=None, description="MATH-500 JSONL; default the sample.")
    problem_limit: int | None = Field(default=None, ge=1)
    benchmark: str = Field(
        default="math500", description="Registry name (math500, arith, ...); labs see dev only."
    )
    benchmark_options: dict[str, str | int] = Field(
        default_factory=dict, description="Benchmark settings, e.g. arith digits/operation."
    )
    seed_max_tokens: int = Field(default=256, ge=8, description="Target-model answer cap.")
    experiment_concurrency: int = Field(default=2, ge=1, le=64)
    target_cache: bool = Field(
        default=False,
        description="Answer the target model's deterministic requests (temperature 0 or "
        "seeded) from the response cache under $AGENTRXIV_HOME: re-measuring a technique on "
        "the same problems (the zero-shot baseline, an unchanged parent) costs no model time. "
        "Agent calls are never cached.",
    )

    dialogue_turns: int = Field(default=1, ge=0, le=10)
    data_prep_attempts: int = Field(default=2, ge=1, le=10)
    mle_solver_steps: int = Field(default=2, ge=0, le=50)
    mle_candidates: int = Field(default=2, ge=1, le=10)
    mle_max_repairs: int = Field(default=2, ge=0, le=10)
    mle_top_programs: int = Field(default=2, ge=1, le=10)
    paper_solver_steps: int = Field(default=2, ge=0, le=50)
    report_written_sections: list[SectionName] = Field(
        default_factory=lambda: list(SECTIONS),
        max_length=len(SECTIONS),
        description="Sections the PhD agent writes; code renders the others from the plan, "
        "the literature and the measurements.",
    )

    reviewers: list[str] = Field(
        default_factory=lambda: ["harsh_but_fair", "critical_impact", "open_minded"],
        min_length=1,
        max_length=5,
    )
    publish_rule: PublishRule = Field(default_factory=PublishRule)

    copilot: bool = False
    copilot_max_redos: int = Field(default=2, ge=0, le=10)
    latex: bool = Field(default=True, description="Compile LaTeX when a TeX engine exists.")

    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    unsafe_sandbox: bool = Field(
        default=False,
        description="Run generated code without the bwrap boundary (audit hook only).",
    )
    structured_retries: int = Field(default=2, ge=0, le=10)
    max_tokens: int = Field(default=512, ge=16, description="Completion cap per agent call.")
    temperature: float = Field(default=0.0, ge=0, le=2)
    memory_turns: int = Field(default=8, ge=2, le=200)
    memory_chars: int = Field(default=12_000, ge=500, description="Verbatim history bound.")
    use_insights: bool = Field(
        default=False, description="Retrieve archive insights for planning; distil them."
    )
    insights_to_retrieve: int = Field(default=5, ge=1, le=20, description="Insights shown.")
    novelty_check: bool = Field(
        default=False, description="Check the plan against the archive before experiments."
    )
    novelty_max_revisions: int = Field(default=2, ge=0, le=5)
    novelty_threshold: float | None = Field(
        default=None, ge=0, le=1, description="Plan similarity that counts as a near-duplicate."
    )
    after_publish: AfterPublish = Field(default_factory=AfterPublish)

    @model_validator(mode="after")
    def _arxiv_synonym(self) -> LabConfig:
        """``arxiv: true`` (the older key) means ``arxiv`` is a literature source."""
        sources = list(dict.fromkeys(self.literature_sources))
        if self.arxiv and "arxiv" not in sources:
            sources.append("arxiv")
        self.literature_sources = sources
        return self

    @field_validator("reviewers")
    @classmethod
    def _known_personas(cls, value: list[str]) -> list[str]:
        from agentrxiv.lab.agents import REVIEWER_PERSONAS

        for name in value:
            if name not in REVIEWER_PERSONAS:
                known = ", ".join(REVIEWER_PERSONAS)
                raise ValueError(f"unknown reviewer persona {name!r} (known: {known})")
        return value

    def archive_filters(self) -> dict[str, str] | None:
        """Archive search filters that enforce the campaign access mode on the server:
        the lab's campaign, and its own server lab under ``own``; ``None`` under ``none``
        (no archive access at all)."""
        if self.archive_access == "none":
            return None
        filters: dict[str, str] = {}
        if self.campaign_id:
            filters["campaign"] = self.campaign_id
        if self.archive_access == "own":
            filters["lab"] = self.archive_lab or self.lab_name
        return filters

    def model_for(self, phase: PhaseName) -> str:
        """The model spec an agent uses in ``phase``."""
        return self.phase_models.get(phase, self.model)

    def notes_for(self, phase: PhaseName) -> list[str]:
        """Task notes for ``phase``."""
        return list(self.task_notes.get(phase, []))

    @field_validator("benchmark")
    @classmethod
    def _known_benchmark(cls, value: str) -> str:
        from agentrxiv.bench.registry import benchmark_names, parse_spec

        name = parse_spec(value)[0]
        if name not in benchmark_names():
            raise ValueError(f"unknown benchmark {name!r} (known: {', '.join(benchmark_names())})")
        return value

    def bench(self) -> Benchmark:
        """The benchmark the lab works on (its experiments see only the dev split)."""
        from agentrxiv.bench.registry import get_benchmark

        return get_benchmark(self.benchmark, data=self.data, **self.benchmark_options)

    def split_name(self) -> str:
        """How the evaluated problems are named in results (file stem and limit)."""
        stem = self.data.stem if self.data else "math500_sample20"
        return f"{stem}[:{self.problem_limit}]" if self.problem_limit else stem

    @property
    def lab_dir(self) -> Path:
        """Where this lab writes its state, programs and paper."""
        return self.output_dir / self.lab_name

    def fingerprint(self) -> str:
        """A short hash of the settings that change results (resume refuses a mismatch)."""
        keep = self.model_dump(
            mode="json",
            include={"topic", "model", "target_model", "data", "benchmark", "benchmark_options"},
        )
        if keep["benchmark"] == "math500" and not keep["benchmark_options"]:
            keep.pop("benchmark"), keep.pop("benchmark_options")  # older checkpoints resume
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "config"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_config(data: object, source: str = "config") -> LabConfig:
    """Validate a mapping into ``LabConfig`` or raise a one-line ``ConfigError``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys, got {type(data).__name__}")
    try:
        return LabConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None


def load_config(path: Path) -> LabConfig:
    """Read a YAML lab config; relative paths in it are relative to the file."""
    config = parse_config(read_yaml_config(path, "lab config"), str(path))
    base = path.resolve().parent
    updates: dict[str, Path] = {}
    if not config.output_dir.is_absolute():
        updates["output_dir"] = base / config.output_dir
    if config.data is not None and not config.data.is_absolute():
        updates["data"] = base / config.data
    return config.model_copy(update=updates)
