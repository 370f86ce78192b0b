"""The shape every view repeats (CONVENTIONS, "Views are short"), written once: validate, call one
service, turn its refusal into a form error or a flash, commit, show the form again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from io import BytesIO

from flask import abort, flash, render_template, request, send_file
from flask_login import current_user

from portal.billing import companies
from portal.billing.models import ENTRY_LABELS, Company
from portal.errors import DomainError
from portal.extensions import db
from portal.forms import form_error


class ServiceCall:
    """What became of a `service_call` block: `ok` once its change is committed; for
    `submitted`, `result` is what its change returned."""

    ok = False
    result = None


@contextmanager
def service_call(form=None, *, category: str = "danger") -> Iterator[ServiceCall]:
    """Run the block (the view's service call) as the request's change: commit when it ends.
    When a service refuses with a DomainError, roll back and show why: on `form` when one is
    given (under the field the error names, see form_error), else as a flash of `category`;
    the view goes on after the block, with `ok` false."""
    call = ServiceCall()
    try:
        yield call
    except DomainError as error:
        db.session.rollback()
        if form is not None:
            form_error(form, error)
        else:
            flash(error.message, category)
        return
    db.session.commit()
    call.ok = True


def submitted(form, change: Callable[[], object]) -> ServiceCall:
    """`change()`, the view's one service call, run as a `service_call(form)` once `form` is
    posted and valid; not run (and not `ok`) otherwise."""
    call = ServiceCall()
    if form.validate_on_submit():
        with service_call(form) as call:
            call.result = change()
    return call


def validated_or_400(form):
    """`form`, posted and valid; 400 for anything else. For a button's form (a CSRF token, at
    most a hidden field), which a person using the page cannot get wrong."""
    if not form.validate_on_submit():
        abort(400)
    return form


def validate_or_flash(form) -> bool:
    """form.validate_on_submit() for a form posted from a page the view redirects back to:
    when it fails, its first error is flashed."""
    if form.validate_on_submit():
        return True
    first = next((str(message) for errors in form.errors.values() for message in errors), None)
    if first is not None:
        flash(first, "danger")
    return False


def own_company() -> Company:
    """The current client's company; one made now for an account that has none yet is
    committed at once (commit before render), and nothing is written when it exists."""
    company = companies.company_of(current_user)
    if company is None:
        company = companies.company_of(current_user, create=True)
        db.session.commit()
    return company


def render_form(template_name: str, /, **context):
    """A form's page: 422 when it comes back from a refused POST, 200 when first shown."""
    return render_template(template_name, **context), 422 if request.method == "POST" else 200


def pdf_response(content: bytes, filename: str):
    """A private PDF (an invoice, a statement) as a download nobody keeps."""
    response = send_file(BytesIO(content), mimetype="application/pdf", as_attachment=True,
                         download_name=filename, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def statement_response(company: Company, year: int, month: int):
    """A company's statement of one month, for its client or a manager."""
    from portal.billing import pdf, queries  # fpdf is loaded by the first PDF, not at start

    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        abort(404)
    first = date(year, month, 1)
    content = pdf.statement_pdf(company, first, labels=ENTRY_LABELS,
                                **queries.statement_data(company, first))
    return pdf_response(content, f"releve-{year}-{month:02d}.pdf")
