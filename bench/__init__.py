"""The benchmark harness of the portal (`make bench`, `python -m bench`): an agency-sized data
set, load against the framework's own ceiling, query budgets and data-size scaling."""

from pathlib import Path

# Databases, logs and the instance folder of benchmark runs (ignored by git).
WORK_DIR = Path(__file__).resolve().parent / ".work"
