"""What the API accepts, stated in /openapi.json: patterns, formats and enums for the request schemas.

The services check these rules themselves, with Chinese reasons that say what to do (and what no pattern can
say: check digits, whether a subject exists). Stating a rule in the schema (``json_schema_extra``) rather than
enforcing it a second time in pydantic keeps those reasons: pydantic would answer first, with a generic one.
The API fuzzer (tests/api/test_schemathesis.py) holds the two together: requests the schema allows must not
be refused as invalid.

Custom formats (``uscc``, ``citizen-id``, ``uscc-or-citizen-id``) name the check-digit rules no JSON Schema
pattern can express; the pattern gives the shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated

from annotated_types import Ge, Le
from pydantic.config import JsonDict
from pydantic.json_schema import WithJsonSchema

# 统一社会信用代码 (GB 32100-2015): 18 characters from the code alphabet (no I, O, Z, S, V).
USCC_PATTERN = r"^[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{10}$"
# 公民身份号码 (GB 11643-1999): 17 digits and a check character, or the old 15 digits.
CITIZEN_ID_PATTERN = r"^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$"
USCC_OR_CITIZEN_ID_PATTERN = (
    r"^(?:[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXYa-hj-np-rtuwxy]{10}"
    r"|[0-9]{17}[0-9Xx]|[0-9]{15})$"
)
# Some visible character, and no control characters (a name, a code, a matter: one line).
VISIBLE_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
# Free text in a case (reasons, statements, notes): line breaks and tabs allowed, other control characters not.
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
_TEXT_CHAR = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_SEEN_CHAR = r"[^\s\x00-\x1f\x7f]"
# Free text whose stripped length is at least 2 (what the services ask of a reason): two visible characters.
REASON_PATTERN = f"^{_TEXT_CHAR}*{_SEEN_CHAR}{_TEXT_CHAR}*{_SEEN_CHAR}{_TEXT_CHAR}*$"
# Case numbers: 异议 YY / 修复 XF / 投诉举报 TS, the date, the serial (casework.case_number).
def case_no_pattern(prefix: str) -> str:
    return rf"^{prefix}[0-9]{{8}}[0-9]{{6,}}$"



COMMITMENT_NO_PATTERN = r"^CN[0-9]{8}[0-9]{6,}$"
MONTH_PATTERN = r"^(?:19|2[0-9])[0-9]{2}-(?:0[1-9]|1[0-2])$"  # 1900-01 … 2999-12

# Ids of rows in a request body (records, list entries: BigInteger keys). Enforced: an id past the column's
# range would reach the database driver and fail there.
MAX_BIG_ID = 2**63 - 1
BigIdIn = Annotated[int, Ge(1), Le(MAX_BIG_ID)]

Uscc = Annotated[str, WithJsonSchema({"type": "string", "minLength": 18, "maxLength": 18, "pattern": USCC_PATTERN,
                                      "format": "uscc"})]
CitizenId = Annotated[str, WithJsonSchema({"type": "string", "minLength": 15, "maxLength": 18,
                                           "pattern": CITIZEN_ID_PATTERN, "format": "citizen-id"})]
UsccOrCitizenId = Annotated[str, WithJsonSchema({"type": "string", "minLength": 15, "maxLength": 18,
                                                 "pattern": USCC_OR_CITIZEN_ID_PATTERN,
                                                 "format": "uscc-or-citizen-id"})]

BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"
HTTP_URL_PATTERN = (r"^[Hh][Tt][Tt][Pp][Ss]?://(?:[^\s/?#@\[\]]+|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?)"
                    r"(?:[/?#][^\s]*)?$")


def enum_from(values: Callable[[], Iterable[str]]) -> Callable[[JsonDict], None]:
    """A field's JSON Schema ``enum`` read from configuration when the document is built (list types, complaint
    categories, commitment templates are YAML, extended without code); the service refuses anything else."""

    def extra(schema: JsonDict) -> None:
        schema["enum"] = list(values())

    return extra
