"""Subscribers in the admin: per page, CSV import as confirmed, export, remove."""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from notifications.models import Subscriber

CHANGELIST = "/admin/notifications/subscriber/"


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("subscribers.csv", text.encode(), content_type="text/csv")


def test_importing_a_csv_creates_confirmed_subscribers_and_reports_bad_lines(
    client, alice, it_page
):
    Subscriber.objects.create(page=it_page, email="old@example.com")  # pending: gets confirmed
    client.force_login(alice)
    csv_text = "email,language\nAnn@Example.com,nl\nold@example.com,en\nnot an address,en\n\n"
    response = client.post(
        f"{CHANGELIST}import/", {"page": it_page.pk, "file": upload(csv_text)}, follow=True
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "Imported 1 new subscribers, confirmed 1 existing" in text
    assert "Skipped 1 invalid addresses: not an address" in text
    ann = Subscriber.objects.get(email="ann@example.com")
    assert ann.confirmed_at is not None and ann.language == "nl" and ann.page == it_page
    assert Subscriber.objects.get(email="old@example.com").confirmed_at is not None


def test_an_engineer_cannot_import_into_or_see_another_pages_subscribers(
    client, alice, bob, it_page, phone_page
):
    Subscriber.objects.create(page=it_page, email="it-customer@example.com")
    Subscriber.objects.create(page=phone_page, email="phone-customer@example.com")
    client.force_login(bob)
    listing = client.get(CHANGELIST).content.decode()
    assert "phone-customer@example.com" in listing
    assert "it-customer@example.com" not in listing
    response = client.post(
        f"{CHANGELIST}import/", {"page": it_page.pk, "file": upload("x@example.com\n")}
    )
    assert response.status_code == 200  # the form again, with an error on the page field
    assert "Select a valid choice" in response.content.decode()
    assert not Subscriber.objects.filter(email="x@example.com").exists()
    other = Subscriber.objects.get(email="it-customer@example.com")
    assert client.get(f"{CHANGELIST}{other.pk}/change/").status_code == 302  # not found for bob


def test_export_and_remove_selected_subscribers(client, alice, it_page):
    now = timezone.now()
    a = Subscriber.objects.create(page=it_page, email="a@example.com", confirmed_at=now)
    b = Subscriber.objects.create(page=it_page, email="b@example.com", language="nl")
    client.force_login(alice)
    response = client.post(CHANGELIST, {"action": "export_csv", "_selected_action": [a.pk, b.pk]})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["email", "language"]
    assert [r[:2] for r in rows[1:]] == [["a@example.com", "en"], ["b@example.com", "nl"]]
    assert rows[1][3] and not rows[2][3]  # confirmed_at only for a

    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [b.pk], "post": "yes"}
    )
    assert response.status_code == 302
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["a@example.com"]


def test_editing_a_subscriber_goes_through_the_service_and_keeps_to_its_page(
    client, admin_user_, it_page, phone_page
):
    # The admin saved the model directly: a superuser (or an engineer of both pages) could give
    # an IT subscriber a telephony component, and change the address past every check.
    subscriber = Subscriber.objects.create(page=it_page, email="ann@example.com")
    inbound = phone_page.components.get(name="Inbound calls")
    vpn = it_page.components.get(name="VPN")
    client.force_login(admin_user_)
    url = f"{CHANGELIST}{subscriber.pk}/change/"
    form = {"language": "nl", "components": [inbound.pk], "email": "evil@example.com"}
    response = client.post(url, form, follow=True)
    assert "Choose components of this page only." in response.content.decode()
    subscriber.refresh_from_db()
    assert subscriber.language == "en" and not subscriber.components.exists()

    client.post(url, {**form, "components": [vpn.pk]})
    subscriber.refresh_from_db()
    assert subscriber.language == "nl" and list(subscriber.components.all()) == [vpn]
    assert subscriber.email == "ann@example.com"  # read-only here
    # Adding is for a page's own webhook or chat channels; email subscribers subscribe themselves.
    add = client.get(f"{CHANGELIST}add/").content.decode()
    assert 'value="chat"' in add and 'value="webhook"' in add and 'value="email"' not in add
    assert client.get(f"{CHANGELIST}import/").status_code == 200
