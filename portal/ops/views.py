from __future__ import annotations

from flask import Blueprint, abort, jsonify

from portal import security_log
from portal.ops import metrics
from portal.ops.health import readiness

bp = Blueprint("ops", __name__)


@bp.get("/readyz")
def ready():
    checks = readiness()
    ready = all(check.ok for check in checks)
    body = {"ready": ready,
            "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
            "failed": [check.name for check in checks if not check.ok]}
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics", endpoint="metrics")
def metrics_page():
    if not metrics.scraper_allowed():
        security_log.access_refused("metrics")
        abort(404)
    return metrics.exposition()
