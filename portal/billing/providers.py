"""Online payment through a provider, behind one small interface: start a checkout (the client
is sent to the provider's page), check a signed notification, read a transaction back.

One adapter: FedaPay (mobile money in Togo: Moov/Flooz and Mixx by Yas, and in the region),
off unless FEDAPAY_SECRET_KEY is set. What it relies on, from FedaPay's documentation (API
reference "Create a transaction", "Get the payment link for a transaction", "Get a transaction";
"Webhooks et Événements") and its official SDK (fedapay-node, Webhook.ts):

- POST {api}/v1/transactions with {description, amount (whole number), currency: {iso},
  callback_url, custom_metadata} and `Authorization: Bearer <secret key>` answers the
  transaction (id, reference, amount, status…), either as the object itself or wrapped under
  "v1/transaction" as the SDKs read it;
- POST {api}/v1/transactions/{id}/token answers {token, url}: the page the client pays on;
- GET {api}/v1/transactions/{id} answers the transaction with its status ("pending",
  "approved", "declined", "canceled"…), amount and currency (currency_id, or a currency object
  with its iso code);
- a webhook carries `X-FEDAPAY-SIGNATURE: t=<unix time>,s=<hex HMAC-SHA256 of "<t>.<raw
  body>" with the endpoint's secret>`, refused beyond a tolerance of 300 s by default; its
  JSON body names the event ("name": "transaction.approved"…) and its transaction ("entity").

The notification is never believed on its own word: the transaction is read back from the API,
and its status, amount and currency are checked against the payment we asked for.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import current_app

API_URLS = {"sandbox": "https://sandbox-api.fedapay.com", "live": "https://api.fedapay.com"}
SIGNATURE_HEADER = "X-FEDAPAY-SIGNATURE"


class ProviderError(Exception):
    """The provider could not be reached, or answered something we cannot use."""


class BadSignature(ProviderError):
    """A notification whose signature, or its timestamp, does not hold."""


@dataclass(frozen=True)
class Checkout:
    provider_ref: str  # the provider's id of the transaction
    url: str  # where the client pays
    currency_ref: str  # the currency as the provider names it on this transaction


@dataclass(frozen=True)
class Transaction:
    provider_ref: str
    status: str  # "approved" when paid
    amount: int
    currency_ref: str


@dataclass(frozen=True)
class Notification:
    event: str
    provider_ref: str


class PaymentProvider(Protocol):
    name: str

    def start(self, *, amount: int, currency: str, description: str, return_url: str,
              metadata: dict[str, Any]) -> Checkout: ...

    def read_notification(self, body: bytes, headers) -> Notification: ...

    def fetch(self, provider_ref: str) -> Transaction: ...


def provider() -> PaymentProvider | None:
    """The configured provider, or None (online payment is then not offered)."""
    config = current_app.config
    if not config.get("FEDAPAY_SECRET_KEY"):
        return None
    return FedaPay(
        secret_key=config["FEDAPAY_SECRET_KEY"],
        webhook_secret=config.get("FEDAPAY_WEBHOOK_SECRET") or "",
        api_url=config.get("FEDAPAY_API_URL")
        or API_URLS.get(config["FEDAPAY_ENVIRONMENT"], API_URLS["sandbox"]),
        tolerance=config["FEDAPAY_WEBHOOK_TOLERANCE"],
        timeout=config["FEDAPAY_TIMEOUT"],
    )


def _unwrap(answer: Any, name: str) -> dict:
    """The object itself, or the SDKs' "v1/<name>" wrapping of it."""
    if isinstance(answer, dict) and isinstance(answer.get(f"v1/{name}"), dict):
        return answer[f"v1/{name}"]
    if isinstance(answer, dict):
        return answer
    raise ProviderError(f"unexpected answer for {name}")


def _currency_ref(transaction: dict) -> str:
    currency = transaction.get("currency")
    if isinstance(currency, dict) and currency.get("iso"):
        return str(currency["iso"]).upper()
    if transaction.get("currency_id") is not None:
        return f"id:{transaction['currency_id']}"
    raise ProviderError("the transaction names no currency")


def _amount(value: Any) -> int:
    text = "" if isinstance(value, bool) or not isinstance(value, int | str) else str(value).strip()
    if not text.isdigit():
        raise ProviderError("the transaction's amount is not a whole number")
    return int(text)


class FedaPay:
    name = "fedapay"

    def __init__(self, *, secret_key: str, webhook_secret: str, api_url: str, tolerance: int,
                 timeout: int) -> None:
        if urlsplit(api_url).scheme not in ("http", "https"):
            raise ProviderError("FEDAPAY_API_URL must be an http(s) address")
        self.secret_key, self.webhook_secret = secret_key, webhook_secret
        self.api_url, self.tolerance, self.timeout = api_url.rstrip("/"), tolerance, timeout

    def _call(self, method: str, path: str, payload: dict | None = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.api_url}/v1{path}", data=data, method=method,
            headers={"Authorization": f"Bearer {self.secret_key}",
                     "Content-Type": "application/json", "Accept": "application/json"})
        try:
            # http(s) only: the scheme is checked in __init__.
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
                return json.loads(response.read(1_000_000) or b"{}")
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise ProviderError(f"FedaPay {method} {path}: {error}") from None

    def start(self, *, amount: int, currency: str, description: str, return_url: str,
              metadata: dict[str, Any]) -> Checkout:
        created = _unwrap(self._call("POST", "/transactions", {
            "description": description, "amount": amount, "currency": {"iso": currency},
            "callback_url": return_url, "custom_metadata": metadata,
        }), "transaction")
        if created.get("id") is None:
            raise ProviderError("the transaction has no id")
        if _amount(created.get("amount", amount)) != amount:
            raise ProviderError("the transaction's amount is not the one asked for")
        token = _unwrap(self._call("POST", f"/transactions/{created['id']}/token"), "token")
        url = token.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise ProviderError("no payment link")
        currency_ref = _currency_ref(created) if (created.get("currency") is not None
                                                  or created.get("currency_id") is not None) \
            else currency.upper()
        return Checkout(provider_ref=str(created["id"]), url=url, currency_ref=currency_ref)

    def fetch(self, provider_ref: str) -> Transaction:
        if not provider_ref.isdigit():
            raise ProviderError("not a transaction id")
        found = _unwrap(self._call("GET", f"/transactions/{provider_ref}"), "transaction")
        if str(found.get("id")) != provider_ref:
            raise ProviderError("another transaction came back")
        return Transaction(provider_ref=provider_ref, status=str(found.get("status", "")),
                           amount=_amount(found.get("amount")), currency_ref=_currency_ref(found))

    def read_notification(self, body: bytes, headers) -> Notification:
        self.verify_signature(body, headers.get(SIGNATURE_HEADER, ""))
        try:
            event = json.loads(body)
        except ValueError:
            raise ProviderError("the notification is not JSON") from None
        entity = event.get("entity") if isinstance(event, dict) else None
        if not isinstance(entity, dict) or entity.get("id") is None:
            raise ProviderError("the notification names no transaction")
        return Notification(event=str(event.get("name", "")), provider_ref=str(entity["id"]))

    def verify_signature(self, body: bytes, header: str, now: float | None = None) -> None:
        """As FedaPay's SDK checks it: the timestamp `t` and one or more signatures `s` of
        "<t>.<body>"; one must match, and `t` must be within the tolerance of now."""
        if not self.webhook_secret:
            raise BadSignature("no webhook secret configured")
        timestamp, signatures = None, []
        for part in header.split(","):
            key, _eq, value = part.strip().partition("=")
            if key == "t" and value.isdigit():
                timestamp = int(value)
            elif key == "s" and value:
                signatures.append(value)
        if timestamp is None or not signatures:
            raise BadSignature("no timestamp or signature")
        expected = hmac.new(self.webhook_secret.encode(), f"{timestamp}.".encode() + body,
                            hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, signature) for signature in signatures):
            raise BadSignature("the signature does not match")
        if abs((now if now is not None else time.time()) - timestamp) > self.tolerance:
            raise BadSignature("the timestamp is outside the tolerance")


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """A signature header as FedaPay writes it (for tests and a local try)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},s={digest.hexdigest()}"
