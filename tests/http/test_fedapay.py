"""Online payment through FedaPay, against a local HTTP server (http.server on loopback) that
answers as FedaPay's documentation describes.

The documented shapes relied on (FedaPay API reference: "Create a transaction", "Get the payment
link for a transaction", "Get a transaction"; "Webhooks et Événements"; the official SDK
fedapay-node 1.2.5, Webhook.ts):

- POST /v1/transactions, `Authorization: Bearer <secret key>`, JSON body {description, amount
  (a whole number), currency: {iso: "XOF"}, callback_url, custom_metadata}; the answer is the
  transaction, here wrapped under "v1/transaction" as the SDKs receive it: {id, reference,
  amount, status: "pending", currency_id};
- POST /v1/transactions/{id}/token answers {token, url};
- GET /v1/transactions/{id} answers the transaction with its status ("approved", "declined"…),
  amount and currency_id;
- a webhook is a POST whose JSON body is the event {"name": "transaction.approved", "entity":
  {the transaction}}, signed in `X-FEDAPAY-SIGNATURE: t=<unix time>,s=<hex HMAC-SHA256 of
  "<t>.<raw body>" with the endpoint's secret>`; the SDK's tolerance is 300 seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from portal.billing import providers
from portal.billing.models import (
    EntryKind,
    Invoice,
    LedgerEntry,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Proforma,
)

SECRET_KEY = "sk_sandbox_portail_test"
WEBHOOK_SECRET = "wh_sandbox_portail_test"
TRANSACTION_ID = 4242


class FakeFedaPay:
    """The API as documented: transactions created, their payment link, read back."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = "pending"
        self.amount: int | None = None  # what the API says was paid (None: as asked)
        self.asked: int | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _answer(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                fake.requests.append({"method": self.command, "path": self.path, "body": body,
                                      "auth": self.headers.get("Authorization")})
                return body

            def _transaction(self) -> dict:
                return {"id": TRANSACTION_ID, "reference": "trx_Xa8_1701", "currency_id": 1,
                        "amount": fake.amount if fake.amount is not None else fake.asked,
                        "status": fake.status, "description": "Proforma"}

            def do_POST(self):
                body = self._record()
                if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
                    return self._answer(401, {"message": "Unauthenticated"})
                if self.path == "/v1/transactions":
                    fake.asked = body["amount"]
                    return self._answer(200, {"v1/transaction": self._transaction()})
                if self.path == f"/v1/transactions/{TRANSACTION_ID}/token":
                    return self._answer(200, {"token": "tok_98a7", "url":
                                              "https://sandbox-checkout.fedapay.test/tok_98a7"})
                return self._answer(404, {"message": "Not found"})

            def do_GET(self):
                self._record()
                if self.path == f"/v1/transactions/{TRANSACTION_ID}":
                    return self._answer(200, {"v1/transaction": self._transaction()})
                return self._answer(404, {"message": "Not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fedapay(app, monkeypatch):
    fake = FakeFedaPay()
    for name, value in {"FEDAPAY_SECRET_KEY": SECRET_KEY,
                        "FEDAPAY_WEBHOOK_SECRET": WEBHOOK_SECRET,
                        "FEDAPAY_API_URL": fake.url, "FEDAPAY_TIMEOUT": 5}.items():
        monkeypatch.setitem(app.config, name, value)
    yield fake
    fake.stop()


def signed(body: bytes, *, at: int | None = None, secret: str = WEBHOOK_SECRET) -> dict:
    stamp = at if at is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-FEDAPAY-SIGNATURE": f"t={stamp},s={digest}", "Content-Type": "application/json"}


def event(name: str = "transaction.approved") -> bytes:
    return json.dumps({"name": name, "object": "event",
                       "entity": {"id": TRANSACTION_ID, "status": name.split(".")[1]}}).encode()


@pytest.fixture
def paying(login_as, ctx, fedapay):
    """A prepaid client who asked for 25,000 and went to pay online."""
    buyer = login_as("client", billing="prepaid")
    response = buyer.submit("/billing/topup", {"amount": "25000"})
    proforma_path = response.headers["Location"]
    response = buyer.submit(proforma_path + "/checkout", page=proforma_path)
    buyer.checkout = response
    return buyer


def money(ctx):
    with ctx() as session:
        return {
            "topups": session.scalar(sa.select(sa.func.count(LedgerEntry.id))
                                     .where(LedgerEntry.kind == EntryKind.TOPUP)),
            "invoices": session.scalar(sa.select(sa.func.count(Invoice.id))),
            "payment": session.scalars(sa.select(Payment.status)).all(),
        }


def test_checkout_creates_the_transaction_as_documented_and_sends_the_client_to_pay(paying,
                                                                                  fedapay,
                                                                                  ctx):
    assert paying.checkout.status_code == 303
    assert paying.checkout.headers["Location"] == "https://sandbox-checkout.fedapay.test/tok_98a7"
    created, token = fedapay.requests
    assert created["method"] == "POST" and created["path"] == "/v1/transactions"
    assert created["auth"] == f"Bearer {SECRET_KEY}"
    body = created["body"]
    assert body["amount"] == 25_000 and isinstance(body["amount"], int)
    assert body["currency"] == {"iso": "XOF"}
    assert body["callback_url"].endswith("/billing/checkout/return")
    assert body["custom_metadata"]["proforma"].startswith("PF-")
    assert token["path"] == f"/v1/transactions/{TRANSACTION_ID}/token"
    with ctx() as session:
        payment = session.scalars(sa.select(Payment)).one()
        assert (payment.method, payment.status, payment.provider_ref, payment.amount) == \
            (PaymentMethod.FEDAPAY, PaymentStatus.PENDING, str(TRANSACTION_ID), 25_000)
        assert payment.provider_currency == "id:1"


def test_a_signed_notification_confirms_once_however_often_it_comes(app, paying, fedapay,
                                                                    ctx):
    fedapay.status = "approved"
    provider_client = app.test_client()
    body = event()

    first = provider_client.post("/billing/webhooks/fedapay", data=body, headers=signed(body))
    again = provider_client.post("/billing/webhooks/fedapay", data=body, headers=signed(body))

    assert first.status_code == 200 and first.json["outcome"] == "confirmed"
    assert again.status_code == 200 and again.json["outcome"] == "already"
    # The transaction was read back from the API before anything was credited.
    assert [r["path"] for r in fedapay.requests if r["method"] == "GET"] == \
        [f"/v1/transactions/{TRANSACTION_ID}"]
    assert money(ctx) == {"topups": 1, "invoices": 1, "payment": [PaymentStatus.CONFIRMED]}
    with ctx() as session:
        assert session.scalars(sa.select(Proforma)).one().paid_at is not None
    # The client coming back sees it.
    page = paying.get(f"/billing/checkout/return?id={TRANSACTION_ID}&status=approved")
    assert "confirm" in page.get_data(as_text=True)


@pytest.mark.parametrize("case", ["no header", "wrong secret", "body changed", "too old",
                                  "no signature part"])
def test_a_notification_not_signed_as_documented_is_refused(app, paying, fedapay, ctx, case):
    fedapay.status = "approved"
    body = event()
    headers = signed(body)
    if case == "no header":
        headers.pop("X-FEDAPAY-SIGNATURE")
    elif case == "wrong secret":
        headers = signed(body, secret="wh_someone_else")
    elif case == "body changed":
        body = body.replace(b"approved", b"approved ")
    elif case == "too old":
        headers = signed(body, at=int(time.time()) - 301)
    elif case == "no signature part":
        headers["X-FEDAPAY-SIGNATURE"] = f"t={int(time.time())}"
    before = money(ctx)

    response = app.test_client().post("/billing/webhooks/fedapay", data=body, headers=headers)

    assert response.status_code == 400
    assert money(ctx) == before == {"topups": 0, "invoices": 0,
                                    "payment": [PaymentStatus.PENDING]}
    assert not [r for r in fedapay.requests if r["method"] == "GET"]


def test_an_amount_other_than_the_one_asked_for_is_not_credited(app, paying, fedapay, ctx):
    fedapay.status, fedapay.amount = "approved", 2_500
    body = event()
    response = app.test_client().post("/billing/webhooks/fedapay", data=body,
                                      headers=signed(body))
    assert response.status_code == 200 and response.json["outcome"] == "mismatch"
    assert money(ctx) == {"topups": 0, "invoices": 0, "payment": [PaymentStatus.PENDING]}


def test_a_declined_payment_is_rejected_and_the_client_told(app, paying, fedapay, ctx):
    fedapay.status = "declined"
    body = event("transaction.declined")
    response = app.test_client().post("/billing/webhooks/fedapay", data=body,
                                      headers=signed(body))
    assert response.json["outcome"] == "rejected"
    assert money(ctx)["payment"] == [PaymentStatus.REJECTED]


def test_the_client_may_ask_again_when_the_notification_is_late(paying, fedapay, ctx):
    fedapay.status = "approved"
    with ctx() as session:
        payment_id = session.scalar(sa.select(Payment.id))
    page = paying.get(f"/billing/checkout/return?id={TRANSACTION_ID}")
    assert page.status_code == 200
    response = paying.submit(f"/billing/payments/{payment_id}/check",
                             page=f"/billing/checkout/return?id={TRANSACTION_ID}")
    assert response.status_code == 302
    assert money(ctx) == {"topups": 1, "invoices": 1, "payment": [PaymentStatus.CONFIRMED]}


def test_without_settings_online_payment_is_not_offered(app, login_as, ctx):
    assert not app.config.get("FEDAPAY_SECRET_KEY")
    body = event()
    assert app.test_client().post("/billing/webhooks/fedapay", data=body,
                                  headers=signed(body)).status_code == 404
    buyer = login_as("client", billing="prepaid")
    proforma_path = buyer.submit("/billing/topup", {"amount": "25000"}).headers["Location"]
    page = buyer.get(proforma_path).get_data(as_text=True)
    assert "/checkout" not in page
    response = buyer.submit(proforma_path + "/checkout", page=proforma_path)
    assert response.status_code == 302
    with ctx() as session:
        assert session.scalar(sa.select(sa.func.count(Payment.id))) == 0


def test_the_signature_is_computed_as_the_sdk_computes_it():
    body = b'{"name":"transaction.approved","entity":{"id":1}}'
    header = providers.sign(body, "wh_x", 1_700_000_000)
    expected = hmac.new(b"wh_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,s={expected}"
    adapter = providers.FedaPay(secret_key="sk", webhook_secret="wh_x",
                                api_url="http://127.0.0.1:1", tolerance=300, timeout=1)
    adapter.verify_signature(body, header, now=1_700_000_299)
    with pytest.raises(providers.BadSignature):
        adapter.verify_signature(body, header, now=1_700_000_301)
    # Several signatures (a secret being rolled): one that matches is enough.
    adapter.verify_signature(body, header.replace("t=", "s=deadbeef,t="), now=1_700_000_000)
