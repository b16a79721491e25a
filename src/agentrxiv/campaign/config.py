"""The campaign configuration: a YAML file validated into ``CampaignConfig``.

Every problem is reported at once with its key path (``labs.1.overrides.model: ...``),
including problems of the lab template, which is checked by building each lab's
``LabConfig`` before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentrxiv.errors import ConfigError
from agentrxiv.files import read_yaml_config

AccessMode = Literal["shared", "own", "none"]
LAB_NAME = r"^[A-Za-z0-9_\-]{1,40}$"
# Keys of the lab template that the campaign sets for each lab-paper run itself
# (``after_publish`` from its ``verify*`` keys).
CAMPAIGN_SET_KEYS = frozenset(
    {
        "topic",
        "lab_name",
        "output_dir",
        "server",
        "token",
        "campaign_id",
        "archive_access",
        "after_publish",
    }
)


SWITCH_KEYS = {"use_insights": "insights", "novelty_check": "novelty"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabSpec(_Strict):
    """One lab of the campaign, with keys that override the lab template for it."""

    name: str = Field(pattern=LAB_NAME)
    overrides: dict[str, Any] = Field(default_factory=dict)


class CampaignBudget(_Strict):
    """Campaign-wide limits on top of each lab's own; ``None`` means unlimited."""

    max_tokens: int | None = Field(default=None, gt=0)
    max_usd: float | None = Field(default=None, gt=0)
    max_seconds: float | None = Field(default=None, gt=0)


class CampaignConfig(_Strict):
    """A campaign: topic, benchmark, lab template, labs, papers, access mode, execution."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$", description="Also the directory name.")
    topic: str = Field(min_length=3)
    benchmark: str = Field(default="math500", min_length=1)
    labs: int | list[LabSpec] = Field(default=2, description="A count, or named labs.")
    papers: int = Field(default=1, ge=1, le=1000, description="Papers per lab.")
    mode: AccessMode = "shared"
    concurrency: int = Field(default=1, ge=1, le=256)
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = Field(default=None, description="Ray cluster; None = local.")
    ray_num_cpus: float = Field(default=1.0, gt=0, description="CPUs each Ray task reserves.")
    checkpoint_store: str | None = Field(
        default=None,
        description="Ray: lab checkpoints (path or fsspec URI); None = <campaign dir>/checkpoints.",
    )
    max_retries: int = Field(
        default=3, ge=0, le=100, description="Restarts of a run killed or lost with its node."
    )
    server_patience_s: float = Field(
        default=60.0, ge=0, description="How long the server may stay unreachable."
    )
    server: str | None = None
    token: str | None = Field(default=None, description="Admin or campaign-owner token.")
    output_dir: Path = Path("campaigns")
    lab: dict[str, Any] = Field(default_factory=dict, description="Lab template (lab run keys).")
    insights: bool | None = Field(default=None, description="Sets the labs' use_insights.")
    novelty: bool | None = Field(default=None, description="Sets the labs' novelty_check.")
    verify: bool = Field(default=True, description="Verify each paper on the test split.")
    verify_model: str | None = Field(default=None, description="Default: the target model.")
    verify_limit: int | None = Field(default=None, ge=1)
    archive_verifier_wait_s: float = Field(
        default=1800.0,
        ge=0,
        le=86_400,
        description="When the archive's verifier service is running, each lab waits this "
        "long for its verification instead of using the campaign's verifier lab (0: never).",
    )
    budget: CampaignBudget = Field(default_factory=CampaignBudget)
    worker_setup: str | None = Field(
        default=None, description="module:function each lab process calls first (tests)."
    )
    server_retries: int = Field(default=5, ge=0, le=50)

    @field_validator("labs")
    @classmethod
    def _some_labs(cls, value: int | list[LabSpec]) -> int | list[LabSpec]:
        count = value if isinstance(value, int) else len(value)
        if not 1 <= count <= 256:
            raise ValueError(f"a campaign needs 1 to 256 labs, got {count}")
        return value

    def lab_specs(self) -> list[LabSpec]:
        """The labs, named ``lab-1 .. lab-L`` when given as a count."""
        if isinstance(self.labs, int):
            return [LabSpec(name=f"lab-{i}") for i in range(1, self.labs + 1)]
        return list(self.labs)

    def lab_data(self, spec: LabSpec) -> dict[str, Any]:
        """The lab template merged with the lab's overrides and the campaign switches."""
        data = {"benchmark": self.benchmark, **self.lab, **spec.overrides}
        if self.insights is not None:
            data["use_insights"] = self.insights
        if self.novelty is not None:
            data["novelty_check"] = self.novelty
        data["topic"] = self.topic
        data["lab_name"] = spec.name
        data["archive_access"] = self.mode
        return data


def _where(loc: tuple[Any, ...], prefix: str = "") -> str:
    path = ".".join(str(part) for part in loc)
    return f"{prefix}{path}" if path else (prefix.rstrip(".") or "config")


def _lab_problems(config: CampaignConfig, raw: dict[str, Any]) -> list[str]:
    from agentrxiv.lab.config import LabConfig

    problems: list[str] = []
    for key in sorted(CAMPAIGN_SET_KEYS & set(config.lab)):
        problems.append(f"lab.{key}: set by the campaign for each lab; remove it")
    seen: set[str] = set()
    for index, spec in enumerate(config.lab_specs()):
        if spec.name in seen:
            problems.append(f"labs.{index}.name: duplicate lab name {spec.name!r}")
        seen.add(spec.name)
        prefix = f"labs.{index}.overrides." if not isinstance(raw.get("labs"), int) else "lab."
        try:
            LabConfig.model_validate(config.lab_data(spec))
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                where = prefix if key in spec.overrides else "lab."
                if key in SWITCH_KEYS and key not in config.lab:
                    problems.append(
                        f"{SWITCH_KEYS[key]}: the lab has no {key!r} key ({err['msg']})"
                    )
                    continue
                problems.append(f"{_where(tuple(err['loc']), where)}: {err['msg']}")
    return list(dict.fromkeys(problems))


def _template_problems(raw: dict[str, Any]) -> list[str]:
    """The lab template's problems when the campaign keys themselves did not validate."""
    from agentrxiv.lab.config import LabConfig

    template = raw.get("lab")
    if not isinstance(template, dict):
        return []
    data = {**template, "topic": "campaign topic", "lab_name": "lab-1"}
    problems = [
        f"lab.{k}: set by the campaign for each lab; remove it"
        for k in sorted(CAMPAIGN_SET_KEYS & set(template))
    ]
    try:
        LabConfig.model_validate(data)
    except ValidationError as exc:
        problems += [
            f"{_where(tuple(e['loc']), 'lab.')}: {e['msg']}"
            for e in exc.errors()
            if e["loc"] and e["loc"][0] not in CAMPAIGN_SET_KEYS
        ]
    return problems


def validate_campaign(data: object, source: str = "campaign config") -> CampaignConfig:
    """Validate a mapping; raise one ``ConfigError`` listing every problem with its path."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of keys, got {type(data).__name__}")
    problems: list[str] = []
    config: CampaignConfig | None = None
    try:
        config = CampaignConfig.model_validate(data)
    except ValidationError as exc:
        problems += [f"{_where(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
    if config is None:
        problems += _template_problems(data)
    else:
        problems += _lab_problems(config, data)
        if config.executor == "local" and config.ray_address:
            problems.append("ray_address: only used with executor: ray")
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(f"{source}: {len(problems)} problem(s):\n{listing}")
    assert config is not None
    return config


def load_campaign_config(path: Path, overrides: dict[str, Any] | None = None) -> CampaignConfig:
    """Read a campaign YAML, apply command-line overrides, validate everything at once.
    Relative paths (``output_dir``, the template's ``data``) are relative to the file."""
    data = read_yaml_config(path, "campaign config")
    if isinstance(data, dict):
        data = {**data, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    config = validate_campaign(data, str(path))
    base = path.resolve().parent
    updates: dict[str, Any] = {}
    if not config.output_dir.is_absolute():
        updates["output_dir"] = base / config.output_dir
    lab = dict(config.lab)
    if isinstance(lab.get("data"), str) and not Path(lab["data"]).is_absolute():
        lab["data"] = str(base / lab["data"])
        updates["lab"] = lab
    return config.model_copy(update=updates)


def example_config(benchmark: str = "math500") -> str:
    """The documented example campaign config for ``benchmark`` (math500 or arith)."""
    from importlib import resources

    if benchmark not in ("math500", "arith"):
        raise ConfigError(f"no example for benchmark {benchmark!r} (choose math500 or arith)")
    text = resources.files("agentrxiv.campaign").joinpath("example_campaign.yaml").read_text()
    if benchmark == "arith":
        text = text.replace("benchmark: math500", "benchmark: arith").replace(
            "name: math500-shared", "name: arith-shared"
        )
    return text
