"""Two web nodes and two mail workers on one PostgreSQL database, one Redis and one bucket.

Production runs the portal on several machines behind a load balancer. This test starts that
for real on loopback: two gunicorn servers (`portal:create_app()` in the production
configuration, with the same secret key), two `flask mail worker` processes, all on the run's
PostgreSQL database, counting rate limits in Redis and keeping files in an S3-compatible bucket
(moto's server). Emails go to an SMTP server on loopback (aiosmtpd) in this process.

People speak to both nodes over HTTP, each one through a client of their own whose cookies go
to either node (a session opened on one node is valid on the other), and the test checks what
two nodes could get wrong:

- two writers claim the same order at the same moment, one on each node: exactly one owns it;
- a file the writer uploads on node B is downloaded by the client on node A, and only by the
  people the access check lets through;
- every email of the outbox (the order's, and a burst queued beside it so that both workers
  are busy at once) reaches the relay exactly once: no Message-ID twice, none missing;
- the limit on failed logins counts the attempts made on both nodes together.

It needs PostgreSQL (TEST_DATABASE_URL=postgresql://…) and Redis on 127.0.0.1:6379 and is
skipped, with the reason, without them; PORTAL_REQUIRE_REDIS=1 (set by .ci/run) turns a
missing Redis into a failure. Every wait polls with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.messaging.models import MessageAttachment
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.notifications.outbox import queue_email
from portal.orders.models import Order, OrderEvent, OrderStatus
from tests.conftest import CSRF_RE, Mailbox, free_port
from tests.factories import Factory, deliverable
from tests.http.orders_helpers import PDF_BYTES, OrderWorld

REDIS_URL = "redis://127.0.0.1:6379/0"
REGION = "us-east-1"
BURST = 120  # emails queued at once beside the story, for both workers to share
RACES = 3  # orders two writers claim at the same moment, one on each node


def _redis_reachable() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def services(database_url):
    """Skip (or, for Redis under PORTAL_REQUIRE_REDIS=1, fail) when a shared service is missing."""
    if not database_url.startswith("postgresql"):
        pytest.skip("two nodes share a database server: needs PostgreSQL "
                    "(TEST_DATABASE_URL=postgresql://…); SQLite is one process's file")
    if not _redis_reachable():
        reason = "no Redis on 127.0.0.1:6379: two nodes cannot share their rate limits"
        if os.environ.get("PORTAL_REQUIRE_REDIS") == "1":
            pytest.fail(f"PORTAL_REQUIRE_REDIS=1 but {reason}")
        pytest.skip(reason)


class Relay(Mailbox):
    """The SMTP relay: keeps every email, each after a short pause (a real relay takes a
    moment), so that a pass of one worker lasts long enough for the other to claim too."""

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        await asyncio.sleep(0.005)
        return answer

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(str(m["Message-ID"]).strip() for m in self.messages)


@dataclass
class Node:
    name: str
    url: str


class Person:
    """One person's HTTP client, used against either node. Production marks its cookies Secure;
    this client sends them over loopback HTTP all the same, as the TLS proxy in front of the
    nodes would. Redirects are not followed: where they point is what the tests read."""

    def __init__(self, user) -> None:
        import requests

        self.user = user
        self.http = requests.Session()

    def _send(self, method: str, node: Node, path: str, **kwargs):
        response = self.http.request(method, node.url + path, allow_redirects=False,
                                     timeout=30, **kwargs)
        for cookie in self.http.cookies:
            cookie.secure = False
        return response

    def get(self, node: Node, path: str):
        return self._send("GET", node, path)

    def csrf_token(self, node: Node, path: str = "/login") -> str:
        found = CSRF_RE.search(self.get(node, path).text)
        assert found, f"no CSRF token on {node.name} {path}"
        return found.group(1)

    def post(self, node: Node, path: str, data: dict | None = None, *, files=None,
             token_from: str | None = None):
        payload = {"csrf_token": self.csrf_token(node, token_from or "/home"), **(data or {})}
        return self._send("POST", node, path, data=payload, files=files)

    def login(self, node: Node, password: str = Factory.PASSWORD):
        return self.post(node, "/login", {"email": self.user.email, "password": password},
                         token_from="/login")

    def log_in(self, node: Node) -> Person:
        response = self.login(node)
        assert response.status_code == 302, response.text[:2000]
        return self


def where(response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:2000])
    return response.headers["Location"]


@pytest.fixture
def cluster(app, services, database_url, s3_endpoint, processes, tmp_path):
    """Two gunicorn nodes and two mail workers in the production configuration; the relay;
    the bucket; a Redis key prefix of the test's own (its keys removed at the end)."""
    import boto3
    import redis

    relay = Relay(app)
    relay.start()
    bucket = f"portal-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    prefix = f"portal-nodes-{uuid.uuid4().hex[:8]}"
    ports = [free_port(), free_port()]
    instance = tmp_path / "instance"
    shared = {
        **os.environ,
        "PORTAL_ENV": "production",
        "SECRET_KEY": f"two-nodes-{uuid.uuid4().hex}",  # the same on both: one session
        "DATABASE_URL": database_url,
        "BASE_URL": f"http://127.0.0.1:{ports[0]}",
        "TRUSTED_HOSTS": "127.0.0.1",
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "STORAGE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": REGION,
        "PORTAL_INSTANCE_DIR": str(instance),
        "UPLOAD_DIR": str(instance / "uploads"),  # must stay empty: files go to the bucket
        "EMAIL_ALLOW_TEST_DOMAINS": "1",  # the factory's people live at example.test
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(relay.port),
        "MAIL_WORKER_INTERVAL": "0.1",
        "MAIL_BATCH_SIZE": "10",  # small passes, so both workers take their share
        "MAIL_GROUP_SIZE": "5",
        "BACKUP_DAILY": "0",
    }
    for name in ("PROMETHEUS_MULTIPROC_DIR", "PROXY_HOPS", "RATELIMIT_ENABLED"):
        shared.pop(name, None)
    nodes = [Node(name, f"http://127.0.0.1:{port}") for name, port in zip("AB", ports,
                                                                           strict=True)]
    web = [
        processes.start(f"node-{node.name}", [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
            "--workers", "1", "--worker-class", "gthread", "--threads", "4",
            "--timeout", "60", "--graceful-timeout", "2", "--log-level", "warning",
            "portal:create_app()"], shared)
        for node, port in zip(nodes, ports, strict=True)
    ]
    workers = [processes.flask(f"worker-{n}", "mail", "worker", env=shared) for n in (1, 2)]

    def answers(node: Node) -> bool:
        import requests

        try:
            return requests.get(node.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        processes.wait_for(lambda: all(answers(node) for node in nodes), "both nodes to answer")
        processes.wait_for(
            lambda: all("mail worker: sending to" in processes.log(f"worker-{n}")
                        for n in (1, 2)), "both mail workers to start")
        yield SimpleNamespace(a=nodes[0], b=nodes[1], relay=relay, s3=s3, bucket=bucket,
                              prefix=prefix, instance=instance, workers=workers, web=web,
                              processes=processes)
    finally:
        processes.stop_all()  # before the database is emptied for the next test
        relay.stop()
        store = redis.Redis.from_url(REDIS_URL)
        keys = list(store.scan_iter(match=f"*{prefix}*"))
        if keys:
            store.delete(*keys)


def queue_burst(app, count: int) -> list[int]:
    with app.app_context():
        ids = [
            queue_email(kind="reset_password", key=f"burst:{n}", to=f"reader{n}@example.test",
                        subject="Reset your password", locale="en",
                        user=SimpleNamespace(display_name=f"Reader {n}"),
                        link="http://127.0.0.1:5000/password/reset/some-token", minutes=60).id
            for n in range(count)
        ]
        db.session.commit()
        db.session.remove()
    return ids


def outbox_rows(app) -> list[OutboxEmail]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def test_an_order_lives_across_two_nodes_with_one_owner_one_email_each_and_shared_limits(
    app, factory, cluster
):
    a, b = cluster.a, cluster.b
    world = OrderWorld(app, factory)
    client = Person(factory.user("client", locale="en", name="Ama Mensah"))
    writers = [Person(world.writer(name=f"Writer {n}")) for n in (1, 2)]
    stranger = Person(factory.user("client", locale="en"))
    burst = queue_burst(app, BURST)  # the workers start on it at once

    # The client logs in on A and orders on both nodes: one session for the two.
    client.log_in(a)
    orders = []
    for n in range(RACES):
        node = (a, b)[n % 2]
        response = client.post(node, "/orders/new", world.form(
            title=f"Sorties à Lomé, partie {n + 1}", save_draft=None,
            save_submit="Save and submit"), token_from="/orders/new")
        found = re.fullmatch(r"/orders/(\d+)", where(response))
        assert found, response.headers["Location"]
        orders.append(int(found.group(1)))
    assert world.get(orders[0]).status is OrderStatus.OPEN

    # Two writers, one on each node, claim each order at the same moment: one owner.
    writers[0].log_in(a)
    writers[1].log_in(b)
    for order_id in orders:
        tokens = [writers[0].csrf_token(a, "/work/pool"), writers[1].csrf_token(b, "/work/pool")]
        start = threading.Barrier(2, timeout=30)
        answers: dict[int, str] = {}

        def claim(n: int, node: Node, order_id=order_id, tokens=tokens, start=start,
                  answers=answers) -> None:
            start.wait()
            answers[n] = where(writers[n]._send(
                "POST", node, f"/work/orders/{order_id}/claim",
                data={"csrf_token": tokens[n]}))

        threads = [threading.Thread(target=claim, args=(n, node))
                   for n, node in enumerate((a, b))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(answers.values()) == sorted([f"/work/orders/{order_id}", "/work/pool"])
        winner = next(n for n, path in answers.items() if path.endswith(str(order_id)))
        with app.app_context():
            order = db.session.get(Order, order_id)
            assert order.status is OrderStatus.IN_PROGRESS
            assert order.writer_id == writers[winner].user.id
            claims = db.session.scalar(sa.select(sa.func.count(OrderEvent.id)).where(
                OrderEvent.order_id == order_id, OrderEvent.action == "claim"))
            assert claims == 1
            db.session.remove()

    # The first order's writer works on node B: a file with a message, then the text.
    order_id = orders[0]
    owner_n = next(n for n, w in enumerate(writers) if w.user.id == world.get(order_id).writer_id)
    owner, other = writers[owner_n], writers[1 - owner_n]
    response = owner.post(b, f"/orders/{order_id}/messages",
                          {"body": "Voici le plan en PDF."},
                          files=[("files", ("plan été.pdf", PDF_BYTES, "application/pdf"))],
                          token_from=f"/orders/{order_id}")
    assert where(response).startswith(f"/orders/{order_id}#message-"), response.text[:2000]
    with app.app_context():
        file = db.session.scalar(sa.select(MessageAttachment).order_by(MessageAttachment.id))
        file_path = f"/orders/{order_id}/messages/{file.message_id}/files/{file.id}"
        stored_name = file.stored_name
        text = deliverable(db.session.get(Order, order_id), "## Sorties à Lomé\n\nLa plage.")
        db.session.remove()
    listed = cluster.s3.list_objects_v2(Bucket=cluster.bucket).get("Contents", [])
    assert [item["Key"] for item in listed] == [stored_name]
    assert not (cluster.instance / "uploads").exists(), "a node wrote a file to its own disk"

    workspace = owner.get(b, f"/work/orders/{order_id}").text
    version = re.search(r'name="base_version"[^>]*value="(\d+)"', workspace)
    assert version, "no base_version on the workspace"
    response = owner.post(b, f"/work/orders/{order_id}/deliver",
                          {"text": text, "base_version": version.group(1),
                           "note": "Première version."}, token_from=f"/work/orders/{order_id}")
    assert where(response) == f"/work/orders/{order_id}", response.text[:2000]
    assert world.get(order_id).status is OrderStatus.DELIVERED

    # On node A the client downloads the file uploaded on B; nobody else gets it, on either node.
    download = client.get(a, file_path)
    assert download.status_code == 200 and download.content == PDF_BYTES
    stranger.log_in(b)
    for person, node in ((stranger, a), (stranger, b), (other, a), (other, b)):
        assert person.get(node, file_path).status_code == 404, (person.user.email, node.name)

    response = client.post(b, f"/orders/{order_id}/approve",
                           {"rating": "5", "comment": "Parfait."},
                           token_from=f"/orders/{order_id}")
    assert where(response).startswith(f"/orders/{order_id}")
    assert world.get(order_id).status is OrderStatus.APPROVED

    # Every email of the outbox, the story's and the burst's, reaches the relay exactly once.
    def all_sent() -> bool:
        rows = outbox_rows(app)
        return all(row.status is OutboxStatus.SENT for row in rows) and \
            sum(cluster.relay.message_ids().values()) >= len(rows)

    cluster.processes.wait_for(all_sent, "every email of the outbox to be sent")
    rows = outbox_rows(app)
    story = [row for row in rows if row.id not in set(burst)]
    assert {row.recipient for row in story} >= {client.user.email, owner.user.email}, \
        [(row.kind, row.recipient) for row in story]
    received = cluster.relay.message_ids()
    twice = {message_id: n for message_id, n in received.items() if n > 1}
    assert not twice, f"sent more than once: {twice}"
    assert set(received) == {row.message_id for row in rows}
    # Both workers took part: the burst was not one worker's alone.
    for n in (1, 2):
        assert "mail worker: sent" in cluster.processes.log(f"worker-{n}"), \
            cluster.processes.logs()

    # Failed logins on one account from one address are counted on both nodes together: five
    # are allowed (three on A, two on B), the sixth is refused wherever it lands. Counted per
    # node, B would have seen only three.
    victim = Person(factory.user("client", locale="en"))
    answers = [victim.login((a, b)[n % 2], password="not the password").status_code
               for n in range(6)]
    assert answers == [200] * 5 + [429], answers
    import redis

    assert any(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{cluster.prefix}*")), \
        "no rate-limit counter in Redis"
