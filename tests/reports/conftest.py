from __future__ import annotations

import sys
from pathlib import Path

# the data builders live with the check tests
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "checks"))
