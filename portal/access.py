"""Who may use each endpoint of the portal: the one place that says it.

`ACCESS` maps every endpoint of the application to a `Rule`. The app enforces the coarse part
of each rule before any view runs (`init_app` installs the guard):

- an endpoint missing from the table answers 404 to everyone (deny by default);
- an endpoint behind login sends a visitor, or a session that ended (logout elsewhere,
  deactivated account), to the login page;
- an endpoint for some roles answers 404 to the other roles, as if it did not exist.

The fine part, "is this person on this order?", needs the object: the views check it through
`orders.queries.get_order_for`, `orders.policies` and `messaging.policies`, and answer 404 to
whoever is not on it. The rule names those people (`Relation`) so that the access matrix
(tests/security/test_access_table.py) knows what each person must get, and a reader sees the
whole picture here. Role decorators on the views stay as a second lock; a test checks that they
say the same as this table.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, abort, current_app, request
from flask_login import current_user

from portal import security_log
from portal.accounts.models import Role


class Relation(enum.StrEnum):
    """What a person must be to the object named in the URL (checked by the view)."""

    OWNER = "owner"  # the client who placed the order (or saved the brief template)
    RECIPIENT = "recipient"  # the person a notification is for
    ASSIGNED_WRITER = "assigned_writer"  # the writer the order is (or was last) given to
    POOL_WRITER = "pool_writer"  # a writer who could take the open order now
    QUALIFIED_WRITER = "qualified_writer"  # a writer with the order's language and tier
    COMPANY_MEMBER = "company_member"  # a person of the company an invoice, proforma or
    #                                    payment belongs to (portal.billing.companies.is_member)
    MANAGER = "manager"  # any manager
    REVIEWER = "reviewer"  # an editor or a manager, while the order is in review


@dataclass(frozen=True)
class Rule:
    """Who may use an endpoint.

    login: a signed-in, active account is needed (else: the login page).
    roles: the roles it is for (empty: every role); the others get 404.
    visitors_only: for people not signed in; a signed-in person is sent to the home page.
    by_link: opened from a signed link of an email; the token is the credential.
    relations: what the person must be to the order (or notification) of the URL; anyone else
        gets 404 from the view. Empty: no object, or any signed-in person of the roles.
    view_answers_json: the view answers refused JSON calls itself (the editor's autosave must
        get JSON, never a login page), so the guard lets JSON calls through to it.
    scraper: for the metrics scraper only: the view answers 404 unless the request comes from
        METRICS_ALLOWED_ADDRESSES or carries METRICS_TOKEN (a person's session counts for
        nothing there).
    """

    login: bool
    roles: frozenset[Role] = frozenset()
    visitors_only: bool = False
    by_link: bool = False
    relations: frozenset[Relation] = frozenset()
    view_answers_json: bool = False
    scraper: bool = False

    def describe(self) -> str:
        if self.scraper:
            return "scraper"
        if not self.login:
            return "visitors" if self.visitors_only else "link" if self.by_link else "public"
        who = "+".join(sorted(role.value for role in self.roles)) or "signed-in"
        if self.relations:
            who += " on it as " + "/".join(sorted(r.value for r in self.relations))
        return who


def public() -> Rule:
    """Anyone, signed in or not."""
    return Rule(login=False)


def visitors() -> Rule:
    """People not signed in (login, sign-up); a signed-in person is sent home."""
    return Rule(login=False, visitors_only=True)


def by_link() -> Rule:
    """Anyone holding a valid signed link (the view answers 400 for a bad one)."""
    return Rule(login=False, by_link=True)


def scraper() -> Rule:
    """The metrics scraper: configured addresses or the metrics token, nobody else (404)."""
    return Rule(login=False, scraper=True)


def signed_in(*relations: Relation) -> Rule:
    """Any signed-in person; with relations, only those on the object of the URL."""
    return Rule(login=True, relations=frozenset(relations))


def role(*roles: Role, on: tuple[Relation, ...] = (), view_answers_json: bool = False) -> Rule:
    """Signed-in people of these roles (404 for the others); `on`: and on the order as…"""
    return Rule(login=True, roles=frozenset(roles), relations=frozenset(on),
                view_answers_json=view_answers_json)


R = Relation
CLIENT, WRITER, MANAGER, EDITOR = Role.CLIENT, Role.WRITER, Role.MANAGER, Role.EDITOR

# Who sees an order (orders.policies.can_see): its client, its writer, every manager, the
# writers who could take it from the pool now, and the editors while it is in review.
ORDER_SEEN = (R.OWNER, R.ASSIGNED_WRITER, R.POOL_WRITER, R.MANAGER, R.REVIEWER)
# Who takes part in its conversation (messaging.policies.takes_part): not the pool's writers.
CONVERSATION = (R.OWNER, R.ASSIGNED_WRITER, R.MANAGER)

ACCESS: Mapping[str, Rule] = {
    # --- files and the front door ------------------------------------------------------
    "static": public(),
    "bootstrap.static": public(),
    "brand.stylesheet": public(),  # the agency's colours as CSS custom properties
    "brand.logo": public(),
    "main.index": public(),  # the landing page for visitors; signed-in people go home
    # A sample on the landing page: 404 unless approved, consented and showcased.
    "main.sample": public(),
    "main.health": public(),  # liveness: the process answers
    "ops.ready": public(),  # readiness: database, upload storage, outbox age (no details kept)
    "ops.metrics": scraper(),
    "main.set_language": public(),
    "main.home": signed_in(),
    # --- accounts: sign-up, login, links from emails --------------------------------------
    "auth.signup": visitors(),
    "auth.confirm_signup": by_link(),
    "auth.login": visitors(),
    "auth.login_link": by_link(),
    "auth.logout": signed_in(),
    "auth.confirm": by_link(),
    "auth.resend_confirmation": signed_in(),
    "auth.forgot_password": public(),
    "auth.reset_password": by_link(),
    "auth.accept_invitation": by_link(),
    # --- one's own settings ---------------------------------------------------------------
    "accounts.settings": signed_in(),
    "accounts.update_profile": signed_in(),
    "accounts.change_password": signed_in(),
    "accounts.change_email": signed_in(),
    "accounts.cancel_email_change": signed_in(),
    "accounts.export_data": signed_in(),  # one's own data, as a zip
    "notifications.preferences": signed_in(),
    "notifications.preferences_link": by_link(),
    # --- the bell --------------------------------------------------------------------------
    "notifications.bell_list": signed_in(),
    "notifications.mark_all_read": signed_in(),
    "notifications.mark_read": signed_in(R.RECIPIENT),
    # --- people and emails (managers) -----------------------------------------------------
    "accounts.people": role(MANAGER),
    "accounts.invite": role(MANAGER),
    "accounts.person": role(MANAGER),
    "accounts.change_role": role(MANAGER),
    "accounts.deactivate": role(MANAGER),
    "accounts.reactivate": role(MANAGER),
    "accounts.revoke_invitation": role(MANAGER),
    "accounts.export_person": role(MANAGER),  # a person's data, on their request
    "accounts.erase": role(MANAGER),  # a former client's or writer's (the service checks)
    "notifications.outbox": role(MANAGER),
    "notifications.retry_all": role(MANAGER),
    "notifications.retry_one": role(MANAGER),
    # The development mailbox also answers 404 unless MAILBOX_PAGE is on (never in production).
    "notifications.dev_mailbox": role(MANAGER),
    "notifications.dev_mailbox_message": role(MANAGER),
    "notifications.dev_mailbox_html": role(MANAGER),
    # --- the catalogue and the agency's tools (managers) ---------------------------------
    "agency.dashboard": role(MANAGER),
    "agency.tiers": role(MANAGER),
    "agency.new_tier": role(MANAGER),
    "agency.edit_tier": role(MANAGER),
    "agency.content_types": role(MANAGER),
    "agency.new_content_type": role(MANAGER),
    "agency.edit_content_type": role(MANAGER),
    "agency.brief_templates": role(MANAGER),
    "agency.new_brief_template": role(MANAGER),
    "agency.edit_brief_template": role(MANAGER),  # an agency template; a client's: 404
    "agency.delete_brief_template": role(MANAGER),
    "agency.publish_brief_template": role(MANAGER),
    "agency.writer_skills": role(MANAGER),
    "agency.assign": role(MANAGER, on=(R.MANAGER,)),
    "agency.extend_deadline": role(MANAGER, on=(R.MANAGER,)),
    "agency.grant_revision": role(MANAGER, on=(R.MANAGER,)),
    "agency.reference_texts": role(MANAGER, on=(R.MANAGER,)),
    "agency.showcase": role(MANAGER, on=(R.MANAGER,)),  # a sample on the landing page
    # --- a client's orders ----------------------------------------------------------------
    "orders.list": role(CLIENT),
    "orders.texts_archive": role(CLIENT),  # the approved texts of a period, one .zip
    "orders.new": role(CLIENT),
    "orders.quote": role(CLIENT),
    "orders.edit": role(CLIENT, on=(R.OWNER,)),
    "orders.submit": role(CLIENT, on=(R.OWNER,)),
    "orders.delete": role(CLIENT, on=(R.OWNER,)),
    "orders.order_again": role(CLIENT, on=(R.OWNER,)),
    "orders.save_template": role(CLIENT, on=(R.OWNER,)),
    "orders.templates": role(CLIENT),
    # The client's own template (orders.brief_templates.get_template_for).
    "orders.delete_template": role(CLIENT, on=(R.OWNER,)),
    # --- the order page and what is done from it (the service then checks the move) ------
    "orders.detail": signed_in(*ORDER_SEEN),
    "orders.delivery": signed_in(*ORDER_SEEN),
    # The approved text's files (the view answers 404 before approval, and for the earlier
    # deliveries); a pool writer never sees an approved order.
    "orders.export": signed_in(*CONVERSATION),
    "orders.cancel": signed_in(*ORDER_SEEN),
    "orders.request_revision": signed_in(*ORDER_SEEN),
    "orders.approve": signed_in(*ORDER_SEEN),
    # The client's consent to show the approved text as a sample.
    "orders.sample_consent": role(CLIENT, on=(R.OWNER,)),
    "orders.upload": signed_in(*ORDER_SEEN),
    "orders.attachment": signed_in(*ORDER_SEEN),
    "orders.delete_attachment": signed_in(*ORDER_SEEN),
    # --- the editorial review (orders.review) ---------------------------------------------
    "orders.review_queue": role(EDITOR, MANAGER),
    "orders.pass_review": role(EDITOR, MANAGER, on=(R.REVIEWER,)),
    "orders.return_to_writer": role(EDITOR, MANAGER, on=(R.REVIEWER,)),
    # --- the conversation -------------------------------------------------------------------
    "orders.post_message": signed_in(*CONVERSATION),
    "messaging.attachment": signed_in(*CONVERSATION),
    "messaging.export": signed_in(*CONVERSATION),
    # --- writers' work --------------------------------------------------------------------
    "writing.pool": role(WRITER),
    "writing.assignments": role(WRITER),
    # Orders a writer could never take do not exist for them; one taken by another writer
    # gets a message instead.
    "writing.claim": role(WRITER, on=(R.ASSIGNED_WRITER, R.POOL_WRITER)),
    "writing.workspace": role(WRITER, on=(R.ASSIGNED_WRITER,)),
    "writing.save_draft": role(WRITER, on=(R.ASSIGNED_WRITER,), view_answers_json=True),
    "writing.deliver": role(WRITER, on=(R.ASSIGNED_WRITER,)),
    "writing.release": role(WRITER, MANAGER, on=(R.ASSIGNED_WRITER, R.MANAGER)),
    "earnings.index": role(WRITER),
    "earnings.statement": role(WRITER),
    # --- money: a client's company account (portal.billing) --------------------------------
    "billing.account": role(CLIENT),
    "billing.company": role(CLIENT),
    # A client's own company's style guide (no id in the URL: nobody reaches another's).
    "style_guides.edit_own": role(CLIENT),
    "style_guides.edit_company": role(MANAGER),
    "billing.topup": role(CLIENT),
    "billing.invoice_list": role(CLIENT),
    "billing.statement": role(CLIENT),
    "billing.checkout_return": role(CLIENT),
    # The company's documents: its people and the managers; another company's answer 404.
    "billing.proforma": role(CLIENT, MANAGER, on=(R.COMPANY_MEMBER, R.MANAGER)),
    "billing.proforma_pdf": role(CLIENT, MANAGER, on=(R.COMPANY_MEMBER, R.MANAGER)),
    "billing.invoice": role(CLIENT, MANAGER, on=(R.COMPANY_MEMBER, R.MANAGER)),
    "billing.invoice_pdf": role(CLIENT, MANAGER, on=(R.COMPANY_MEMBER, R.MANAGER)),
    "billing.credit_note_pdf": role(CLIENT, MANAGER, on=(R.COMPANY_MEMBER, R.MANAGER)),
    "billing.payment_proof": role(CLIENT, MANAGER, on=(R.COMPANY_MEMBER, R.MANAGER)),
    "billing.declare_payment": role(CLIENT, on=(R.COMPANY_MEMBER,)),
    "billing.pay_invoice": role(CLIENT, on=(R.COMPANY_MEMBER,)),
    "billing.checkout": role(CLIENT, on=(R.COMPANY_MEMBER,)),
    "billing.check_payment": role(CLIENT, on=(R.COMPANY_MEMBER,)),
    # The payment provider's notifications: signed (X-FEDAPAY-SIGNATURE), no session; 404
    # while no provider is configured.
    "billing.fedapay_webhook": public(),
    # --- money: the agency's side (managers) ---------------------------------------------
    "finance.figures_page": role(MANAGER),
    "finance.payment_list": role(MANAGER),
    "finance.confirm_payment": role(MANAGER),
    "finance.reject_payment": role(MANAGER),
    "finance.company_list": role(MANAGER),
    "finance.company_detail": role(MANAGER),
    "orders.company_texts_archive": role(MANAGER),  # a company's approved texts, one .zip
    "finance.company_terms": role(MANAGER),
    "finance.adjust": role(MANAGER),
    "finance.invoice_month": role(MANAGER),
    "finance.company_statement": role(MANAGER),
    "finance.credit_note": role(MANAGER),
    "finance.payouts": role(MANAGER),
    "finance.payout_batch": role(MANAGER),
    "finance.export_ledger": role(MANAGER),
    "finance.export_invoices": role(MANAGER),
}


def rules(app: Flask) -> dict[str, Rule]:
    """The table this app enforces (a copy per app: a test app may declare its own routes)."""
    return app.extensions["access"]


def declare(app: Flask, endpoint: str, rule: Rule) -> None:
    """Declare a route added outside the blueprints (tests that add a page of their own)."""
    rules(app)[endpoint] = rule


def json_call() -> bool:
    return request.is_json or (
        request.accept_mimetypes.best_match(["text/html", "application/json"])
        == "application/json"
    )


def check_request():
    """The guard: refuse what the table refuses, before the view (and its queries) run."""
    if request.url_rule is None:  # no route matched: the 404 or 405 follows
        return None
    rule = rules(current_app).get(request.endpoint)
    if rule is None:
        current_app.logger.error("endpoint %s has no access rule: refused", request.endpoint)
        security_log.access_refused("undeclared")
        abort(404)
    if rule.view_answers_json and json_call():
        return None
    if rule.login and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if rule.roles and current_user.role not in rule.roles:
        security_log.access_refused("role", role=current_user.role)
        abort(404)
    return None


def init_app(app: Flask) -> None:
    app.extensions["access"] = dict(ACCESS)
    app.before_request(check_request)
