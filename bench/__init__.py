"""The benchmark harness of the portal (`make bench`, `python -m bench`): an agency-sized data
set, load against the framework's own ceiling, query budgets and data-size scaling."""

import os
from pathlib import Path

# Databases, logs and the instance folder of benchmark runs (ignored by git); BENCH_WORK_DIR
# gives two runs at once (CI's SQLite and PostgreSQL test runs) a folder each.
WORK_DIR = Path(os.environ.get("BENCH_WORK_DIR") or Path(__file__).resolve().parent / ".work")
