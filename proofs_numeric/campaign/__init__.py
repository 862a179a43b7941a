"""Claims and shards of their searches, checked through any executor.

From Python::

    from proofs_numeric.campaign import Campaign, open_executor

    campaign = Campaign(["L7", "D3"], profile="thorough", shards=4)
    with open_executor("process", workers=2) as executor:   # or "dask", "thread", ...
        outcome = campaign.run(executor)
    print(outcome.summary()); outcome.results               # ClaimResults, registry order

    # a Dask cluster: any concurrent.futures.Executor will do
    from distributed import Client
    with Client("tcp://scheduler:8786") as client:
        outcome = campaign.run(client.get_executor())

From the command line: ``python -m proofs_numeric.campaign --profile thorough --workers 2
--shards 4`` (``--help`` for the rest).

Modules: :mod:`~proofs_numeric.campaign.run` (:class:`Campaign`, :class:`CampaignResult`),
:mod:`~proofs_numeric.campaign.shard` (what a shard of a search is),
:mod:`~proofs_numeric.campaign.units` (the picklable work units and what runs them),
:mod:`~proofs_numeric.campaign.merge` (shards → one verdict),
:mod:`~proofs_numeric.campaign.executors` and :mod:`~proofs_numeric.campaign.wire` (claim
results as text, for pytest-xdist).
"""

from __future__ import annotations

from proofs_numeric.campaign.executors import (
    EXECUTOR_KINDS,
    InlineExecutor,
    dask_executor,
    open_executor,
    process_pool,
    warm_up,
)
from proofs_numeric.campaign.merge import NotShardable, merge_shards
from proofs_numeric.campaign.run import Campaign, CampaignResult, run_campaign
from proofs_numeric.campaign.shard import LedgerEntry, SearchShard
from proofs_numeric.campaign.units import UnitOutcome, WorkUnit, prepare_process, run_unit

__all__ = [
    "EXECUTOR_KINDS",
    "Campaign",
    "CampaignResult",
    "InlineExecutor",
    "LedgerEntry",
    "NotShardable",
    "SearchShard",
    "UnitOutcome",
    "WorkUnit",
    "dask_executor",
    "merge_shards",
    "open_executor",
    "prepare_process",
    "process_pool",
    "run_campaign",
    "run_unit",
    "warm_up",
]
