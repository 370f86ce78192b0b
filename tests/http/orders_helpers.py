"""The order world of the client-side stories: a catalogue, briefs as a browser sends them and
orders brought to a status through the real services (so timelines and prices are real)."""

from __future__ import annotations

import functools
import io
import struct
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask

from portal.accounts.models import Role, User
from portal.extensions import db, utcnow
from portal.i18n import to_local
from portal.orders import service
from portal.orders.models import ContentType, Order, OrderStatus, Tier, WriterLanguage, writer_tiers
from tests.factories import deliverable


@dataclass
class Catalogue:
    content_type_id: int
    tier_id: int
    price_per_word: int
    pay_per_word: int
    lead_hours: int


def local_input(moment: datetime, zone: str) -> str:
    """`moment` as a datetime-local input shows it in `zone`: 2030-05-01T14:00."""
    return to_local(moment, zone).strftime("%Y-%m-%dT%H:%M")


class OrderWorld:
    def __init__(self, app: Flask, factory) -> None:
        self.app = app
        self.factory = factory
        self._catalogue: Catalogue | None = None
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = self.make_catalogue()
        return self._catalogue

    def make_catalogue(self, *, price: int = 25, pay: int = 15, revisions: int = 2,
                       lead_hours: int = 48) -> Catalogue:
        n = self._next()
        with self.app.app_context():
            content_type = ContentType(name_fr=f"Article de blog {n}",
                                       name_en=f"Blog article {n}", position=n)
            tier = Tier(name=f"Standard {n}", client_price_per_word=price,
                        writer_pay_per_word=pay, included_revisions=revisions,
                        min_lead_hours=lead_hours, position=n)
            db.session.add_all([content_type, tier])
            db.session.commit()
            return Catalogue(content_type.id, tier.id, price, pay, lead_hours)

    def form(self, zone: str = "Africa/Lome", **changes) -> dict:
        """The brief form as a browser sends it ("Save as draft" pressed)."""
        data = {
            "title": "Dix idées de sorties à Lomé",
            "content_type_id": str(self.catalogue.content_type_id),
            "language": "fr",
            "words_min": "600",
            "words_max": "800",
            "tier_id": str(self.catalogue.tier_id),
            "tone": "Chaleureux",
            "audience": "Familles",
            "primary_keyword": "sorties Lomé",
            "secondary_keywords": "plage, marché\nmusée",
            "links_to_include": "https://example.com/agenda",
            "reference_urls": "https://example.org/guide\nhttp://example.net/blog",
            "instructions": "Un ton vivant.\nPas de superlatifs.",
            "deadline": local_input(utcnow() + timedelta(days=10), zone),
            "preferred_writer_id": "",
            "version": "",
            "save_draft": "Save as draft",
        }
        data.update(changes)
        return {name: value for name, value in data.items() if value is not None}

    def writer(self, *, languages=("fr",), tier_ids=None, **kwargs) -> User:
        kwargs.setdefault("locale", "en")
        writer = self.factory.user(Role.WRITER, **kwargs)
        with self.app.app_context():
            for language in languages:
                db.session.add(WriterLanguage(user_id=writer.id, language=language))
            for tier_id in tier_ids if tier_ids is not None else [self.catalogue.tier_id]:
                db.session.execute(sa.insert(writer_tiers).values(user_id=writer.id,
                                                                  tier_id=tier_id))
            db.session.commit()
        return writer

    def order(self, client: User, status: OrderStatus | str = OrderStatus.OPEN, *,
              writer: User | None = None, texts: tuple[str, ...] = ("Premier jet.",),
              deadline: datetime | None = None, **brief) -> int:
        """An order of `client` brought to `status` through the services; returns its id.

        For DELIVERED, each text of `texts` is one delivery (a revision is requested between
        two); REVISION_REQUESTED asks for one more after the last."""
        status = OrderStatus(status)
        fields = {
            "title": f"Commande {self._next()}",
            "content_type_id": self.catalogue.content_type_id,
            "language": "fr",
            "words_min": 100,
            "words_max": 800,
            "tier_id": self.catalogue.tier_id,
            "deadline": deadline or utcnow() + timedelta(days=10),
            "primary_keyword": "Lomé",
            "secondary_keywords": ["plage", "marché"],
        }
        fields.update(brief)
        with self.app.app_context():
            session = db.session
            owner = session.get(User, client.id)
            order = service.create_draft(owner, service.Brief(**fields))
            session.commit()
            if status is not OrderStatus.DRAFT:
                service.submit(order, owner)
                session.commit()
            if status is OrderStatus.CANCELLED:
                service.cancel(order, owner, "Plus besoin.")
                session.commit()
            if status in (OrderStatus.IN_PROGRESS, OrderStatus.DELIVERED,
                          OrderStatus.REVISION_REQUESTED, OrderStatus.APPROVED):
                writer = writer or self.writer()
                author = session.get(User, writer.id)
                service.claim(order, author)
                session.commit()
                if status is not OrderStatus.IN_PROGRESS:
                    for number, text in enumerate(texts, start=1):
                        if number > 1:
                            service.request_revision(order, owner, f"Reprendre ({number}).")
                        draft = service.draft_for(order)
                        service.save_draft(order, author, deliverable(order, text),
                                           base_version=draft.version)
                        service.deliver(order, author, f"Livraison {number}.")
                        session.commit()
                    if status is OrderStatus.REVISION_REQUESTED:
                        service.request_revision(order, owner, "Encore un effort.")
                    elif status is OrderStatus.APPROVED:
                        service.approve(order, owner, 5, "Parfait.")
                    session.commit()
            return order.id

    def get(self, order_id: int) -> Order | None:
        with self.app.app_context():
            order = db.session.get(Order, order_id)
            if order is not None:
                db.session.expunge(order)
            return order


# --- files as people send them -----------------------------------------------------------

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
PDF_BYTES = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 60 + b"This program cannot be run"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def odt_bytes(mimetype: str = "application/vnd.oasis.opendocument.text") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        archive.writestr("content.xml", "<office:document-content/>")
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "bonjour")
    return buffer.getvalue()


# --- zip bombs: small archives that declare (or hold) entries a thousand times bigger -------

BOMB_UNPACKED = 200 * 1024 * 1024


@functools.cache
def odt_bomb(unpacked: int = BOMB_UNPACKED, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A real .odt of about 200 KB whose first entry, `mimetype`, unpacks to 200 MB (the type
    line followed by zeros), as a hostile client would send it. With bzip2 or LZMA
    (`compression`) the archive is a few kilobytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("mimetype")
        info.compress_type = compression
        with archive.open(info, "w") as entry:
            entry.write(b"application/vnd.oasis.opendocument.text")
            chunk = bytes(1024 * 1024)
            for _ in range(unpacked // len(chunk)):
                entry.write(chunk)
        archive.writestr("content.xml", "<office:document-content/>")
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
    return buffer.getvalue()


@functools.cache
def docx_bomb(unpacked: int = BOMB_UNPACKED) -> bytes:
    """A real .docx whose document.xml unpacks to 200 MB of blanks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        info = zipfile.ZipInfo("word/document.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as entry:
            chunk = b" " * (1024 * 1024)
            for _ in range(unpacked // len(chunk)):
                entry.write(chunk)
    return buffer.getvalue()


@functools.cache
def lying_odt_bomb(compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """odt_bomb() whose directory (and local header) declare a `mimetype` of 39 bytes: the
    sizes look sane, the content is still 200 MB once unpacked."""
    data = bytearray(odt_bomb(compression=compression))
    real = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    declared = struct.pack("<I", 39)
    data[real.header_offset + 22:real.header_offset + 26] = declared  # local header
    central = data.index(b"PK\x01\x02")  # the first entry of the directory is `mimetype`
    data[central + 24:central + 28] = declared
    return bytes(data)


def many_entries_docx(entries: int = 5000) -> bytes:
    """A small .docx with thousands of empty entries."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for n in range(entries):
            archive.writestr(f"word/media/{n}.xml", "")
    return buffer.getvalue()
