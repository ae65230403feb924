"""The printable "What to do during an outage" handout of a page, as HTML data and as a PDF.

Made from the page snapshot (support desk, opening hours) and the installation's addresses, in
English or Dutch. The texts of both languages live here, so the HTML and the PDF say the same
thing. It never holds a PIN: it tells customers to call their outage number with their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fpdf import FPDF

from incidents.models import Page
from incidents.models.pages import public_page_url
from incidents.snapshot_types import OpeningHours, PageInfo, PageSnapshot

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "What to do during an outage",
        "intro": "Keep this page at hand. When a service of {name} does not work, "
        "take these steps.",
        "step1": "1. Look at the status page",
        "step1_text": "Known outages and maintenance are listed there, with updates. "
        "If your problem is listed, we know about it and are working on it: "
        "there is no need to call or email us.",
        "other_pages": "Other status pages:",
        "step2": "2. Not listed? Email support with a clear description",
        "report": "Or report it on the status page:",
        "hints_intro": "Tell us, so we can help at once:",
        "step3": "3. No answer, and nothing on the status page? Call us",
        "desk": "Support desk",
        "office_hours": "Opening hours ({tz})",
        "after_hours": "After-hours line",
        "after_hours_for": "For: {audience}",
        "pin": "Outside office hours, call your outage number with your PIN.",
        "recorded": "If an outage is already known, a recorded message tells you so. "
        "Then you can hang up: we are already working on it.",
        "resolved": "When an outage is solved and you still have problems, "
        "email or call us and we help you get started again.",
        "closed": "closed",
        "footer": "Made from {address}. Check there for the latest version.",
    },
    "nl": {
        "title": "Wat te doen bij een storing",
        "intro": "Houd deze pagina bij de hand. Werkt een dienst van {name} niet, "
        "volg dan deze stappen.",
        "step1": "1. Kijk op de statuspagina",
        "step1_text": "Bekende storingen en onderhoud staan daar, met updates. "
        "Staat uw probleem erbij, dan weten we ervan en werken we eraan: "
        "u hoeft ons niet te bellen of te mailen.",
        "other_pages": "Andere statuspagina's:",
        "step2": "2. Staat het er niet bij? Mail support met een duidelijke omschrijving",
        "report": "Of meld het op de statuspagina:",
        "hints_intro": "Vertel ons, dan kunnen we meteen helpen:",
        "step3": "3. Geen antwoord, en niets op de statuspagina? Bel ons",
        "desk": "Servicedesk",
        "office_hours": "Openingstijden ({tz})",
        "after_hours": "Storingslijn buiten kantoortijden",
        "after_hours_for": "Voor: {audience}",
        "pin": "Buiten kantoortijden belt u uw storingsnummer met uw pincode.",
        "recorded": "Is een storing al bekend, dan hoort u dat in een ingesproken bericht. "
        "U kunt dan ophangen: we werken er al aan.",
        "resolved": "Is een storing opgelost en heeft u nog problemen, "
        "mail of bel ons dan en we helpen u weer op weg.",
        "closed": "gesloten",
        "footer": "Gemaakt van {address}. Kijk daar voor de nieuwste versie.",
    },
}

DAYS: dict[str, list[str]] = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "nl": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"],
}
HINTS: dict[str, list[str]] = {
    "en": [
        "Does it affect one person, several people or the whole company?",
        "Is there power? Is there internet?",
        "Which service, and since when?",
        "Your name, company and a phone number we can reach you on.",
    ],
    "nl": [
        "Gaat het om één persoon, een paar mensen of het hele bedrijf?",
        "Is er stroom? Is er internet?",
        "Om welke dienst gaat het, en sinds wanneer?",
        "Uw naam, bedrijf en een telefoonnummer waarop we u kunnen bereiken.",
    ],
}


def page_address(page: PageInfo) -> str:
    """The public address of a page (from the snapshot's page)."""
    return public_page_url(page.slug, page.custom_host)


def hours_lines(
    hours: Sequence[OpeningHours], line: str, days: list[str], closed: str
) -> list[str]:
    """Opening hours as short lines, consecutive days with the same hours folded together:
    'Monday–Friday: 08:00–17:30'."""
    per_day = []
    for weekday in range(7):
        spans = [f"{h.opens}–{h.closes}" for h in hours if h.line == line and h.weekday == weekday]
        per_day.append(", ".join(spans))
    lines, start = [], 0
    for weekday in range(1, 8):
        if weekday == 7 or per_day[weekday] != per_day[start]:
            label = days[start] if start == weekday - 1 else f"{days[start]}–{days[weekday - 1]}"
            lines.append(f"{label}: {per_day[start] or closed}")
            start = weekday
    return lines


def handout(
    snapshot: PageSnapshot, other_pages: list[dict[str, str]], language: str
) -> dict[str, Any]:
    """Everything the handout says, in one language, from the snapshot."""
    language = language if language in TEXT else "en"
    text = TEXT[language]
    page = snapshot.page
    support = page.support
    address = page_address(page)
    return {
        "language": language,
        "text": text,
        "hints": HINTS[language],
        "name": page.name,
        "intro": text["intro"].format(name=page.name),
        "address": address,
        "report_address": f"{address}report/",
        "other_pages": [
            {"name": p["name"], "address": public_page_url(p["slug"], p.get("custom_host") or "")}
            for p in other_pages
        ],
        "email": support.email,
        "phone": support.phone,
        "office_hours": hours_lines(support.hours, "office", DAYS[language], text["closed"]),
        "office_hours_title": text["office_hours"].format(tz=page.time_zone),
        "after_hours_phone": support.after_hours_phone,
        "after_hours_for": text["after_hours_for"].format(audience=support.after_hours_audience)
        if support.after_hours_audience
        else "",
        "after_hours_hours": hours_lines(
            support.hours, "after_hours", DAYS[language], text["closed"]
        )
        if any(h.line == "after_hours" for h in support.hours)
        else [],
        "footer": text["footer"].format(address=address),
    }


class _HandoutPDF(FPDF):
    def __init__(self, accent: str):
        super().__init__(format="A4")
        # Helvetica is built into every PDF reader; Windows-1252 covers Dutch accents and €.
        self.core_fonts_encoding = "windows-1252"
        self.accent = tuple(int(accent[i : i + 2], 16) for i in (1, 3, 5))
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(True, margin=16)

    def normalize_text(self, text: str) -> str:
        # Characters Windows-1252 lacks (other scripts, emoji) print as "?" instead of failing.
        return super().normalize_text(text.encode("cp1252", "replace").decode("cp1252"))

    def heading(self, text: str, size: int = 13) -> None:
        self.ln(3)
        self.set_font("Helvetica", "B", size)
        self.set_text_color(*self.accent)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(20, 20, 20)
        self.ln(1)

    def para(self, text: str, style: str = "", size: float = 10.5) -> None:
        self.set_font("Helvetica", style, size)
        self.multi_cell(0, 5.2, text, new_x="LMARGIN", new_y="NEXT")

    def item(self, text: str) -> None:
        self.set_font("Helvetica", "", 10.5)
        self.cell(6, 5.2, "•")
        self.multi_cell(0, 5.2, text, new_x="LMARGIN", new_y="NEXT")


def handout_pdf(data: dict[str, Any], accent: str = "#0b5cad") -> bytes:
    """The handout as a one-page A4 PDF."""
    text = data["text"]
    pdf = _HandoutPDF(accent if accent and len(accent) == 7 else "#0b5cad")
    pdf.set_title(f"{text['title']} — {data['name']}")
    pdf.set_lang(data["language"])
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 9, text["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    pdf.multi_cell(0, 6, data["name"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.para(data["intro"])

    pdf.heading(text["step1"])
    pdf.para(data["address"], "B", 12)
    pdf.para(text["step1_text"])
    if data["other_pages"]:
        pdf.para(text["other_pages"], "B")
        for other in data["other_pages"]:
            pdf.item(f"{other['name']}: {other['address']}")

    pdf.heading(text["step2"])
    if data["email"]:
        pdf.para(data["email"], "B", 12)
    pdf.para(f"{text['report']} {data['report_address']}")
    pdf.para(text["hints_intro"])
    for hint in data["hints"]:
        pdf.item(hint)

    pdf.heading(text["step3"])
    if data["phone"]:
        pdf.para(f"{text['desk']}: {data['phone']}", "B", 12)
    pdf.para(data["office_hours_title"], "B")
    for line in data["office_hours"]:
        pdf.item(line)
    if data["after_hours_phone"]:
        pdf.ln(1)
        pdf.para(f"{text['after_hours']}: {data['after_hours_phone']}", "B", 12)
        if data["after_hours_for"]:
            pdf.para(data["after_hours_for"])
        for line in data["after_hours_hours"]:
            pdf.item(line)
        pdf.para(text["pin"], "B")
    pdf.ln(1)
    pdf.para(text["recorded"])
    pdf.para(text["resolved"])
    pdf.ln(3)
    pdf.set_text_color(90, 90, 90)
    pdf.para(data["footer"], "", 9)
    return bytes(pdf.output())


def page_handout(
    page: Page, snapshot: PageSnapshot, other_pages: list[dict[str, str]], language: str
) -> tuple[dict[str, Any], bytes]:
    """(data, pdf bytes) for a page: a convenience for views and tests."""
    data = handout(snapshot, other_pages, language)
    return data, handout_pdf(data, snapshot.page.accent_colour)
