"""Writes to customers as the management API's audiences (Statuspage's page access groups and
users): a group is a customer, its components the services it uses; a user is an invited
address of that customer. Assigning components never changes their visibility.
"""

from __future__ import annotations

from incidents.models import Customer, CustomerDomain, CustomerMember


def customer_for_address(email: str) -> Customer | None:
    """The customer an address belongs to: an invited (or signed-in) person's, else the one
    owning its mail domain (2 queries at most)."""
    email = (email or "").strip().lower()
    member = CustomerMember.objects.select_related("customer").filter(email=email).first()
    if member is not None:
        return member.customer
    domain = email.rpartition("@")[2]
    found = CustomerDomain.objects.select_related("customer").filter(domain=domain).first()
    return found.customer if found else None
