"""The PDF documents: invoices, credit notes, proformas, a company's monthly statement and a
writer's statement, drawn with fpdf2 in DejaVu Sans (portal/billing/fonts: French money uses
narrow no-break spaces, and names may be written in Ewe).

Each document is written in its reader's language (the company's, the writer's), with amounts
and dates formatted by Babel for that language. Invoices and credit notes are rendered once,
at issue, and kept (portal.billing.invoices); the others are drawn when asked for.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from portal.billing.invoices import buyer, seller
from portal.billing.models import (
    METHOD_LABELS,
    CreditNote,
    Invoice,
    InvoiceKind,
    Proforma,
)
from portal.billing.payments import instructions
from portal.i18n import format_local, format_money, format_number
from portal.orders.models import Order

FONTS = Path(__file__).parent.joinpath("fonts")
FAMILY = "DejaVu"
GREY = (90, 98, 110)


class Sheet(FPDF):
    """An A4 page with the portal's font, a footer with the page number, and helpers."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = title
        self.add_font(FAMILY, "", FONTS.joinpath("DejaVuSans.ttf"))
        self.add_font(FAMILY, "B", FONTS.joinpath("DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator(current_app.config["AGENCY_NAME"])
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)
        self.add_page()
        self.set_font(FAMILY, size=10)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.set_text_color(*GREY)
        self.cell(0, 5, f"{self.doc_title} · {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    def line_of(self, text: str, size: float = 10, bold: bool = False, grey: bool = False,
                height: float = 5) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        if grey:
            self.set_text_color(*GREY)
        self.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.set_font(FAMILY, size=10)

    def party(self, heading: str, who: dict) -> None:
        """A block naming a party: name, address, tax numbers, email."""
        self.line_of(heading, size=8, grey=True, height=4)
        self.line_of(who.get("name") or "", bold=True)
        if who.get("address"):
            self.line_of(who["address"])
        if who.get("tax_number"):
            self.line_of(_("NIF: %(number)s", number=who["tax_number"]))
        if who.get("trade_register"):
            self.line_of(_("RCCM: %(number)s", number=who["trade_register"]))
        if who.get("vat_regime"):
            self.line_of(who["vat_regime"])
        for key in ("email", "phone"):
            if who.get(key):
                self.line_of(who[key])

    def table(self, headings: list[str], rows: list[list[str]], widths: tuple,
              align: tuple | None = None):
        self.set_font(FAMILY, size=9)
        with super().table(col_widths=widths, text_align=align or "LEFT",
                           line_height=5, padding=1, first_row_as_headings=True) as table:
            header = table.row()
            for heading in headings:
                header.cell(heading)
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(value)
        self.set_font(FAMILY, size=10)
        self.ln(2)

    def totals(self, rows: list[tuple[str, str, bool]]) -> None:
        """Label/amount pairs aligned on the right; bold where asked."""
        for label, amount, bold in rows:
            self.set_font(FAMILY, "B" if bold else "", 10)
            self.set_x(self.l_margin + 80)
            self.cell(65, 6, label, align="R")
            self.cell(35, 6, amount, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, size=10)

    def output_bytes(self) -> bytes:
        self.alias_nb_pages()
        return bytes(self.output())


def _day(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        moment = moment.astimezone(ZoneInfo(current_app.config["AGENCY_TIMEZONE"])).date()
    return format_local(moment, "day")


def _rate(rate: int) -> str:
    whole, hundredths = divmod(rate, 100)
    return f"{whole}" if not hundredths else f"{whole},{hundredths:02d}"


def _header(sheet: Sheet, title: str, number: str, issued: datetime, seller: dict,
            buyer: dict, heading: str) -> None:
    top = sheet.get_y()
    sheet.set_xy(sheet.l_margin, top)
    sheet.party(_("Issued by"), seller)
    left_bottom = sheet.get_y()
    sheet.set_xy(120, top)
    sheet.set_left_margin(120)
    sheet.line_of(title, size=16, bold=True, height=8)
    sheet.line_of(number, size=12, bold=True)
    sheet.line_of(_("Date: %(date)s", date=_day(issued)))
    sheet.ln(3)
    sheet.party(heading, buyer)
    sheet.set_left_margin(15)  # leaves y where the right column ends
    sheet.set_xy(15, max(left_bottom, sheet.get_y()) + 6)


def _vat_mention(rate: int) -> str:
    if rate:
        return _("Prices include VAT at %(rate)s %%.", rate=_rate(rate))
    return _("VAT not applicable.")


def _vat_totals(document: Invoice | CreditNote, money) -> list[tuple[str, str, bool]]:
    """The total without VAT and the VAT, for a document issued with VAT (none without)."""
    if not document.vat_rate:
        return []
    return [(_("Total excluding VAT"), money(document.total_excl_vat), False),
            (_("VAT %(rate)s %%", rate=_rate(document.vat_rate)), money(document.total_vat),
             False)]


def invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice as issued, in its company's language."""
    with force_locale(invoice.locale):
        money = _money_of(invoice.currency)
        deposit = invoice.kind is InvoiceKind.DEPOSIT
        title = _("Deposit invoice") if deposit else _("Invoice")
        sheet = Sheet(f"{title} {invoice.number}")
        _header(sheet, title.upper(), invoice.number, invoice.issued_at, invoice.seller,
                invoice.buyer, _("Billed to"))
        if invoice.period:
            year, month = (int(part) for part in invoice.period.split("-"))
            sheet.line_of(_("Orders approved in %(month)s.",
                            month=format_local(date(year, month, 1), "month")))
            sheet.ln(2)
        headings = [_("Reference"), _("Description"), _("Words"), _("Price per word"),
                    _("Rush surcharge"), _("Amount")]
        rows = [[line.reference, line.description,
                 format_number(line.words) if line.words else "",
                 money(line.price_per_word) if line.price_per_word is not None else "",
                 money(line.rush_surcharge) if line.rush_surcharge else "",
                 money(line.amount)] for line in invoice.lines]
        sheet.table(headings, rows, (24, 62, 16, 24, 26, 28),
                    ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"))
        totals = _vat_totals(invoice, money)
        totals.append((_("Total"), money(invoice.total), True))
        if invoice.paid_at_issue:
            label = _("Paid (payment received)") if deposit \
                else _("Paid from the prepaid balance")
            totals.append((label, money(-invoice.paid_at_issue), False))
        totals.append((_("Amount due"), money(invoice.total - invoice.paid_at_issue), True))
        sheet.totals(totals)
        sheet.ln(4)
        sheet.line_of(_vat_mention(invoice.vat_rate), size=9, grey=True)
        if invoice.total > invoice.paid_at_issue:
            sheet.line_of(_("To pay on receipt, quoting the number %(number)s.",
                            number=invoice.number), size=9)
            _instructions(sheet)
        sheet.line_of(_("Amounts in %(currency)s.", currency=invoice.currency), size=9, grey=True)
        return sheet.output_bytes()


def credit_note_pdf(note: CreditNote) -> bytes:
    with force_locale(note.locale):
        money = _money_of(note.currency)
        title = _("Credit note")
        sheet = Sheet(f"{title} {note.number}")
        _header(sheet, title.upper(), note.number, note.issued_at, note.seller, note.buyer,
                _("Issued to"))
        sheet.line_of(_("Cancels %(amount)s of invoice %(number)s of %(date)s.",
                        amount=money(note.total), number=note.invoice.number,
                        date=_day(note.invoice.issued_at)))
        sheet.line_of(_("Reason: %(reason)s", reason=note.reason))
        sheet.ln(3)
        sheet.totals([*_vat_totals(note, money), (_("Total credited"), money(note.total), True)])
        sheet.ln(3)
        if note.refunded and note.invoice.kind is InvoiceKind.ORDERS:
            sheet.line_of(_("%(amount)s goes back to your prepaid balance.",
                            amount=money(note.refunded)), size=9)
        sheet.line_of(_vat_mention(note.vat_rate), size=9, grey=True)
        return sheet.output_bytes()


def proforma_pdf(proforma: Proforma) -> bytes:
    with force_locale(proforma.company.locale):
        money = _money_of(proforma.currency)
        title = _("Proforma invoice")
        sheet = Sheet(f"{title} {proforma.number}")
        _header(sheet, title.upper(), proforma.number, proforma.created_at, seller(),
                buyer(proforma.company), _("For"))
        sheet.table([_("Description"), _("Amount")],
                    [[_("Advance on writing services"), money(proforma.amount)]], (140, 40),
                    ("LEFT", "RIGHT"))
        sheet.totals([(_("To pay"), money(proforma.amount), True)])
        sheet.ln(3)
        sheet.line_of(_("This is not an invoice. Once your payment is confirmed, your balance "
                        "is credited and the invoice is issued."), size=9, grey=True)
        sheet.line_of(_("Quote the reference %(number)s with your payment.",
                        number=proforma.number), bold=True)
        _instructions(sheet)
        return sheet.output_bytes()


def _instructions(sheet: Sheet) -> None:
    for method, text in instructions():
        sheet.line_of(_("%(method)s: %(details)s", method=METHOD_LABELS[method], details=text),
                      size=9)


def statement_pdf(company, month: date, opening: int, entries: list, closing: int,
                  issued: list, unpaid: list, labels: dict) -> bytes:
    """A company's monthly statement: its balance at the start, every entry of the month, its
    balance at the end, the documents of the month and what is still due."""
    with force_locale(company.locale):
        money = _money_of(company.currency)
        title = _("Statement of account")
        month_name = format_local(month, "month")
        sheet = Sheet(f"{title} {month_name}")
        _header(sheet, title.upper(), month_name, datetime.now(ZoneInfo("UTC")), seller(),
                buyer(company), _("Account of"))
        sheet.totals([(_("Balance on %(date)s", date=format_local(month, "day")),
                       money(opening), True)])
        rows = [[_day(entry.created_at), str(labels[entry.kind]), entry.note or "",
                 money(entry.amount) if entry.amount else "",
                 money(entry.held) if entry.held else ""] for entry in entries]
        sheet.table([_("Date"), _("Entry"), _("Note"), _("Balance"), _("Reserved")], rows,
                    (30, 45, 55, 25, 25), ("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"))
        sheet.totals([(_("Balance at the end of the month"), money(closing), True)])
        if issued:
            sheet.ln(2)
            sheet.line_of(_("Documents of the month"), bold=True)
            sheet.table([_("Number"), _("Date"), _("Total")],
                        [[doc.number, _day(doc.issued_at), money(doc.total)] for doc in issued],
                        (60, 60, 60), ("LEFT", "LEFT", "RIGHT"))
        if unpaid:
            sheet.line_of(_("Invoices still due"), bold=True)
            sheet.table([_("Number"), _("Date"), _("Due")],
                        [[inv.number, _day(inv.issued_at), money(inv.due)] for inv in unpaid],
                        (60, 60, 60), ("LEFT", "LEFT", "RIGHT"))
        return sheet.output_bytes()


def writer_statement_pdf(writer, period_label: str, earned: list, paid: list,
                         summary, currency: str) -> bytes:
    """A writer's statement: earnings per order, payouts, and the totals."""
    with force_locale(writer.locale):
        money = _money_of(currency)
        title = _("Earnings statement")
        sheet = Sheet(f"{title} {period_label}")
        _header(sheet, title.upper(), period_label, datetime.now(ZoneInfo("UTC")), seller(),
                {"name": writer.display_name, "email": writer.email}, _("Writer"))
        sheet.line_of(_("Earned"), bold=True)
        sheet.table([_("Date"), _("Order"), _("Amount"), _("Paid")],
                    [[_day(at), f"{Order.reference_of(order_id)} {title_}", money(amount),
                      _("yes") if payout_id else _("not yet")]
                     for at, order_id, title_, amount, payout_id in earned],
                    (30, 100, 30, 20), ("LEFT", "LEFT", "RIGHT", "LEFT"))
        sheet.line_of(_("Payouts"), bold=True)
        sheet.table([_("Date"), _("Method"), _("Reference"), _("Amount")],
                    [[_day(at), str(METHOD_LABELS[method]), reference or "", money(amount)]
                     for at, amount, method, reference in paid],
                    (30, 55, 65, 30), ("LEFT", "LEFT", "LEFT", "RIGHT"))
        sheet.totals([(_("Earned in the period"), money(sum(row[3] for row in earned)), False),
                      (_("Paid in the period"), money(sum(row[1] for row in paid)), False),
                      (_("Earned, not paid yet (today)"), money(summary.earned_unpaid), True)])
        return sheet.output_bytes()


def _money_of(currency: str):
    return lambda amount: format_money(amount, currency)
