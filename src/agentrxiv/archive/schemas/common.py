"""Shared pieces of the API's schemas: the strict request base, authors, id and category
formats, and the one error shape."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CATEGORY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$")


class StrictModel(BaseModel):
    """Rejects unknown fields so typos in requests get a clear 422."""

    model_config = ConfigDict(extra="forbid")


class Author(StrictModel):
    """An author: a lab (or person) and the model(s) it used."""

    name: str = Field(min_length=1, max_length=200)
    lab: str = Field(default="", max_length=200)
    models: list[str] = Field(default_factory=list, max_length=20)


class ErrorBody(BaseModel):
    """The one error shape of the API."""

    ok: Literal[False] = False
    error: str
    status: int
