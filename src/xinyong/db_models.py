"""Imports every table so that Base.metadata is complete (Alembic, tests, `xinyong init`)."""

from xinyong.accounts import models as accounts_models
from xinyong.core import audit as core_audit
from xinyong.ingest import models as ingest_models
from xinyong.records import models as records_models
from xinyong.subjects import models as subjects_models

ALL = [core_audit, accounts_models, subjects_models, records_models, ingest_models]

# Domains added by later work register their models below, in dependency order.
for _name in (
    "xinyong.search.models",
    "xinyong.lists.models",
    "xinyong.joint.models",
    "xinyong.checks.models",
    "xinyong.reports.models",
    "xinyong.objections.models",
    "xinyong.repair.models",
    "xinyong.commitments.models",
    "xinyong.complaints.models",
):
    try:
        ALL.append(__import__(_name, fromlist=["*"]))
    except ModuleNotFoundError as exc:  # a domain not built yet
        if not (exc.name and _name.startswith(exc.name)):
            raise
