"""Every command an agent can give, as a Pydantic model; one discriminated union per phase.

Agents answer with JSON validated against these models (``ChatModel.structured``), so a
malformed command is caught, fed back to the model and retried a bounded number of times,
never regex-parsed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from agentrxiv.archive.schemas import ReviewForm
from agentrxiv.llm.local import grammar_safe_schema

SectionName = Literal[
    "abstract",
    "introduction",
    "background",
    "related_work",
    "methods",
    "experimental_setup",
    "results",
    "discussion",
]
SECTIONS: tuple[str, ...] = get_args(SectionName)


class Command(BaseModel):
    """Base of all commands: unknown keys are ignored so chatty models still validate."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The JSON schema, without grammar-hostile length bounds (still validated)."""
        return grammar_safe_schema(super().model_json_schema(*args, **kwargs))


# --- literature review -------------------------------------------------------------------
# Archive ids (YYMM.NNNNN) and arXiv ids (new style, or old style like hep-th/9901001).
PAPER_ID = r"^(\d{4}\.\d{4,5}|[a-z][a-z\-]*(\.[A-Z]{2})?/\d{7})$"
Source = Literal["agentrxiv", "arxiv"]


class SearchArchive(Command):
    """Search a literature source: the AgentRxiv archive, arXiv, or both."""

    command: Literal["search"] = "search"
    query: str = Field(min_length=2, max_length=300)
    source: Literal["agentrxiv", "arxiv", "both"] = "agentrxiv"
    mode: Literal["keyword", "semantic", "hybrid"] = "hybrid"
    benchmark: str | None = Field(default=None, max_length=100)


class AggregateArchive(Command):
    """Ask the archive for an aggregate, e.g. the best result per benchmark."""

    command: Literal["aggregate"] = "aggregate"
    kind: Literal["best-per-benchmark", "papers-per-category"] = "best-per-benchmark"


class ReadSummary(Command):
    """Read a paper's title and abstract."""

    command: Literal["summary"] = "summary"
    paper_id: str = Field(pattern=PAPER_ID)
    source: Source = "agentrxiv"


class ReadPaper(Command):
    """Read a paper's full text (an arXiv paper's from its PDF)."""

    command: Literal["read"] = "read"
    paper_id: str = Field(pattern=PAPER_ID)
    source: Source = "agentrxiv"


class AddPaper(Command):
    """Add a paper to the review with notes on why it matters."""

    command: Literal["add"] = "add"
    paper_id: str = Field(pattern=PAPER_ID)
    source: Source = "agentrxiv"
    notes: str = Field(min_length=1, max_length=2_000)


class FinishReview(Command):
    """Stop the literature review."""

    command: Literal["finish"] = "finish"


LiteratureAction = Annotated[
    SearchArchive | AggregateArchive | ReadSummary | ReadPaper | AddPaper | FinishReview,
    Field(discriminator="command"),
]


class LiteratureCommand(Command):
    """One step of the literature review."""

    action: LiteratureAction


ReferenceAction = Annotated[
    SearchArchive | ReadSummary | AddPaper | FinishReview, Field(discriminator="command")
]


class ReferenceCommand(Command):
    """One reference step while writing the report: search, read a summary, add, finish."""

    action: ReferenceAction


# --- dialogues: plan and interpretation ----------------------------------------------------
class DialogueTurn(Command):
    """A message to the other agent in a dialogue."""

    message: str = Field(min_length=1, max_length=4_000)


class Plan(Command):
    """The research plan: one experiment, the technique and how it is evaluated."""

    title: str = Field(min_length=3, max_length=200)
    hypothesis: str = Field(min_length=3, max_length=2_000)
    technique_name: str = Field(min_length=2, max_length=80)
    technique_instruction: str = Field(
        min_length=3,
        max_length=2_000,
        description="Instruction given to the target model before each problem.",
    )
    samples: int = Field(default=1, ge=1, le=8, description="Answers sampled and voted on.")
    evaluation: str = Field(min_length=3, max_length=1_000)


class Interpretation(Command):
    """What the measured numbers mean, against the baseline and the literature."""

    text: str = Field(min_length=3, max_length=4_000)


# --- data preparation and experiments -----------------------------------------------------
class SubmitCode(Command):
    """A complete Python program to run in the sandbox."""

    code: str = Field(min_length=1, max_length=50_000)


class ReplaceProgram(Command):
    """Replace the whole experiment program."""

    command: Literal["replace"] = "replace"
    code: str = Field(min_length=1, max_length=50_000)


class EditProgram(Command):
    """Replace lines ``start``..``end`` (1-based, inclusive) with ``lines``."""

    command: Literal["edit"] = "edit"
    start: int = Field(ge=1)
    end: int = Field(ge=1)
    lines: list[str] = Field(max_length=500)


ProgramChange = Annotated[ReplaceProgram | EditProgram, Field(discriminator="command")]


class ProgramCommand(Command):
    """A change to an experiment program."""

    change: ProgramChange


class Reflection(Command):
    """What the last solver step taught, for the next one."""

    text: str = Field(min_length=1, max_length=2_000)


class TieBreak(Command):
    """Which of two equally scoring programs to keep (0 or 1)."""

    choice: Literal[0, 1]
    reason: str = Field(default="", max_length=1_000)


# --- report and review --------------------------------------------------------------------
class WriteSection(Command):
    """The text of one paper section (Markdown, no numbers that no experiment produced)."""

    text: str = Field(min_length=1, max_length=8_000)


class EditSection(Command):
    """Rewrite one section of the paper."""

    section: SectionName
    text: str = Field(min_length=1, max_length=8_000)


class PaperTitle(Command):
    """The paper's title."""

    title: str = Field(min_length=3, max_length=200)


class LabReviewForm(Command):
    """The NeurIPS review form as a reviewer's command: scores first, so a reply cut off
    inside the free text still carries every score (see ``lab.salvage``)."""

    originality: int = Field(ge=1, le=4)
    quality: int = Field(ge=1, le=4)
    clarity: int = Field(ge=1, le=4)
    significance: int = Field(ge=1, le=4)
    soundness: int = Field(ge=1, le=4)
    presentation: int = Field(ge=1, le=4)
    contribution: int = Field(ge=1, le=4)
    overall: int = Field(ge=1, le=10)
    confidence: int = Field(ge=1, le=5)
    decision: Literal["Accept", "Reject"]
    ethical_concerns: bool = False
    summary: str = Field(default="", max_length=20_000)
    strengths: str = Field(default="", max_length=20_000)
    weaknesses: str = Field(default="", max_length=20_000)
    questions: str = Field(default="", max_length=20_000)
    limitations: str = Field(default="", max_length=20_000)

    def to_form(self) -> ReviewForm:
        """The archive's review form."""
        return ReviewForm.model_validate(self.model_dump())
