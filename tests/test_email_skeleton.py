"""`build_message` (the rendering serialized once, recipients' values put in place) writes the
same bytes as `build_message_reference` (a whole EmailMessage per recipient), and takes the
reference path for any value it cannot prove safe."""

from __future__ import annotations

import datetime as dt
import random
import string
from email import message_from_bytes, policy

import pytest

from incidents.models import IncidentUpdate, Page
from notifications import emails

WHEN = dt.datetime(2026, 11, 30, 2, 30, 5, 123456, tzinfo=dt.UTC)


def rendered(page_name: str = "IT-diensten ✓", title: str = "VPN slow in Utrecht", body=None):
    page = Page(slug="it", name=page_name, time_zone="Europe/Amsterdam")
    text = body or "\n\n".join(["We are investigating slow **VPN** connections. " * 6] * 4)
    update = IncidentUpdate(status="investigating", body=text)
    content = emails.NoticeContent(
        page=page, incident_id=42, incident_name=title, kind="incident",
        status="investigating", update=update, components=[],
    )  # fmt: skip
    return emails.render_notice(content, "nl", ())


def both(notice, **values) -> tuple[bytes, bytes]:
    fast = emails.build_message(notice, date=WHEN, **values)
    reference = emails.build_message_reference(notice, date=WHEN, **values)
    return fast, reference


def test_same_bytes_as_a_whole_emailmessage_per_recipient():
    notice = rendered()
    token = "Ab3_-" * 8 + "xyz"  # 43 URL-safe characters, like a subscriber's token
    fast, reference = both(notice, to="dana@example.com", token=token, message_id="<n1.d7@x.nl>")
    assert fast == reference
    assert notice.skeleton is not None  # the fast path was taken, not the fallback
    message = message_from_bytes(fast, policy=policy.default)
    assert message["To"] == "dana@example.com"
    assert message["Message-ID"] == "<n1.d7@x.nl>"
    # One line, the bracketed URL itself (RFC 2369), never folded into encoded words.
    assert (
        f"\r\nList-Unsubscribe: <http://127.0.0.1:8000/p/it/unsubscribe/{token}/>\r\n".encode()
        in fast
    )
    for kind in ("plain", "html"):
        body = message.get_body((kind,)).get_content()
        assert f"unsubscribe/{token}/" in body and f"subscription/{token}/" in body
        assert emails.TOKEN not in body
    # A second recipient from the same skeleton: nothing of the first one is left.
    second = emails.build_message(notice, to="eva@example.org", token="t2", message_id="<m@x>")
    assert b"dana@" not in second and token.encode() not in second
    assert message_from_bytes(second, policy=policy.default)["To"] == "eva@example.org"


@pytest.mark.parametrize(
    "page_name, title",
    [
        ("IT", "Short"),
        ("IT-diensten ✓", "Storing → opgelost? " * 6),  # RFC 2047, folded over lines
        ("IT\r\nReply-To: evil@evil.example", "Outage\r\nBcc: victim@evil.example"),
    ],
)
def test_same_bytes_for_folded_encoded_and_hostile_shared_headers(page_name, title):
    notice = rendered(page_name, title, body="Line one.\n\n" + "Lange regel é " * 40)
    fast, reference = both(notice, to="a.b+c@sub.example.com", token="tok", message_id="<m@x>")
    assert fast == reference
    message = message_from_bytes(fast, policy=policy.default)
    assert message["Bcc"] is None and message["Reply-To"] is None


def test_the_boundary_cannot_occur_in_a_body():
    boundary = None
    notice = rendered(body="--=_sp_ trying to close the part\n\n=_sp_ again")
    fast = emails.build_message(notice, to="d@example.com", token="t", message_id="<m@x>")
    boundary = message_from_bytes(fast, policy=policy.default).get_boundary()
    assert fast.count(f"--{boundary}".encode()) == 3  # two parts and the closing line


HOSTILE = [
    "dana@example.com\r\nBcc: victim@evil.example",
    "dana@example.com\nBcc: victim@evil.example",
    "Dana <dana@example.com>",
    '"dana smith"@example.com',
    "dana@example.com, eve@evil.example",
    "dåna@example.com",
    "dana@exämple.com",
    "a" * 64 + "@" + "b" * 60 + ".example",
    ".dana@example.com",
    "dana..x@example.com",
    "dana@@example.com",
    "dana@",
]


@pytest.mark.parametrize("to", HOSTILE)
def test_an_address_outside_the_safe_rules_takes_the_reference_path(to):
    notice = rendered()
    try:
        reference = emails.build_message_reference(
            notice, to=to, token="t", message_id="<m@x>", date=WHEN
        )
    except Exception as refused:  # noqa: BLE001 (whatever it is, the fast path must agree)
        with pytest.raises(type(refused)):
            emails.build_message(notice, to=to, token="t", message_id="<m@x>", date=WHEN)
        return
    assert emails.build_message(notice, to=to, token="t", message_id="<m@x>", date=WHEN) == (
        reference
    )
    assert b"\r\nBcc:" not in reference


@pytest.mark.parametrize("token", ["t\r\nBcc: x@y", "tok=3D", "tok en", "tök"])
@pytest.mark.parametrize("message_id", ["<m@x>", "<m@x>\r\nBcc: x@y", "<m x@y>", "m@x"])
def test_tokens_and_message_ids_outside_the_rules_take_the_reference_path(token, message_id):
    notice = rendered()
    values = {"to": "d@example.com", "token": token, "message_id": message_id}
    try:
        reference = emails.build_message_reference(notice, date=WHEN, **values)
    except Exception as refused:  # noqa: BLE001 (whatever it is, the fast path must agree)
        with pytest.raises(type(refused)):
            emails.build_message(notice, date=WHEN, **values)
        return
    assert emails.build_message(notice, date=WHEN, **values) == reference
    head = reference.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in head


def test_random_values_give_the_reference_bytes_or_the_same_refusal():
    """Addresses, tokens and ids drawn from printable ASCII plus CR, LF, space and non-ASCII."""
    notice = rendered()
    rng = random.Random(18)
    alphabet = string.printable + "é✓\r\n"
    for _ in range(300):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        domain = "".join(rng.choice(string.ascii_lowercase + ".-") for _ in range(8)) + ".nl"
        token = "".join(rng.choice(string.ascii_letters + "-_=\r\n") for _ in range(10))
        values = {"to": f"{local}@{domain}", "token": token, "message_id": f"<{local}@x>"}
        try:
            reference = emails.build_message_reference(notice, date=WHEN, **values)
        except Exception as refused:  # noqa: BLE001 (whatever it is, the fast path must agree)
            with pytest.raises(type(refused)):
                emails.build_message(notice, date=WHEN, **values)
            continue
        assert emails.build_message(notice, date=WHEN, **values) == reference, values
