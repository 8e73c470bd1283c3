"""Cross-site scripting, in Chromium: hostile text wherever people's words are shown.

Every payload tries to run script that calls ``alert`` and sets ``window.__xss``. The
pages are served with the app's real Content-Security-Policy turned into
``Content-Security-Policy-Report-Only`` on the way out (``ReportOnlyCSP``): the
browser then runs whatever got through, so that the escaping itself is what is
tested, and still reports everything the real policy would have blocked. A page
fails when a dialog opens, ``window.__xss`` is set, a policy violation is reported,
a script error occurs, the page asks for anything but itself and the stylesheet, or
its DOM holds something that could run script (an ``on...`` attribute, a
``javascript:`` or ``data:`` URL, a script, frame, object, base or refresh element,
a style attribute). Plain-text fields must also show each payload literally.

Payloads are batched: the organisations of one test share the registry pages, the
people of one test share the member list, and so on.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from lms.common import one_line
from tests.factories import make_join_request, make_org, make_run, make_user

S = "window.__xss=1"

#: Markup and URLs that would run script if they reached the page as HTML.
INJECTIONS = [
    # script elements
    f"<script>{S};alert(1)</script>",
    f"<ScRiPt>{S};alert(2)</sCrIpT>",
    f"<script src=data:text/javascript,{S}></script>",
    f"<<script>script>{S}<</script>/script>",
    f"<scr<script>ipt>{S}</scr</script>ipt>",
    # event handlers
    f'<img src=x onerror="{S};alert(3)">',
    f"<IMG SRC=x OnErRoR={S}>",
    "<img src=x onerror=&#x77;&#x69;ndow.__xss=1>",
    "<img src=x:alert(4) onerror=eval(src)>",
    f"<svg onload={S}>",
    f"<svg><script>{S}</script></svg>",
    f"<svg><animate onbegin={S} attributeName=x dur=1s>",
    f'<svg><a xlink:href="javascript:{S}"><text y="20">svg link</text></a></svg>',
    f"<body onload={S}>",
    f"<details open ontoggle={S}>",
    f"<video><source onerror={S}></video>",
    f"<video src=x onerror={S}></video>",
    f"<audio src=x onerror={S}>",
    f"<input autofocus onfocus={S}>",
    f"<marquee onstart={S}>m</marquee>",
    f"<x onclick={S}>custom element</x>",
    # frames, plugins, base, refresh, forms
    f'<iframe src="javascript:parent.{S}"></iframe>',
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    f'<object data="javascript:{S}"></object>',
    '<embed src="data:text/html,<script>parent.__xss=1</script>">',
    f'<base href="javascript:{S}//">',
    f'<meta http-equiv="refresh" content="0;url=javascript:{S}">',
    f'<form action="javascript:{S}"><button>go</button></form>',
    f"<button formaction=javascript:{S}>go</button>",
    # URLs in links and images, HTML and Markdown
    f'<a href="javascript:{S}">click</a>',
    f'<a href="jav&#x09;ascript:{S}">tab</a>',
    '<a href="data:text/html,<script>alert(5)</script>">data link</a>',
    f"[click](javascript:{S})",
    "[click](JaVaScRiPt:alert(6))",
    "[click](&#106;avascript:alert(7))",
    "[click](data:text/html;base64,PHNjcmlwdD5wYXJlbnQuX194c3M9MTwvc2NyaXB0Pg==)",
    f"![image](javascript:{S})",
    "![svg](data:image/svg+xml,<svg onload=alert(8)>)",
    f"<javascript:{S}>",
    f"[ref]\n\n[ref]: javascript:{S}",
    # CSS
    f'<div style="background:url(javascript:{S})">css url</div>',
    f'<p style="width:expression({S})">css expression</p>',
    f"<style>@import 'javascript:{S}';</style>",
    f"<link rel=stylesheet href=javascript:{S}>",
]

#: Written to break out of an attribute value or a raw-text element (title, textarea).
BREAKOUTS = [
    f'"><script>{S}</script>',
    f"'><img src=x onerror={S}>",
    f'" onmouseover="{S}" x="',
    f"' autofocus onfocus='{S}",
    f"</textarea><script>{S}</script>",
    f"</title><script>{S}</script>",
    f"<!--<img src=\"--><img src=x onerror={S}>\">",
    f"<math><mtext><table><mglyph><style><img src=x onerror={S}>",
    f'<noscript><p title="</noscript><img src=x onerror={S}>">',
    # encodings and null bytes matter most where text is an attribute value
    f"&lt;script&gt;{S}&lt;/script&gt;",
    "\\u003cscript\\u003ewindow.__xss=1\\u003c/script\\u003e",
    "%3Cscript%3Ewindow.__xss%3D1%3C%2Fscript%3E",
    "\uff1cscript\uff1ewindow.__xss=1\uff1c/script\uff1e",
    f"<scr\x00ipt>{S}</scr\x00ipt>",
    f"<img\x00src=x onerror={S}>",
    f"\u202e<script>{S}</script>",
]

#: Template and format-string injection: must come out as typed.
TEMPLATES = [
    "{{7*7}} {{config}} {{ config.SECRET_KEY }}",
    "{% for x in range(3) %}loop{% endfor %}",
    "${7*7} #{7*7} <%= 7*7 %>",
    "%(name)s %s {0} {name}",
]
PAYLOADS = INJECTIONS + BREAKOUTS + TEMPLATES

#: An organisation's name other payloads are shown beside ("Member of ...").
PARENT_NAME = f"Parent \"EO\" & <img src=x onerror={S}> 'quoted'"


def shown(text: str, attribute: bool = False) -> str:
    """What a browser makes of escaped text: NUL is dropped from text, replaced in attributes."""
    return text.replace("\x00", "\ufffd" if attribute else "")


def test_the_payloads_are_many_and_distinct():
    assert len(PAYLOADS) >= 40 and len(set(PAYLOADS)) == len(PAYLOADS)
    assert all(p == p.strip() and len(p) <= 200 for p in PAYLOADS)
    # Nothing in the list is an ordinary, harmless string.
    assert all(any(ch in p for ch in "<>{}%$\\&'\"[\uff1c") for p in PAYLOADS)


# -- the detector ------------------------------------------------------------------------

class ReportOnlyCSP:
    """WSGI middleware between the app and the browser: the CSP the app sends becomes
    report-only, and the middleware notes that the app did send one."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            headers = [("Content-Security-Policy-Report-Only", value) if name.lower() == "content-security-policy"
                       else (name, value) for name, value in headers]
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


WATCH_INIT = """
(() => {
  const seen = [];
  Object.defineProperty(window, '__cspViolations', {value: seen});
  document.addEventListener('securitypolicyviolation',
    e => seen.push(e.violatedDirective + ' blocked=' + e.blockedURI + ' sample=' + e.sample));
})();
"""

#: Two frames and a task: handlers queued after load (ontoggle, onfocus) have run.
SETTLE = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 0))))"

DOM_SCAN = r"""
() => {
  const found = [];
  const risky = /^(javascript|data|vbscript):/i;
  const tidy = v => (v || '').replace(/[\u0000-\u0020]/g, '');
  const forbidden = new Set(['script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'style',
    'template', 'portal', 'svg', 'math', 'video', 'audio', 'source', 'marquee', 'x', 'animate', 'set', 'noscript']);
  const urlAttributes = new Set(['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'poster',
    'background', 'cite', 'codebase', 'srcset']);
  for (const el of document.querySelectorAll('*')) {
    const tag = el.localName;
    const where = () => el.outerHTML.slice(0, 120);
    if (forbidden.has(tag)) found.push('element: ' + where());
    if (tag === 'meta' && !(el.hasAttribute('charset') || ['viewport', 'robots'].includes(el.getAttribute('name'))))
      found.push('meta: ' + where());
    if (tag === 'link' && !(el.rel === 'stylesheet' && new URL(el.href).origin === location.origin))
      found.push('link: ' + where());
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      if (name.startsWith('on') || ['style', 'srcdoc', 'formaction', 'autofocus'].includes(name))
        found.push('attribute ' + name + ': ' + where());
      if (urlAttributes.has(name) && risky.test(tidy(a.value))) found.push('url ' + name + ': ' + where());
    }
  }
  return found;
}
"""


@dataclass
class Watch:
    """Everything the browser did that it should not have, per page visited."""

    page: object
    base: str
    problems: list = field(default_factory=list)
    visited: list = field(default_factory=list)
    text: str = ""
    _events: list = field(default_factory=list)

    def __post_init__(self):
        self.page.context.add_init_script(WATCH_INIT)
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda m: self._events.append(f"console {m.type}: {m.text}")
                     if "Content Security Policy" in m.text or "__xss" in m.text else None)
        self.page.on("pageerror", lambda e: self._events.append(f"script error: {e}"))
        self.page.on("request", self._request)

    def _dialog(self, dialog):
        self._events.append(f"dialog {dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _request(self, request):
        url = request.url
        if url.startswith(self.base + "/static/") or url == self.base + "/favicon.ico":
            return
        if request.is_navigation_request() and request.frame == self.page.main_frame and url.startswith(self.base):
            return
        self._events.append(f"request: {request.method} {url[:150]}")

    def goto(self, path: str) -> None:
        self.check(self.page.goto(self.base + path), path)

    def submit(self, button, label: str) -> None:
        with self.page.expect_navigation() as navigation:
            button.click()
        self.check(navigation.value, label)

    def check(self, response, label: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        page.evaluate(SETTLE)
        problems = list(self._events)
        self._events.clear()
        assert response is not None and response.status < 500, (label, response and response.status)
        if "content-security-policy-report-only" not in response.headers:
            problems.append("the app sent no Content-Security-Policy")
        for frame in page.frames:
            try:
                state = frame.evaluate("() => [typeof window.__xss, window.__cspViolations || []]")
            except Exception as exc:  # noqa: BLE001 - a frame an injection navigated away
                problems.append(f"frame {frame.url[:80]}: {exc}")
                continue
            if state[0] != "undefined":
                problems.append(f"window.__xss was set in {frame.url[:80]}")
            problems += [f"CSP violation: {v}" for v in state[1]]
        problems += page.evaluate(DOM_SCAN)
        if not page.url.startswith(self.base):
            problems.append(f"navigated away to {page.url[:80]}")
        if problems:
            self.problems.append((label, problems))
        self.visited.append(label)
        self.text += "\n" + page.evaluate("() => document.documentElement.textContent")

    def missing(self, texts) -> list[str]:
        """The texts not shown literally on any page visited so far."""
        return [t for t in texts if shown(t) not in self.text]


@pytest.fixture
def watch(live_app, live_server, page):
    live_app.wsgi_app = ReportOnlyCSP(live_app.wsgi_app)
    return Watch(page, live_server)


def log_in(watch, email):
    page = watch.page
    page.goto(watch.base + "/account/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill("correct horse battery")
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    assert "/account/login" not in page.url


def sessionmaker(app):
    return app.extensions["lms"].sessionmaker


# -- the detector can fail -----------------------------------------------------------------

def test_the_detector_catches_script_in_a_plain_page(page):
    watch = Watch(page, "http://127.0.0.1:9")
    page.set_content(f'<p>x</p><img src="data:," onerror="{S};alert(1)"><a href="javascript:{S}">a</a>')
    page.evaluate(SETTLE)
    assert page.evaluate("() => window.__xss") == 1
    assert any(e.startswith("dialog alert") for e in watch._events)
    found = page.evaluate(DOM_SCAN)
    assert any("onerror" in f for f in found) and any("url href" in f for f in found)


@pytest.fixture
def unsafe_route(live_app):
    """A throwaway page that shows its input unescaped, inside the app's own layout."""
    from flask import render_template_string, request

    def unsafe():
        return render_template_string('{% extends "lms/base.html" %}{% block content %}{{ html|safe }}{% endblock %}',
                                      html=request.args.get("html", ""))

    live_app.add_url_rule("/xss-control", "xss_control", unsafe)


def test_the_detector_catches_script_in_an_app_page(unsafe_route, watch):
    from urllib.parse import quote

    for payload, expected in [
        (f"<img src=x onerror={S}>", ("window.__xss was set", "CSP violation", "request: GET", "attribute onerror")),
        ("<script>alert(9)</script>", ("dialog alert: 9", "CSP violation", "element: <script")),
        (f'<a href="javascript:{S}">a</a>', ("url href",)),
        (f'<p style="color:red">{S}</p>', ("CSP violation", "attribute style")),
        (f"<details open ontoggle={S}>", ("window.__xss was set", "attribute ontoggle")),
    ]:
        watch.problems.clear()
        watch.goto("/xss-control?html=" + quote(payload))
        assert watch.problems, payload
        reported = " | ".join(watch.problems[0][1])
        for words in expected:
            assert words in reported, (payload, words, reported)
    watch.problems.clear()
    watch.goto("/xss-control?html=" + quote("<p>harmless</p>"))
    assert watch.problems == []


# -- (a) Markdown course content -------------------------------------------------------------

def write_course(folder):
    lessons = folder / "lessons"
    lessons.mkdir(parents=True)
    body = "\n\n".join(PAYLOADS) + "\n\nEND OF THE HOSTILE LESSON\n"
    (folder / "course.md").write_text(
        "---\nslug: hostile-markdown\n"
        f"title: {json.dumps('</title><script>' + S + '</script> Hostile course')}\n"
        f"summary: {json.dumps('<img src=x onerror=' + S + '> summary')}\n"
        "language: en\naudience: all\nsectors: [other]\nestimated_minutes: 10\nas_of: 2025-12-01\n"
        "prerequisites: []\nlessons:\n  - 01-payloads.md\n---\n\n" + body, encoding="utf-8")
    (lessons / "01-payloads.md").write_text(
        f"---\ntitle: {json.dumps('</title><svg onload=' + S + '> Hostile lesson')}\nminutes: 5\n---\n\n" + body,
        encoding="utf-8")


def test_markdown_lessons_and_overviews(live_app, watch, tmp_path):
    from courses.content import import_course
    from courses.services import enrol

    write_course(tmp_path / "hostile-markdown")
    with sessionmaker(live_app)() as session:
        result = import_course(session, tmp_path / "hostile-markdown")
        reader = make_user(session, email="reader@example.org", name="Reader")
        enrol(session, reader, result.course)
        session.commit()
    log_in(watch, "reader@example.org")
    watch.goto("/courses/")
    watch.goto("/courses/hostile-markdown")
    watch.goto("/courses/hostile-markdown/lessons/1")
    assert watch.problems == []
    assert watch.text.count("END OF THE HOSTILE LESSON") == 2  # nothing swallowed the rest
    assert "Hostile lesson" in watch.text and "Hostile course" in watch.text
    # Markdown makes "*7} #{7*" emphasis; the other template strings pass as typed.
    assert watch.missing([t for t in TEMPLATES if "#{7*7}" not in t]) == []
    assert "49" not in watch.text and "test-secret" not in watch.text


# -- (b) people's names ------------------------------------------------------------------------

def test_names_on_member_lists_records_and_certificates(live_app, watch):
    from lms.db import utcnow
    from lms.records.services import record_completion

    with sessionmaker(live_app)() as session:
        org = make_org(session, name="Cocoa Employers")
        make_user(session, email="sec@example.org", name=BREAKOUTS[2], role="secretariat")
        codes = []
        for n, payload in enumerate(PAYLOADS):
            person = make_user(session, email=f"member{n}@example.org", name=payload, org=org)
            record = record_completion(session, person, item_type="course", item_id=1, item_key="dd-essentials",
                                       item_version=1, item_title="Due diligence essentials", issuer="Alliance 8.7")
            if n % 2:
                record.revoked_at, record.revoked_reason = utcnow(), payload
            codes.append(record.certificate_code)
            applicant = make_user(session, email=f"applicant{n}@example.org", name=f"Applicant {n}")
            make_join_request(session, applicant, org, message=payload)
        session.commit()
        org_id = org.id
    log_in(watch, "sec@example.org")
    watch.goto("/account/profile")
    watch.goto(f"/organisations/{org_id}/members")
    for page_number in (1, 2, 3):
        watch.goto(f"/reports/organisations/{org_id}?page={page_number}")
    member_text = watch.text
    for code in codes:
        watch.goto(f"/records/verify/{code}")
    watch.goto("/admin/users?q=member")
    assert watch.problems == []
    assert watch.missing(PAYLOADS) == []
    assert [p for p in PAYLOADS if shown(p) not in member_text] == []
    assert watch.text.count("Reason: ") >= len(PAYLOADS) // 2


# -- (c) organisation names ------------------------------------------------------------------

def test_organisation_names_in_the_registry_and_the_reports(live_app, watch):
    with sessionmaker(live_app)() as session:
        parent = make_org(session, name=PARENT_NAME, kind="employers_organisation")
        children = [make_org(session, name=payload, kind="sme", parent=parent, size_band="micro")
                    for payload in PAYLOADS]
        make_user(session, email="sec@example.org", name="Secretariat", role="secretariat")
        session.commit()
        parent_id, child_ids = parent.id, [c.id for c in children]
    log_in(watch, "sec@example.org")
    pages = (len(PAYLOADS) + 1 + 24) // 25
    for n in range(1, pages + 1):
        watch.goto(f"/organisations/?page={n}")
        watch.goto(f"/reports/organisations?page={n}")
    watch.goto(f"/organisations/{parent_id}")
    watch.goto(f"/reports/organisations/{parent_id}/cascade")
    # A name is also the page's <title> and the edit form's input value: the breakouts there.
    values = []
    for n, child_id in enumerate(child_ids):
        if PAYLOADS[n] in BREAKOUTS:
            watch.goto(f"/organisations/{child_id}")
            watch.goto(f"/organisations/{child_id}/edit")
            values.append((watch.page.locator("input[name=name]").input_value(),
                           shown(one_line(PAYLOADS[n]), attribute=True)))
    assert watch.problems == []
    # Names are kept on one line (lms.common.one_line): a payload's line breaks are spaces.
    assert watch.missing([one_line(p) for p in PAYLOADS] + [PARENT_NAME]) == []
    assert len(values) == len(BREAKOUTS) and [(v, e) for v, e in values if v != e] == []


# -- (d) workshop registration answers --------------------------------------------------------

def test_registration_answers_shown_to_the_organiser(live_app, watch):
    from datetime import timedelta

    from lms.db import utcnow
    from tests.support.db import writing
    from workshops.services import registration as booking

    with sessionmaker(live_app)() as session:
        host = make_org(session, name="Host Employers")
        make_user(session, email="organiser@example.org", name="Organiser", org=host, manager=True)
        # Under way (attendance is taken only once a session has started).
        run = make_run(session, capacity=len(PAYLOADS) // 2, host=host, sessions=1,
                       starts=utcnow().replace(microsecond=0) - timedelta(minutes=10))
        people = [make_user(session, email=f"participant{n}@example.org", name=payload)
                  for n, payload in enumerate(PAYLOADS)]
        session.commit()
        run_id, session_id, person_ids = run.id, run.sessions[0].id, [p.id for p in people]
    from lms.accounts.models import User

    for person_id, payload in zip(person_ids, PAYLOADS):
        with writing(live_app) as db:
            booking.register(db, run_id, db.get(User, person_id), stakeholder_category="supplier",
                             accessibility_needs=payload)
            db.commit()
    log_in(watch, "organiser@example.org")
    watch.goto(f"/workshops/runs/{run_id}/manage")
    watch.goto(f"/workshops/runs/{run_id}/sessions/{session_id}/roster")
    assert watch.problems == []
    assert watch.missing(PAYLOADS) == []
    cells = watch.page.evaluate("() => document.querySelectorAll('input[name=present]').length")
    assert cells == len(PAYLOADS) // 2  # the confirmed half; the rest wait on the list


# -- (e) a CSV member import -------------------------------------------------------------------

def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(["email", "name", "role"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_names_and_emails_in_the_import_report(live_app, watch):
    # A NUL byte is not CSV text: the rows with one are left out of the files.
    payloads = [p for p in PAYLOADS if "\x00" not in p]
    with sessionmaker(live_app)() as session:
        org = make_org(session, name="Importing Employers")
        make_user(session, email="manager@example.org", name="Manager", org=org, manager=True)
        session.commit()
        org_id = org.id
    log_in(watch, "manager@example.org")
    page = watch.page
    uploads = {
        "names": csv_bytes([(f"new{n}@example.org", p, "member") for n, p in enumerate(payloads)]),
        "emails": csv_bytes([(p, f"Person {n}", "member") for n, p in enumerate(payloads)]),
    }
    for label, data in uploads.items():
        watch.goto(f"/organisations/{org_id}/import")
        page.locator("input[type=file]").set_input_files(
            files=[{"name": f"{label}.csv", "mimeType": "text/csv", "buffer": data}])
        watch.submit(page.get_by_role("button", name="Import"), f"import of {label}")
        heading = page.locator("#report-title").inner_text()
        assert heading == (f"Done: {len(payloads)} rows imported" if label == "names" else "Nothing was imported")
    assert watch.problems == []
    assert watch.missing(payloads) == []
    with sessionmaker(live_app)() as session:
        from lms.orgs.models import Invitation

        names = set(session.scalars(select(Invitation.name)))
    assert names == {one_line(p) for p in payloads}  # names are kept on one line

