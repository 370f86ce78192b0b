from portal.accounts.models import User
from portal.notifications.models import OutboxEmail


def test_signup_confirm_login(client, mailbox, ctx):
    response = client.submit("/signup", {
        "display_name": "Ama Koffi", "email": "Ama@Example.test",
        "password": "lagune bleue sous la pluie", "confirm": "lagune bleue sous la pluie",
        "locale": "fr", "timezone": "Africa/Lome",
    })
    assert response.status_code == 302, response.get_data(as_text=True)
    with ctx() as session:
        user = session.query(User).one()
        assert user.email == "ama@example.test"
        assert user.email_confirmed_at is None
        assert session.query(OutboxEmail).count() == 1
    report = mailbox.deliver()
    assert report.sent == 1
    message = mailbox.last_to("ama@example.test")
    path = mailbox.path(message, "/confirm/")
    page = client.get(path)
    assert page.status_code == 200
    response = client.submit(path, {})
    assert response.status_code == 302
    with ctx() as session:
        assert session.query(User).one().email_confirmed_at is not None
