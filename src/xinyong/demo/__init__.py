"""The deterministic demo city (德州市): subjects, departments, department files, loading.

Public entry points: `write_penalty_csv` (fast national-format penalty CSV for benchmarks),
`xinyong.demo.files.write_files` (every department's files plus manifest.json) and
`xinyong.demo.cli.run_demo` (the `xinyong demo` command).
"""

from xinyong.demo.fast import write_penalty_csv

__all__ = ["write_penalty_csv"]
