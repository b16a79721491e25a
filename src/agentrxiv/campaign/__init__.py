"""Research campaigns: many agent labs writing many papers on one topic over a shared
AgentRxiv server, with archive access modes, concurrency, budgets, resume, verification,
a live view and reports (``agentrxiv campaign ...``)."""

from agentrxiv.campaign.config import CampaignConfig, load_campaign_config

__all__ = ["CampaignConfig", "load_campaign_config"]
