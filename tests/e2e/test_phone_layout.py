"""Every page fits a 360-pixel phone (issue 12): each GET page of the access test's
table, as each role that may see it, plus the starter content's lessons and quizzes,
in Chromium at 360x740.

A page fails when it is wider than the viewport (at the default text size and at 200%
text), when a visible link, button or form control outside a sentence is smaller than
24x24 CSS px (WCAG 2.5.8; links inside prose are exempt), when a main action (a button)
is under 44 px tall or covered by something else, or when axe-core finds a serious or
critical violation.

200% text is a root font-size of 200% set on the page (what a phone's "large text" or
the browser's font-size setting does: text and everything sized in rem/em doubles, the
layout viewport stays 360 px). CSS zoom or page zoom would also shrink the viewport to
180 CSS px, which is beyond what WCAG 1.4.10 asks (reflow at 320 CSS px).

One server, one database and one browser for the module; one signed-in page per role.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from courses import CONTENT_DIR
from lms.db import Base
from tests.conftest import make_test_app
from tests.factories import PASSWORD
from tests.support.net import serving
from tests.support.phone import PHONE
from tests.lms.test_access import GET_ROUTES, ROLES, build_world

FILES = (".csv", ".xlsx", ".ics", ".pdf", ".json")  # downloads, not pages
NOT_PAGES = {"/healthz", "/account/profile/data"}  # the second is a JSON download

# The starter content, which the table's small factory course does not show: long
# source URLs, tables in lessons, every question type, a self-assessment profile.
COURSES = {folder.name: len(list((folder / "lessons").glob("*.md")))
           for folder in sorted(CONTENT_DIR.iterdir()) if (folder / "course.md").exists()}
CONTENT_PAGES = [
    *((f"/courses/{slug}", "learner") for slug in COURSES),
    *((f"/courses/{slug}/lessons/{n}", "learner") for slug, count in COURSES.items() for n in range(1, count + 1)),
    ("/courses/due-diligence-essentials/attempts/{final_in_progress}", "learner"),
    ("/courses/due-diligence-essentials/attempts/{final_handed_in}/result", "learner"),
    ("/courses/evaluating-msis/attempts/{self_assessment_in_progress}", "learner"),
    ("/courses/evaluating-msis/attempts/{self_assessment_handed_in}/result", "learner"),
    ("/workshops/series/due-diligence-for-smes", "visitor"),
    ("/workshops/series/responsible-sourcing-forum", "visitor"),
]


def table_pages() -> list[tuple[str, str]]:
    """(url, role) for every GET row of the access table and every role it answers 200."""
    return [(url, role) for url, expected in GET_ROUTES for role in ROLES
            if expected[role] == 200 and not url.split("?")[0].endswith(FILES) and url not in NOT_PAGES]


PAGES = table_pages() + CONTENT_PAGES


@pytest.fixture(scope="module")
def phone_app(tmp_path_factory):
    path = tmp_path_factory.mktemp("phone") / "phone.sqlite3"
    app = make_test_app(f"sqlite:///{path}", WTF_CSRF_ENABLED=True)
    Base.metadata.create_all(app.extensions["lms"].engine)
    yield app
    app.extensions["lms"].engine.dispose()


@pytest.fixture(scope="module")
def phone_world(phone_app) -> dict:
    """Loaded once: the access test's world (the table's URLs are filled from it), the
    starter content, and the demo data, so that the registry, the people, the dashboard
    and the records have real names and many rows; the learner enrolled on the starter
    courses, with a quiz attempt handed in and one under way on each."""
    from courses.models import Course
    from courses.services.attempts import start_attempt, submit_attempt
    from courses.services.learning import enrol
    from lms import demo
    from lms.accounts.models import User
    from lms.content import import_all

    state = phone_app.extensions["lms"]
    with phone_app.test_request_context(), state.sessionmaker() as session:
        world = build_world(session)
        import_all(session, None, echo=lambda *_: None)
        demo.load(session, echo=lambda *_: None)
        for loader in state.registry.demo_loaders:
            loader(session, echo=lambda *_: None)
        learner = session.get(User, world["learner"])
        versions = {}
        for slug in COURSES:
            course = session.scalar(select(Course).where(Course.slug == slug))
            enrol(session, learner, course)
            versions[slug] = course.current_version
        final = versions["due-diligence-essentials"].quiz("final")
        world["final_handed_in"] = submit_attempt(session, start_attempt(session, learner, final), {}).id
        world["final_in_progress"] = start_attempt(session, learner, final).id
        survey = next(q for q in versions["evaluating-msis"].quizzes if q.kind == "self_assessment")
        world["self_assessment_handed_in"] = submit_attempt(session, start_attempt(session, learner, survey), {}).id
        world["self_assessment_in_progress"] = start_attempt(session, learner, survey).id
        session.commit()
    return world


@pytest.fixture(scope="module")
def phone_server(phone_app):
    with serving(phone_app) as url:
        yield url


@pytest.fixture(scope="module")
def phone(browser, phone_server, phone_world):
    """One page per role, signed in on first use and kept for the module."""
    pages = {}

    def page_of(role):
        if role not in pages:
            context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
            page = context.new_page()
            if role != "visitor":
                page.goto(phone_server + "/account/login")
                page.get_by_label("Email address").fill(phone_world["users"][role])
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url(lambda url: "/account/login" not in url)
            pages[role] = page
        return pages[role]

    yield page_of
    for page in pages.values():
        page.context.close()


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


# Measured in the page: the document's width, the outermost elements that stick out
# (outside any scrolling region) and, with targets=true, the tap targets. A link is
# "in a sentence" (WCAG 2.5.8's inline exception) when its block of text has words of
# its own outside any link or button.
MEASURE = """(checkTargets) => {
  // the layout viewport: on a phone, innerWidth grows to fit a page that is too wide
  const vw = document.documentElement.clientWidth;
  const targets = 'a[href], button, summary, select, textarea, input:not([type=hidden])';
  const style = el => getComputedStyle(el);
  const isBlock = el => !style(el).display.startsWith('inline') && style(el).display !== 'contents';
  const blockOf = node => { let b = node.parentElement; while (b && !isBlock(b)) b = b.parentElement; return b; };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.classList.length ? '.' + [...el.classList].join('.') : '') +
    ' "' + (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40) + '"';
  const visible = el => {
    const r = el.getBoundingClientRect();
    return el.getClientRects().length && r.width * r.height > 1 && r.right + scrollX > 0 &&
      style(el).visibility !== 'hidden';
  };
  const scrolled = node => {
    for (let a = node.parentElement; a && a !== document.body; a = a.parentElement)
      if (style(a).overflowX !== 'visible') return true;
    return false;
  };
  const inSentence = el => {
    if (el.tagName !== 'A') return false;
    const block = blockOf(el);
    const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      if (t.parentElement.closest(targets) || blockOf(t) !== block) continue;
      if (/[\\p{L}\\p{N}]/u.test(t.textContent)) return true;
    }
    return false;
  };
  // what sticks out: elements whose parent does not, and words that overflow their element
  const right = node => {
    if (node.nodeType === Node.ELEMENT_NODE) return node.getBoundingClientRect().right;
    const range = document.createRange();
    range.selectNodeContents(node);
    return range.getBoundingClientRect().right;
  };
  const wide = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n && wide.length < 6; n = walker.nextNode()) {
    const el = n.nodeType === Node.ELEMENT_NODE ? n : n.parentElement;
    // an absolutely positioned box escapes a scrolling region that is not its containing block
    const escapes = n === el && ['absolute', 'fixed'].includes(style(el).position);
    const parentShows = right(n.parentElement) > vw + 0.5 && !scrolled(n.parentElement);
    if (right(n) > vw + 0.5 && !parentShows && el.getClientRects().length && (escapes || !scrolled(n)))
      wide.push((n === el ? '' : 'text in ') + name(el) + ' right=' + Math.round(right(n)));
  }
  const found = {width: document.documentElement.scrollWidth, viewport: vw, wide, small: [], low: [], covered: []};
  if (!checkTargets) return found;
  for (const el of document.querySelectorAll(targets)) {
    if (!visible(el) || inSentence(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 23.95 || r.height < 23.95)
      found.small.push(name(el) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
    if (!((el.tagName === 'BUTTON' && !el.classList.contains('link')) || el.classList.contains('button'))) continue;
    if (r.height < 43.95) found.low.push(name(el) + ' height=' + Math.round(r.height));
    el.scrollIntoView({block: 'center'});
    const c = el.getBoundingClientRect();
    const hit = document.elementFromPoint(c.left + c.width / 2, c.top + c.height / 2);
    if (!hit || !(el.contains(hit) || hit.control === el)) found.covered.push(name(el) + ' under ' + (hit ? name(hit) : 'nothing'));
  }
  window.scrollTo(0, 0);
  return found;
}"""


@pytest.mark.parametrize("url,role", PAGES, ids=[f"{role}:{url}" for url, role in PAGES])
def test_page_fits_a_phone(phone, phone_world, phone_server, axe, url, role):
    page = phone(role)
    response = page.goto(phone_server + url.format(**phone_world))
    assert response.status == 200, f"{url} as {role}: {response.status} at {page.url}"
    problems = []
    found = page.evaluate(MEASURE, True)
    if found["width"] > found["viewport"]:
        problems.append(f"{found['width']} px wide at 360 px: {found['wide']}")
    for key, what in (("small", "targets under 24x24 px"), ("low", "main actions under 44 px"),
                      ("covered", "main actions covered")):
        if found[key]:
            problems.append(f"{what}: {found[key]}")
    violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                  for v in axe.run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    if violations:
        problems.append(f"axe: {violations}")
    page.evaluate("() => { document.documentElement.style.fontSize = '200%'; }")
    large = page.evaluate(MEASURE, False)
    if large["width"] > large["viewport"]:
        problems.append(f"{large['width']} px wide at 200% text: {large['wide']}")
    assert not problems, f"{url} as {role}:\n" + "\n".join(problems)
