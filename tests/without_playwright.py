"""A pytest plugin that makes Playwright (and axe-playwright-python) impossible to import, as in
an environment without them: `python -m pytest -p tests.without_playwright …`.

tests/unit/test_collection.py runs the suite's collection and a browser test under it."""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder

MISSING = ("playwright", "axe_playwright_python")


class NotInstalled(MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


sys.meta_path.insert(0, NotInstalled())
