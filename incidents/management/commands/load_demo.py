"""Load a realistic demo: an IT-services page (English) and a telephony page (Dutch) with
history.

Each page's texts are written in its own language, with a translation into the other one
(`*_translations`), so a visitor of either page reads it in their language.
Idempotent: does nothing when the demo pages exist (use --reset to start over).
"""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from incidents import services
from incidents.models import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Contract,
    Customer,
    Incident,
    IncidentTemplate,
    IncidentUpdate,
    Page,
    SupportHours,
    Visibility,
)
from incidents.services.customer_access import save_customer

DEMO = services.System("demo data", kind="command")

# The other language's text of each demo text: Dutch for the English IT page, English for the
# Dutch telephony page (customers are addressed formally in Dutch: "u", "wij").
TRANSLATIONS = {
    # IT services (en) -> nl
    "Network": "Netwerk",
    "Workplace": "Werkplek",
    "Internet access": "Internettoegang",
    "Wi-Fi in offices": "Wifi op kantoor",
    "Email hosting": "E-mailhosting",
    "File sharing": "Bestanden delen",
    "Microsoft 365 sign-in": "Aanmelden bij Microsoft 365",
    "Virtual servers": "Virtuele servers",
    "Backups": "Back-ups",
    "Internet access disrupted": "Internettoegang verstoord",
    "We are aware of a disruption of internet access and are investigating.": (
        "Wij zijn op de hoogte van een verstoring van de internettoegang en onderzoeken dit."
    ),
    "Email delivery delayed": "Bezorging van e-mail vertraagd",
    "VPN connections dropping": "VPN-verbindingen vallen weg",
    "Backups ran late": "Back-ups liepen vertraging op",
    "Internet access disrupted in the Utrecht region": (
        "Internettoegang verstoord in de regio Utrecht"
    ),
    "We are aware of a disruption of internet access for customers in the Utrecht region and "
    "are investigating.": (
        "Wij zijn op de hoogte van een verstoring van de internettoegang voor klanten in de "
        "regio Utrecht en onderzoeken dit."
    ),
    "A fibre cable between Utrecht and Amsterdam was damaged by construction work. Our "
    "carrier's engineers are on site.": (
        "Een glasvezelkabel tussen Utrecht en Amsterdam is bij graafwerkzaamheden beschadigd. "
        "De monteurs van onze provider zijn ter plaatse."
    ),
    "Traffic is being rerouted. Some customers may see their connection come back before the "
    "repair is complete.": (
        "Het verkeer wordt omgeleid. Bij een deel van de klanten kan de verbinding al terugkomen "
        "voordat de reparatie klaar is."
    ),
    "We found the cause and are working on a fix.": (
        "Wij hebben de oorzaak gevonden en werken aan een oplossing."
    ),
    "A fix is in place. We are watching the results.": (
        "Er is een oplossing doorgevoerd. Wij houden de resultaten in de gaten."
    ),
    # Telephony (nl) -> en
    "Telefonie": "Telephony",
    "Mobiel": "Mobile",
    "Inkomende gesprekken": "Inbound calls",
    "Uitgaande gesprekken": "Outbound calls",
    "Wachtrijen": "Call queues",
    "Mobiel bellen": "Mobile calls",
    "Mobiele data": "Mobile data",
    "Inkomende gesprekken komen niet aan": "Inbound calls are not arriving",
    "Een deel van de inkomende gesprekken komt niet aan. Wij onderzoeken dit samen met onze "
    "provider.": "Some inbound calls do not arrive. We are investigating with our carrier.",
    "Voicemail niet bereikbaar": "Voicemail not reachable",
    "Uitgaande gesprekken mislukken naar sommige nummers": (
        "Outbound calls failing for some numbers"
    ),
    "Wij hebben de oorzaak gevonden en werken aan een oplossing.": (
        "We found the cause and are working on a fix."
    ),
    "Er is een oplossing doorgevoerd. Wij houden de resultaten in de gaten.": (
        "A fix is in place. We are watching the results."
    ),
    "Upgrade van het telefonieplatform": "Telephony platform upgrade",
    "Wij voeren een upgrade uit van het telefonieplatform. Gesprekken kunnen eenmalig enkele "
    "seconden wegvallen.": (
        "We upgrade the telephony platform. Calls may drop once for a few seconds."
    ),
}


OPEN_BODIES = (
    "We are aware of a disruption of internet access for customers in the Utrecht region and "
    "are investigating.",
    "A fibre cable between Utrecht and Amsterdam was damaged by construction work. Our "
    "carrier's engineers are on site.",
    "Traffic is being rerouted. Some customers may see their connection come back before the "
    "repair is complete.",
)
UPGRADE_BODY = (
    "Wij voeren een upgrade uit van het telefonieplatform. Gesprekken kunnen eenmalig enkele "
    "seconden wegvallen."
)


def other(page: Page, text: str) -> dict[str, str]:
    """The demo text's translation into the language the page is not written in (if any)."""
    translated = TRANSLATIONS.get(text)
    return {"nl" if page.default_language == "en" else "en": translated} if translated else {}


def _hours(page: Page) -> None:
    for weekday in range(5):
        SupportHours.objects.create(
            page=page, line="office", weekday=weekday, opens=dt.time(8), closes=dt.time(17, 30)
        )
    for weekday in range(7):
        SupportHours.objects.create(
            page=page, line="after_hours", weekday=weekday, opens=dt.time(6), closes=dt.time(22)
        )


def _backdate(incident: Incident, started: dt.datetime, step: dt.timedelta) -> None:
    """Spread an incident's updates, and the status changes they made, over the past.

    Demo data only: history is normally written live. A status change happened at the same
    moment as the update that made it, so each moves with its update.
    """
    updates = list(incident.updates.order_by("created_at", "id"))
    moved = {}
    for n, update in enumerate(updates):
        at = started + step * n
        moved[update.created_at] = at
        IncidentUpdate.objects.filter(pk=update.pk).update(
            created_at=at, updated_at=at, display_at=at
        )
    for change in ComponentStatusChange.objects.filter(incident=incident):
        ComponentStatusChange.objects.filter(pk=change.pk).update(
            changed_at=moved.get(change.changed_at, started)
        )
    end = started + step * (len(updates) - 1)
    Incident.objects.filter(pk=incident.pk).update(
        created_at=started,
        started_at=started,
        updated_at=end,
        resolved_at=end if incident.is_resolved else None,
        identified_at=started + step if incident.identified_at else None,
        monitoring_at=end - step if incident.monitoring_at else None,
    )


class Command(BaseCommand):
    help = "Load demo status pages (IT services and telephony) with incidents and history."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Delete the demo pages first.")

    @transaction.atomic
    def handle(self, *args, reset=False, **options):
        if reset:
            Page.objects.filter(slug__in=["it", "telephony"]).delete()
            Customer.objects.filter(code="jansen").delete()
        if Page.objects.filter(slug="it").exists():
            self.stdout.write("Demo data already loaded.")
            return
        now = timezone.now()
        it = services.save_page(
            Page(
                slug="it",
                name="Example IT Services",
                headline="Status of the infrastructure we run for our customers",
                is_default=True,
                time_zone="Europe/Amsterdam",
                default_language="en",
                accent_colour="#0b5cad",
                support_email="support@example.com",
                support_phone="+31 20 555 0100",
                after_hours_phone="+31 20 555 0199",
                after_hours_audience="contracts with 16x7 support",
                support_text="Premium contracts: outside office hours, call your outage number "
                "and enter your PIN.",
            ),
            actor=DEMO,
        )
        phone = services.save_page(
            Page(
                slug="telephony",
                name="Example Telephony",
                headline="Gehoste telefonie, SIP-trunks en mobiel",
                time_zone="Europe/Amsterdam",
                default_language="nl",
                accent_colour="#6b3fa0",
                support_email="support@example.com",
                support_phone="+31 20 555 0100",
                after_hours_phone="+31 20 555 0199",
                after_hours_audience="contracten met 16x7-ondersteuning",
                support_text="Buiten kantoortijden belt u met een 16x7-contract het storingsnummer "
                "en toetst u uw pincode in.",
            ),
            actor=DEMO,
        )
        for page in (it, phone):
            _hours(page)
        groups = {}
        layout = {
            it: {
                "Network": ["Internet access", "VPN", "Wi-Fi in offices"],
                "Workplace": ["Email hosting", "File sharing", "Microsoft 365 sign-in"],
                "Hosting": ["Virtual servers", "Backups", "Websites"],
            },
            phone: {
                "Telefonie": [
                    "Inkomende gesprekken",
                    "Uitgaande gesprekken",
                    "Voicemail",
                    "Wachtrijen",
                ],
                "Mobiel": ["Mobiel bellen", "Mobiele data"],
            },
        }
        components = {}
        for page, page_groups in layout.items():
            for position, (group_name, names) in enumerate(page_groups.items()):
                group = services.save_group(
                    ComponentGroup(
                        page=page,
                        name=group_name,
                        name_translations=other(page, group_name),
                        position=position,
                    ),
                    actor=DEMO,
                )
                groups[group_name] = group
                for n, name in enumerate(names):
                    components[name] = services.create_component(
                        page,
                        actor=DEMO,
                        name=name,
                        name_translations=other(page, name),
                        group=group,
                        position=n,
                    )
        services.create_component(
            it, actor=DEMO, name="Monitoring probe", is_visible=False, position=99
        )
        # One customer's own line: only that customer sees it (in its view, /my/).
        components["Jansen: fibre line Utrecht"] = services.create_component(
            it,
            actor=DEMO,
            name="Jansen: fibre line Utrecht",
            name_translations={"nl": "Jansen: glasvezellijn Utrecht"},
            visibility=Visibility.CUSTOMERS,
            position=50,
        )
        # The components have been watched for months: their history starts 120 days ago.
        since = now - dt.timedelta(days=120)
        Component.objects.filter(page__in=[it, phone]).update(created_at=since)
        ComponentStatusChange.objects.filter(component__page__in=[it, phone]).update(
            changed_at=since
        )
        # Templates with their components: opening one sets them at the status its impact
        # stands for (the admin's board links straight to each).
        for page, name, title, body, held in (
            (
                it,
                "Internet outage",
                "Internet access disrupted",
                "We are aware of a disruption of internet access and are investigating.",
                ["Internet access", "VPN"],
            ),
            (
                phone,
                "Inkomende gesprekken",
                "Inkomende gesprekken komen niet aan",
                "Een deel van de inkomende gesprekken komt niet aan. Wij onderzoeken dit samen "
                "met onze provider.",
                ["Inkomende gesprekken", "Wachtrijen"],
            ),
        ):
            services.save_incident_template(
                IncidentTemplate(
                    page=page,
                    name=name,
                    title=title,
                    title_translations=other(page, title),
                    body=body,
                    body_translations=other(page, body),
                    impact="major",
                ),
                actor=DEMO,
                components=[components[n].pk for n in held],
            )

        # Resolved incidents over the past weeks.
        history = [
            (it, "Email delivery delayed", "Email hosting", "degraded_performance", 3),
            (it, "VPN connections dropping", "VPN", "partial_outage", 9),
            (phone, "Voicemail niet bereikbaar", "Voicemail", "major_outage", 12),
            (it, "Backups ran late", "Backups", "degraded_performance", 20),
            (
                phone,
                "Uitgaande gesprekken mislukken naar sommige nummers",
                "Uitgaande gesprekken",
                "partial_outage",
                34,
            ),
        ]
        for page, title, name, status, days_ago in history:
            dutch = page.default_language == "nl"
            english_name = TRANSLATIONS.get(name, name) if dutch else name
            dutch_name = name if dutch else TRANSLATIONS.get(name, name)
            investigating = {
                "en": f"We are investigating reports about **{english_name}**.",
                "nl": f"Wij onderzoeken meldingen over **{dutch_name}**.",
            }
            language, translation = ("nl", "en") if dutch else ("en", "nl")
            incident = services.open_incident(
                page,
                actor=DEMO,
                name=title,
                name_translations=other(page, title),
                body=investigating[language],
                body_translations={translation: investigating[translation]},
                components={components[name].pk: status},
                deliver_notifications=False,
            )
            for update_status, english in (
                ("identified", "We found the cause and are working on a fix."),
                ("monitoring", "A fix is in place. We are watching the results."),
            ):
                body = TRANSLATIONS[english] if dutch else english
                services.post_update(
                    incident,
                    actor=DEMO,
                    status=update_status,
                    body=body,
                    body_translations=other(page, body),
                    deliver_notifications=False,
                )
            # Without a message: the default text, in both languages.
            services.resolve_incident(incident, actor=DEMO, deliver_notifications=False)
            if title == "VPN connections dropping":
                services.publish_postmortem(
                    incident,
                    actor=DEMO,
                    body="## What happened\n\nA firmware update of one VPN concentrator reset "
                    "its session limit to the default.\n\n## What we changed\n\n"
                    "- The limit is now part of the configuration we deploy.\n"
                    "- Firmware updates go to one concentrator first.",
                )
            incident.refresh_from_db()
            _backdate(
                incident, now - dt.timedelta(days=days_ago, hours=3), dt.timedelta(minutes=25)
            )

        # One open incident with several updates.
        incident = services.open_incident(
            it,
            actor=DEMO,
            name="Internet access disrupted in the Utrecht region",
            name_translations=other(it, "Internet access disrupted in the Utrecht region"),
            body=OPEN_BODIES[0],
            body_translations=other(it, OPEN_BODIES[0]),
            components={
                components["Internet access"].pk: "major_outage",
                components["VPN"].pk: "partial_outage",
            },
            deliver_notifications=False,
        )
        services.post_update(
            incident,
            actor=DEMO,
            status="identified",
            body=OPEN_BODIES[1],
            body_translations=other(it, OPEN_BODIES[1]),
            deliver_notifications=False,
        )
        services.post_update(
            incident,
            actor=DEMO,
            status="identified",
            body=OPEN_BODIES[2],
            body_translations=other(it, OPEN_BODIES[2]),
            components={components["VPN"].pk: "degraded_performance"},
            deliver_notifications=False,
        )
        incident.refresh_from_db()
        _backdate(incident, now - dt.timedelta(hours=1, minutes=20), dt.timedelta(minutes=30))

        # Upcoming maintenance.
        start = (now + dt.timedelta(days=2)).replace(hour=21, minute=0, second=0, microsecond=0)
        services.schedule_maintenance(
            phone,
            actor=DEMO,
            name="Upgrade van het telefonieplatform",
            name_translations=other(phone, "Upgrade van het telefonieplatform"),
            body=UPGRADE_BODY,
            body_translations=other(phone, UPGRADE_BODY),
            scheduled_for=start,
            scheduled_until=start + dt.timedelta(hours=2),
            components=[
                components["Inkomende gesprekken"].pk,
                components["Uitgaande gesprekken"].pk,
            ],
            deliver_notifications=False,
        )
        # A customer with a 16x7 contract: its people sign in at /my/sign-in/ with an address
        # of its domain (the link is mailed; in the embedded mode it is a file in var/mail/).
        save_customer(
            Customer(
                name="Bakkerij Jansen",
                code="jansen",
                contract=Contract.EXTENDED_16X7,
                outage_phone="+31 20 555 0177",
                page=it,
            ),
            actor=DEMO,
            components=[
                components[name]
                for name in (
                    "Jansen: fibre line Utrecht",
                    "Internet access",
                    "VPN",
                    "Inkomende gesprekken",
                )
            ],
            domains=["bakkerij.example"],
            members=["dana@bakkerij.example"],
        )
        services.roll_up_uptime(rebuild=True)
        for page in (it, phone):
            services.touch_page(page, actor=DEMO)
        self.stdout.write(
            self.style.SUCCESS(
                "Loaded demo pages: /p/it/ and /p/telephony/; a customer's view: sign in at "
                "/my/sign-in/ as dana@bakkerij.example (the link is mailed to var/mail/)."
            )
        )
