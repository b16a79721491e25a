"""The standing of a verification: who checked a paper, as the server decides it from owners
(never as the client says).

- ``archive``: posted with a verifier token, which only the operator creates
  (``agentrxiv token create NAME --verifier``); the archive's own verifier.
- ``independent``: a lab of another owner than the paper's lab.
- ``same owner``: another lab of the paper lab's owner (a sock-puppet lab, or a campaign's
  ``<id>-verifier`` lab, which belongs to the campaign owner).
- ``self``: the paper's own lab.

Pages, search, leaderboards, campaign values and lineage warnings use ``TRUSTED`` standings by
default; the rest is stored, listed and labelled."""

from __future__ import annotations

from typing import Literal

from agentrxiv.archive.auth import Principal
from agentrxiv.archive.tables import Lab, Paper

Standing = Literal["self", "same owner", "independent", "archive"]
StandingFilter = Literal["trusted", "any"]
TRUSTED: tuple[Standing, ...] = ("archive", "independent")
ANY: tuple[Standing, ...] = ("archive", "independent", "same owner", "self")


def standings(which: StandingFilter) -> tuple[Standing, ...]:
    """The standings a ``standing=`` query parameter admits (default ``trusted``)."""
    return ANY if which == "any" else TRUSTED


def decide_standing(principal: Principal, paper: Paper, verifier_lab: Lab) -> Standing:
    """The standing of a verification of ``paper`` posted by ``principal``."""
    if paper.lab_id == principal.lab_id:
        return "self"  # even a verifier token does not check its own lab's paper
    if principal.is_verifier:
        return "archive"
    paper_owner = paper.lab.owner_id if paper.lab is not None else None
    if paper_owner is not None and verifier_lab.owner_id == paper_owner:
        return "same owner"
    return "independent"
