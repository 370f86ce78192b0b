"""A client downloads every text approved in a period, in one .zip, from "My orders": each text
as Word and as Markdown, days counted in the client's time zone; a bad period is explained on
the page, and nobody else's texts are ever in it."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

import docx
import pytest

from portal.orders.models import OrderStatus
from tests.conftest import statements_of
from tests.factories import deliverable
from tests.http.pages import by_testid, field_error

PERIOD = {"start": "2026-11-01", "end": "2026-11-30"}


@pytest.fixture
def story(factory, time_machine):
    """Ama (in Paris) had texts approved before, during and after November 2026; Koku, another
    client, had one approved in November."""
    ama = factory.user("client", locale="en", timezone="Europe/Paris")
    koku = factory.user("client", locale="en")

    def approved_on(moment: datetime, client, title: str, **kwargs):
        time_machine.move_to(moment, tick=False)
        return factory.order(status=OrderStatus.APPROVED, client=client, title=title,
                             text=f"# {title}\n\nLe texte de « {title} ».", **kwargs)

    orders = {
        "october": approved_on(datetime(2026, 10, 31, 22, 30, tzinfo=UTC), ama, "Octobre"),
        # 00:30 on 1 November in Paris.
        "first": approved_on(datetime(2026, 10, 31, 23, 30, tzinfo=UTC), ama,
                             "Premier de novembre"),
        "revised": approved_on(datetime(2026, 11, 20, 10, 0, tzinfo=UTC), ama, "Revu deux fois",
                               revisions=1),
        # 00:15 on 1 December in Paris.
        "december": approved_on(datetime(2026, 11, 30, 23, 15, tzinfo=UTC), ama, "Décembre"),
        "other client": approved_on(datetime(2026, 11, 12, 9, 0, tzinfo=UTC), koku,
                                    "Chez Koku"),
    }
    time_machine.move_to(datetime(2026, 11, 15, 8, 0, tzinfo=UTC), tick=False)
    factory.order(status=OrderStatus.DELIVERED, client=ama, title="Pas encore validé")
    time_machine.move_to(datetime(2026, 12, 2, 9, 0, tzinfo=UTC), tick=True)
    return ama, koku, orders


def test_the_archive_holds_each_text_of_the_period_as_word_and_markdown(signed_in, story):
    ama, _koku, orders = story
    client = signed_in(ama)

    response = client.get("/orders/texts.zip", query_string=PERIOD)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert 'filename=texts-2026-11-01-2026-11-30.zip' in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    first, revised = orders["first"].id, orders["revised"].id
    assert archive.namelist() == [
        f"2026-10-31-cmd-{first:05d}-premier-de-novembre.docx",
        f"2026-10-31-cmd-{first:05d}-premier-de-novembre.md",
        f"2026-11-20-cmd-{revised:05d}-revu-deux-fois.docx",
        f"2026-11-20-cmd-{revised:05d}-revu-deux-fois.md",
    ]
    # the factory completes a text up to its brief's minimum (tests/factories.deliverable)
    written = "# Revu deux fois\n\nLe texte de « Revu deux fois ».\n\nVersion 2."
    assert archive.read(archive.namelist()[3]).decode() == \
        deliverable(orders["revised"], written) + "\n"
    document = docx.Document(io.BytesIO(archive.read(archive.namelist()[0])))
    assert [(p.style.name, p.text) for p in document.paragraphs][:2] == [
        ("Heading 1", "Premier de novembre"),
        ("Normal", "Le texte de « Premier de novembre »."),
    ]
    assert archive.testzip() is None


def test_a_period_without_approved_text_says_so_on_the_page(signed_in, story):
    ama, _koku, _orders = story
    client = signed_in(ama)

    page = client.get("/orders/texts.zip", query_string={"start": "2026-06-01",
                                                         "end": "2026-06-30"})

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert field_error(page, "end") == "No text was approved in this period."


@pytest.mark.parametrize(("period", "field", "message"), [
    ({"start": "2026-11-30", "end": "2026-11-01"}, "end",
     "The end of the period comes before its start."),
    ({"start": "2025-11-01", "end": "2026-11-30"}, "end", "Choose a period of at most 366 days."),
    ({"end": "2026-11-30"}, "start", "Choose the first day of the period."),
    ({"start": "2026-11-01", "end": "30/11/2026"}, "end", "Not a valid date value."),
    ({"start": "1850-01-01", "end": "2026-11-30"}, "start",
     "Enter a date between the years 2000 and 2100."),
])
def test_a_bad_period_is_explained_and_nothing_is_downloaded(signed_in, story, period, field,
                                                             message):
    ama, _koku, _orders = story

    page = signed_in(ama).get("/orders/texts.zip", query_string=period)

    assert page.status_code == 422
    assert field_error(page, field) == message
    assert by_testid(page, "texts-archive")


def test_the_my_orders_page_offers_the_last_thirty_days(signed_in, story):
    ama, _koku, _orders = story

    page = signed_in(ama).get("/orders")

    html = page.get_data(as_text=True)
    assert 'action="/orders/texts.zip"' in html
    start = re.search(r'<input[^>]*name="start"[^>]*>', html)[0]
    end = re.search(r'<input[^>]*name="end"[^>]*>', html)[0]
    assert 'type="date"' in start and 'value="2026-11-02"' in start, start
    assert 'type="date"' in end and 'value="2026-12-02"' in end, end


@pytest.mark.parametrize("role", ["writer", "manager"])
def test_writers_and_managers_have_no_such_archive(signed_in, story, role):
    assert signed_in(role).get("/orders/texts.zip", query_string=PERIOD).status_code == 404


def test_the_archive_runs_the_same_statements_however_many_texts(app, signed_in, story,
                                                                  factory):
    ama, _koku, _orders = story
    client = signed_in(ama)

    def statements(period) -> int:
        return len(statements_of(app, client, "/orders/texts.zip", query_string=period))

    one = statements({"start": "2026-10-31", "end": "2026-10-31"})  # "october" alone
    for n in range(3):
        factory.order(status=OrderStatus.APPROVED, client=ama, title=f"En plus {n}")
    many = statements({"start": "2026-10-01", "end": "2026-12-02"})

    assert one == many <= 3  # the user, the count, the texts


def test_a_period_with_too_many_texts_asks_for_a_shorter_one(app, signed_in, story,
                                                              monkeypatch):
    ama, _koku, _orders = story
    monkeypatch.setitem(app.config, "TEXTS_PER_ARCHIVE", 1)
    client = signed_in(ama)

    page = client.get("/orders/texts.zip", query_string=PERIOD)

    assert page.status_code == 200
    assert field_error(page, "end") == ("2 texts were approved in this period; an archive "
                                        "holds at most 1. Choose a shorter period.")
    one_day = client.get("/orders/texts.zip", query_string={"start": "2026-11-20",
                                                            "end": "2026-11-20"})
    assert one_day.headers["Content-Type"] == "application/zip"


# --- a manager, from the company's page -----------------------------------------------------


def test_a_manager_downloads_the_texts_of_one_company(signed_in, story, factory):
    ama, _koku, orders = story
    company = factory.company_of(ama)
    manager = signed_in("manager", timezone="Europe/Paris")

    page = manager.get(f"/agency/finance/companies/{company.id}")
    assert f'action="/orders/companies/{company.id}/texts.zip"' in page.get_data(as_text=True)
    response = manager.get(f"/orders/companies/{company.id}/texts.zip", query_string=PERIOD)

    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == "sandbox"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert [name.split("-cmd-")[1] for name in names] == [
        f"{orders['first'].id:05d}-premier-de-novembre.docx",
        f"{orders['first'].id:05d}-premier-de-novembre.md",
        f"{orders['revised'].id:05d}-revu-deux-fois.docx",
        f"{orders['revised'].id:05d}-revu-deux-fois.md",
    ]
    assert "-texts-2026-11-01-2026-11-30.zip" in response.headers["Content-Disposition"]


def test_a_bad_period_sends_the_manager_back_to_the_company_with_the_reason(signed_in, story,
                                                                             factory):
    ama, _koku, _orders = story
    company = factory.company_of(ama)
    manager = signed_in("manager")
    url = f"/orders/companies/{company.id}/texts.zip"

    wrong = manager.get(url, query_string={"start": "2026-11-30", "end": "2026-11-01"})
    empty = manager.get(url, query_string={"start": "2026-06-01", "end": "2026-06-30"})

    for response in (wrong, empty):
        assert response.status_code == 302
        assert response.headers["Location"] == f"/agency/finance/companies/{company.id}"
    page = manager.get(f"/agency/finance/companies/{company.id}")
    assert "No text was approved in this period." in page.get_data(as_text=True)


def test_only_managers_have_a_company_archive(signed_in, story, factory):
    ama, _koku, _orders = story
    company = factory.company_of(ama)
    url = f"/orders/companies/{company.id}/texts.zip"

    assert signed_in(ama).get(url, query_string=PERIOD).status_code == 404
    assert signed_in("writer").get(url, query_string=PERIOD).status_code == 404
    assert signed_in("manager").get("/orders/companies/999999/texts.zip",
                                    query_string=PERIOD).status_code == 404
