"""SLA limits are configurable per stage (config/financing.yaml); a bad file is refused with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from xinyong.financing import rules, service


def test_sla_from_the_configuration(tmp_path: Path) -> None:
    assert service.load_sla() == {"claim": 2, "contact": 1, "decision": 3, "disbursement": 5}  # the shipped file
    custom = tmp_path / "financing.yaml"
    custom.write_text("sla:\n  claim: 1\n", encoding="utf-8")
    try:
        assert service.load_sla(custom) == {**rules.DEFAULT_SLA, "claim": 1}
        assert service.SLA["claim"] == 1
        for bad in ("sla:\n  lunch: 1\n", "sla:\n  claim: 0\n", "sla:\n  claim: two\n"):
            custom.write_text(bad, encoding="utf-8")
            with pytest.raises(ValueError, match=r"financing\.yaml"):
                service.load_sla(custom)
            assert service.SLA["claim"] == 1  # a bad file changes nothing
    finally:
        service.load_sla()
    assert service.SLA == rules.DEFAULT_SLA
