"""Reads about what was sent, for the engineers' admin: how many subscribers each update of an
incident notified, by channel (email, webhook, chat) and by how far the sending got."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Delivery, Subscriber

UPDATE_KEY = re.compile(r":update-(\d+)$")


@dataclass
class ChannelCount:
    channel: str
    total: int = 0
    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The channel in words ("email", "webhook", "chat")."""
        return str(dict(Subscriber.Kind.choices).get(self.channel, self.channel)).lower()

    @property
    def sent(self) -> int:
        return self.by_state.get(Delivery.State.SENT, 0)

    @property
    def failed(self) -> int:
        return self.by_state.get(Delivery.State.FAILED, 0)

    @property
    def waiting(self) -> int:
        return self.total - self.sent - self.failed


def deliveries_by_update(incident_id: int) -> dict[int, list[ChannelCount]]:
    """{update id: one count per channel, email first}, in one query."""
    rows = (
        Delivery.objects.filter(notification__incident_id=incident_id)
        .values("notification__key", "channel", "state")
        .annotate(n=Count("id"))
    )
    counts: dict[int, dict[str, ChannelCount]] = {}
    for row in rows:
        match = UPDATE_KEY.search(row["notification__key"])
        if match is None:
            continue  # a reminder or a notice without an update
        per_channel = counts.setdefault(int(match.group(1)), {})
        count = per_channel.setdefault(row["channel"], ChannelCount(row["channel"]))
        count.total += row["n"]
        count.by_state[row["state"]] = count.by_state.get(row["state"], 0) + row["n"]
    order = {"email": 0, "webhook": 1, "chat": 2}
    return {
        update_id: sorted(channels.values(), key=lambda c: (order.get(c.channel, 9), c.channel))
        for update_id, channels in counts.items()
    }


def notified_in_words(counts: list[ChannelCount]) -> str:
    """ "Notified 3 subscribers: 2 by email (2 sent); 1 by webhook (1 queued)"."""
    if not counts:
        return _("No subscriber notified (none follows these components)")
    total = sum(c.total for c in counts)
    parts = []
    for count in counts:
        states = [
            text
            for n, text in (
                (count.sent, _("%(n)s sent") % {"n": count.sent}),
                (count.waiting, _("%(n)s queued") % {"n": count.waiting}),
                (count.failed, _("%(n)s failed") % {"n": count.failed}),
            )
            if n
        ]
        channel = _("by %(channel)s") % {"channel": count.label}
        parts.append(f"{count.total} {channel} ({', '.join(states)})")
    head = ngettext("Notified %(n)s subscriber", "Notified %(n)s subscribers", total) % {"n": total}
    return f"{head}: {'; '.join(parts)}"
