"""The agency's look from its settings: name, main colour and logo.

The colour is served as CSS custom properties at /brand.css (the Content-Security-Policy
refuses inline styles), with an ETag so browsers keep it; the logo, when AGENCY_LOGO names an
image file, at /brand/logo. A colour too light to carry white text gets a darker ink for
buttons and links, so that text on it and links in it keep the AA contrast of 4.5:1.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, request, send_file, url_for
from markupsafe import escape

bp = Blueprint("brand", __name__)

HEX_COLOR = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".svg": "image/svg+xml", ".webp": "image/webp"}
AA = 4.5
WHITE = (255, 255, 255)


class BrandSettingError(ValueError):
    """AGENCY_COLOR_PRIMARY or AGENCY_LOGO cannot be used; the message says why."""


def parse_color(value: str) -> tuple[int, int, int]:
    """`#1f5f8b`, `1f5f8b` or `#18b` as (r, g, b); anything else raises BrandSettingError."""
    match = HEX_COLOR.fullmatch(value.strip())
    if not match:
        raise BrandSettingError(
            f"AGENCY_COLOR_PRIMARY must be a colour in hexadecimal like #1f5f8b: {value!r}")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def hex_of(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def luminance(rgb: tuple[int, int, int]) -> float:
    """Relative luminance (WCAG 2)."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def mix(rgb: tuple[int, int, int], other: tuple[int, int, int], share: float):
    """`rgb` with `share` (0 to 1) of `other` mixed in."""
    return tuple(round(c + (o - c) * share) for c, o in zip(rgb, other, strict=True))


def ink_for(rgb: tuple[int, int, int], background=WHITE, ratio: float = AA):
    """The colour itself when white text on it (and it as text on white) reaches `ratio`, else
    the lightest darker shade of it that does."""
    share = 0.0
    shade = rgb
    while contrast(shade, background) < ratio and share < 1:
        share += 0.02
        shade = mix(rgb, (0, 0, 0), share)
    return shade


@dataclass(frozen=True)
class Brand:
    name: str
    color: tuple[int, int, int]
    logo: Path | None

    @property
    def initials(self) -> str:
        """Up to two letters for the monogram: the first of the first two words that are not
        the words of an agency ("Agence Plume" gives "P", "Blue Ink Studio" gives "BI")."""
        skip = {"agence", "agency", "studio", "l'agence", "the", "la", "le", "les"}
        words = [w for w in re.split(r"[\s\-]+", self.name) if w]
        kept = [w for w in words if w.lower() not in skip] or words
        return "".join(w[0] for w in kept[:2]).upper() or "·"

    def css(self) -> str:
        ink = ink_for(self.color)
        hover = mix(ink, (0, 0, 0), 0.15)
        subtle = mix(self.color, WHITE, 0.9)
        border = mix(self.color, WHITE, 0.65)
        emphasis = ink_for(self.color, background=subtle, ratio=7)
        values = {
            "--portal-brand": hex_of(self.color),
            "--portal-brand-rgb": "{}, {}, {}".format(*self.color),
            "--portal-brand-ink": hex_of(ink),
            "--portal-brand-ink-rgb": "{}, {}, {}".format(*ink),
            "--portal-brand-hover": hex_of(hover),
            "--portal-brand-subtle": hex_of(subtle),
            "--portal-brand-border": hex_of(border),
            "--portal-brand-emphasis": hex_of(emphasis),
        }
        lines = "".join(f"  {name}: {value};\n" for name, value in values.items())
        return f"/* AGENCY_COLOR_PRIMARY (portal/branding.py) */\n:root {{\n{lines}}}\n"


def brand_from(config) -> Brand:
    """The brand of a configuration; raises BrandSettingError for a colour that is not one or
    a logo that is not an image file."""
    logo = None
    if config.get("AGENCY_LOGO"):
        logo = Path(config["AGENCY_LOGO"]).expanduser()
        if logo.suffix.lower() not in LOGO_TYPES:
            raise BrandSettingError(
                "AGENCY_LOGO must be a .png, .jpg, .svg or .webp file: " + str(logo))
        if not logo.is_file():
            raise BrandSettingError(f"AGENCY_LOGO names no file: {logo}")
    return Brand(name=config["AGENCY_NAME"], color=parse_color(config["AGENCY_COLOR_PRIMARY"]),
                 logo=logo)


def init_app(app: Flask) -> None:
    brand = brand_from(app.config)
    css = brand.css().encode()
    etag = hashlib.sha256(css).hexdigest()[:20]
    app.extensions["brand"] = (brand, css, etag)
    app.register_blueprint(bp)

    @app.context_processor
    def brand_context():
        return {"brand": brand, "brand_logo_url": url_for("brand.logo") if brand.logo else None}


def current_brand() -> Brand:
    return current_app.extensions["brand"][0]


def email_brand() -> dict[str, str | None]:
    """What an email's layout shows of the brand (templates/email/_layout.html): its colour
    for white text, its initials, the logo's absolute address (from BASE_URL) or None."""
    brand = current_brand()
    logo = None
    if brand.logo is not None:
        logo = current_app.config["BASE_URL"].rstrip("/") + "/brand/logo"
    return {"ink": hex_of(ink_for(brand.color)), "initials": brand.initials, "logo": logo}


@bp.get("/brand.css")
def stylesheet():
    _brand, css, etag = current_app.extensions["brand"]
    response = Response(css, mimetype="text/css")
    response.set_etag(etag)
    # Cached like a static file, checked again each day (a new colour shows within a day, at
    # once after a reload); the ETag answers 304 while it is unchanged.
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response.make_conditional(request)


MONOGRAM = ('<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
            '<rect width="96" height="96" rx="22" fill="{fill}"/>'
            '<text x="48" y="61" text-anchor="middle" font-family="system-ui, sans-serif" '
            'font-size="38" font-weight="700" fill="#ffffff">{initials}</text></svg>')


@bp.get("/brand/logo")
def logo():
    """The agency's logo; without AGENCY_LOGO, its monogram in its colour (an address that
    always answers, for a link preview or a bookmark icon)."""
    brand = current_brand()
    if brand.logo is None:
        svg = MONOGRAM.format(fill=hex_of(ink_for(brand.color)),
                              initials=escape(brand.initials)).encode()
        response = Response(svg, mimetype="image/svg+xml")
        response.set_etag(hashlib.sha256(svg).hexdigest()[:20])
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response.make_conditional(request)
    mimetype = LOGO_TYPES.get(brand.logo.suffix.lower()) or mimetypes.guess_type(brand.logo)[0]
    response = send_file(brand.logo, mimetype=mimetype, conditional=True, max_age=86400)
    if brand.logo.suffix.lower() == ".svg":
        # An SVG may carry scripts: opened on its own it runs nothing.
        response.headers["Content-Security-Policy"] = ("sandbox; default-src 'none'; "
                                                       "style-src 'unsafe-inline'")
    return response
