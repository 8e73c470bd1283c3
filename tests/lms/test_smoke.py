from tests.factories import make_org, make_user


def test_home_and_login(app, client, session, auth):
    org = make_org(session, name="Ghana Employers' Association")
    make_user(session, email="ama@example.org", org=org)
    session.commit()
    assert client.get("/").status_code == 200
    response = auth.login("ama@example.org")
    assert response.status_code == 302
    page = client.get("/organisations/mine")
    assert b"Ghana Employers&#39; Association" in page.data
