"""Celery tasks of the domain: thin wrappers that call a service (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task

from incidents import services


@shared_task(name="incidents.run_maintenance_clock", ignore_result=True)
def run_maintenance_clock() -> dict:
    """Every minute: start, complete and remind about maintenance that is due."""
    run = services.run_maintenance_clock()
    return {"started": run.started, "completed": run.completed, "reminded": run.reminded}


@shared_task(name="incidents.roll_up_uptime", ignore_result=True)
def roll_up_uptime() -> int:
    """Every quarter hour: rebuild yesterday's and today's uptime rows of every component."""
    return services.roll_up_uptime()


@shared_task(name="incidents.relay_events", ignore_result=True)
def relay_events() -> dict:
    """Every few seconds: publish committed events that their process left unpublished."""
    from incidents import relay

    published, failing = relay.relay_pending(older_than=relay.ORPHAN_SECONDS)
    return {"published": published, "failing": failing}


@shared_task(name="incidents.restore_resolved_alerts", ignore_result=True)
def restore_resolved_alerts() -> int:
    """Every 15 s: put back components whose resolved alerts' hold-down ran out."""
    return services.restore_resolved_alerts()


@shared_task(name="incidents.send_customer_sign_in_link", ignore_result=True)
def send_customer_sign_in_link(member_id: int, language: str, site: str) -> None:
    """Mail a customer's person their one-time sign-in link (queued after the request, so
    the answer takes as long for an unknown address as for a known one)."""
    from incidents.services.customer_access import mail_sign_in_link

    mail_sign_in_link(member_id, language, site)
