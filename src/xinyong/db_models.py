"""Imports every table so that Base.metadata is complete (Alembic, tests, `xinyong init`)."""

from xinyong.accounts import models as accounts_models
from xinyong.cases import models as cases_models
from xinyong.checks import models as checks_models
from xinyong.commitments import models as commitments_models
from xinyong.complaints import models as complaints_models
from xinyong.core import audit as core_audit
from xinyong.evaluation import models as evaluation_models
from xinyong.exchange import models as exchange_models
from xinyong.exchange.sharing import models as sharing_models
from xinyong.financing import models as financing_models
from xinyong.ingest import models as ingest_models
from xinyong.joint import models as joint_models
from xinyong.lists import models as lists_models
from xinyong.objections import models as objections_models
from xinyong.records import models as records_models
from xinyong.repair import models as repair_models
from xinyong.reports import models as reports_models
from xinyong.search import models as search_models
from xinyong.stats import models as stats_models
from xinyong.stats import quality_models
from xinyong.subjects import models as subjects_models
from xinyong.supervision import models as supervision_models

ALL = [
    core_audit,
    accounts_models,
    subjects_models,
    records_models,
    ingest_models,
    search_models,
    lists_models,
    joint_models,
    checks_models,
    reports_models,
    exchange_models,
    cases_models,
    objections_models,
    repair_models,
    commitments_models,
    complaints_models,
    evaluation_models,
    quality_models,
    sharing_models,
    supervision_models,
    stats_models,
    financing_models,
]
