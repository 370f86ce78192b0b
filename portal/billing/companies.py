"""Client companies: created at sign-up, edited by their owner, given billing terms by a manager.

A person belongs to a company through `CompanyMember` (one company per person for now). Why a
membership table rather than a company_id on users: the membership carries the person's role
in the company (owner, member), a later issue lets several people share one company (and a
person may then work for several), and erasing a person (issue 15) removes their membership
while the company's invoices, which the law keeps for ten years, stay whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort, current_app
from flask_babel import gettext as _

from portal import security_log
from portal.accounts.models import Role, User
from portal.billing import ledger
from portal.billing.models import BillingMode, Company, CompanyMember, MemberRole
from portal.errors import Conflict, NotAllowed
from portal.extensions import db
from portal.orders.service import require_manager

MAX_CREDIT_LIMIT = 1_000_000_000


def company_of(user: User, *, create: bool = False) -> Company | None:
    """The company `user` belongs to; with `create`, a new one is made for a client who has
    none yet (an account made a client by a manager, an older account)."""
    company = db.session.scalar(
        sa.select(Company).join(CompanyMember, CompanyMember.company_id == Company.id)
        .where(CompanyMember.user_id == user.id)
    )
    if company is None and create:
        if user.role is not Role.CLIENT:
            raise NotAllowed(_("Only clients have a company account."))
        company = create_company(user, user.display_name)
    return company


def company_id_of(user: User) -> int | None:
    return db.session.scalar(
        sa.select(CompanyMember.company_id).where(CompanyMember.user_id == user.id))


def create_company(owner: User, name: str) -> Company:
    """A new company, `owner` its owner, prepaid, in the owner's language and the agency's
    currency. The name is the one given at sign-up (the person's name when none)."""
    company = Company(name=(name or owner.display_name).strip()[:200],
                      currency=current_app.config["AGENCY_CURRENCY"], locale=owner.locale,
                      billing_mode=BillingMode.PREPAID, credit_limit=0, balance=0, held=0)
    db.session.add(company)
    db.session.flush()
    db.session.add(CompanyMember(company_id=company.id, user_id=owner.id, role=MemberRole.OWNER))
    db.session.flush()
    return company


def is_member(user: User, company_id: int) -> bool:
    return user.active and user.role is Role.CLIENT and company_id_of(user) == company_id


def visible_to(user: User, model, row_id: int, what: str, **get_options):
    """The row of `model` (a company's proforma, payment, invoice) if `user` may see it: a
    person of its company, or a manager. Else 404, logged as a refused access."""
    row = db.get_or_404(model, row_id, **get_options)
    if not (user.role is Role.MANAGER or is_member(user, row.company_id)):
        security_log.access_refused(what, **{f"{what}_id": row_id})
        abort(404)
    return row


def billing_address(company: Company) -> str:
    """Where the company's documents are emailed: its billing address, else its owner's."""
    if company.billing_email:
        return company.billing_email
    return db.session.scalar(
        sa.select(User.email).join(CompanyMember, CompanyMember.user_id == User.id)
        .where(CompanyMember.company_id == company.id)
        .order_by(CompanyMember.role.desc(), CompanyMember.created_at).limit(1)
    ) or ""


def owner_of(company: Company) -> User | None:
    return db.session.scalar(
        sa.select(User).join(CompanyMember, CompanyMember.user_id == User.id)
        .where(CompanyMember.company_id == company.id, CompanyMember.role == MemberRole.OWNER)
        .limit(1)
    )


@dataclass
class Details:
    """What the company's owner writes on the company page, shaped by the form."""

    name: str
    address: str = ""
    tax_number: str = ""
    trade_register: str = ""
    billing_email: str = ""
    locale: str = "fr"


def update_details(company: Company, user: User, details: Details) -> None:
    """The owner changes the company's identity. Documents already issued keep the identity
    they were issued with. Raises NotAllowed for anyone else, Conflict for a value refused."""
    if not is_member(user, company.id):
        raise NotAllowed(_("Only the people of this company can change it."))
    if not details.name.strip():
        raise Conflict(_("Enter the company's legal name."), field="name")
    if details.locale not in current_app.config["LANGUAGES"]:
        raise Conflict(_("Choose a language from the list."), field="locale")
    company.name = details.name.strip()
    company.address = details.address.strip()
    company.tax_number = details.tax_number.strip()
    company.trade_register = details.trade_register.strip()
    company.billing_email = details.billing_email.strip().lower()
    company.locale = details.locale
    db.session.flush()


def set_terms(company: Company, manager: User, mode: BillingMode, credit_limit: int) -> None:
    """A manager sets how the company pays: prepaid (credit limit 0) or postpaid within a
    credit limit. Raises Conflict when the limit is negative, absurd, or below what the company
    already uses on credit (its open orders stay held); NotAllowed for anyone but a manager."""
    require_manager(manager)
    if mode is BillingMode.PREPAID:
        credit_limit = 0
    if not 0 <= credit_limit <= MAX_CREDIT_LIMIT:
        raise Conflict(_("Enter a credit limit between 0 and %(max)s.",
                         max=f"{MAX_CREDIT_LIMIT:,}".replace(",", " ")), field="credit_limit")
    ledger.change_credit_limit(company, credit_limit)
    company.billing_mode = mode
    db.session.flush()
    ledger.fund_waiting_orders(company.id)
