"""The Ray executor on a local Ray instance (started once for the module) runs a two-lab
scripted campaign to the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.campaign.conftest import campaign_config

from agentrxiv.archive.client import ArchiveClient
from agentrxiv.campaign.config import load_campaign_config
from agentrxiv.campaign.orchestrator import Orchestrator

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    """A local Ray instance with two CPUs, no dashboard."""
    ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[ray]"')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_executor_runs_a_two_lab_campaign(
    ray_instance: Any, sqlite_server: Any, owner_token: str, tmp_path: Any
) -> None:
    file = campaign_config(
        tmp_path,
        sqlite_server,
        owner_token,
        name="ray",
        executor="ray",
        verify=False,
        ray_num_cpus=0.5,
    )
    state = Orchestrator(load_campaign_config(file)).run()
    assert state.status == "finished", state.stopped_reason
    records = state.records()
    assert len(records) == 2 and all(r.paper_id for r in records)
    with ArchiveClient(sqlite_server.url) as client:
        papers = client.list(campaign=state.campaign_id).items
    assert {p.id for p in papers} == {r.paper_id for r in records}
