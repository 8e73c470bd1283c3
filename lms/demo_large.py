"""``lms demo --scale large``: a realistic large data set, generated in minutes.

The core writes what it owns (organisations with their sectors, learners, memberships)
and hands a ``LargeDemo`` context to each generator the features registered with
``registry.add_large_demo_generator``: courses write enrolments, quiz attempts and
course completions, workshops write runs, sessions, registrations, attendance and
workshop completions. Completion records are the core's: features build their rows
with ``LargeDemo.record``, which takes the snapshots exactly as
``lms.records.services.record_completion`` would at that moment.

Choices that keep it fast and reproducible:

- Rows go in with SQLAlchemy Core bulk inserts, in batches; no ORM object per row and
  no query per row.
- Every generated learner shares ONE password hash, computed once from
  ``lms.demo.DEMO_PASSWORD``: hashing 100,000 passwords one by one would take hours.
  They can all log in with the demo password.
- Everything is drawn from one ``random.Random`` seeded with ``seed`` (and with how many
  generated learners already exist, so a second run adds different people): the same
  seed on the same database gives the same rows, except that shared password hash
  (salted) and the moment ``now`` (pass it to pin the dates).
- Activity is spread evenly over the last three years up to ``now``; people joined
  before what they do, and about 6% moved organisation (their earlier records keep
  the earlier organisation, as snapshots do).
- Every count is honoured exactly: ``records`` completion records in all (the
  workshops take about a quarter, as far as attendance allows, the courses the rest),
  ``runs`` runs, ``registrations`` registrations, and ``organisations`` organisations and
  ``learners`` learners on top of what the database already holds.
"""
from __future__ import annotations

import base64
import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, select, text, update

from .accounts import models as account_models
from .accounts.models import User
from .db import utcnow
from .demo import DEMO_PASSWORD, DOMAIN
from .orgs.history import sync_versions
from .orgs.models import SECTORS, Membership, Organisation, OrganisationSector
from .records.models import CompletionRecord
from .records.services import CODE_ALPHABET, CODE_LENGTH, add_months, format_code

#: Generated learners' addresses: learner000001@large.demo.alliance87.example, ...
LARGE_DOMAIN = f"large.{DOMAIN}"
WINDOW = timedelta(days=3 * 365)
BATCH = 5000
#: One certificate in 700 is revoked (the 350th, the 1050th, ...).
REVOKED_EVERY = 700
MOVED_SHARE = 0.06

# (code, name, language, time zone, names) for the national employers' organisations.
COUNTRIES = [tuple(entry.strip().split(":")) for entry in """
    GH:Ghana:en:Africa/Accra:af | NG:Nigeria:en:Africa/Lagos:af | KE:Kenya:en:Africa/Nairobi:af |
    UG:Uganda:en:Africa/Kampala:af | TZ:Tanzania:en:Africa/Dar_es_Salaam:af |
    ZA:South Africa:en:Africa/Johannesburg:af | ZM:Zambia:en:Africa/Lusaka:af |
    MW:Malawi:en:Africa/Blantyre:af | ET:Ethiopia:en:Africa/Addis_Ababa:af | ZW:Zimbabwe:en:Africa/Harare:af |
    SL:Sierra Leone:en:Africa/Freetown:af | LR:Liberia:en:Africa/Monrovia:af |
    CI:Côte d'Ivoire:fr:Africa/Abidjan:fr | CM:Cameroon:fr:Africa/Douala:fr | SN:Senegal:fr:Africa/Dakar:fr |
    BF:Burkina Faso:fr:Africa/Ouagadougou:fr | ML:Mali:fr:Africa/Bamako:fr |
    CD:DR Congo:fr:Africa/Lubumbashi:fr | MG:Madagascar:fr:Indian/Antananarivo:fr |
    BJ:Benin:fr:Africa/Porto-Novo:fr | TG:Togo:fr:Africa/Lome:fr | NE:Niger:fr:Africa/Niamey:fr |
    MA:Morocco:fr:Africa/Casablanca:me | TN:Tunisia:fr:Africa/Tunis:me | PE:Peru:es:America/Lima:la |
    CO:Colombia:es:America/Bogota:la | EC:Ecuador:es:America/Guayaquil:la | BO:Bolivia:es:America/La_Paz:la |
    GT:Guatemala:es:America/Guatemala:la | HN:Honduras:es:America/Tegucigalpa:la |
    MX:Mexico:es:America/Mexico_City:la | PY:Paraguay:es:America/Asuncion:la |
    AR:Argentina:es:America/Argentina/Buenos_Aires:la | CL:Chile:es:America/Santiago:la |
    DO:Dominican Republic:es:America/Santo_Domingo:la | NI:Nicaragua:es:America/Managua:la |
    SV:El Salvador:es:America/El_Salvador:la | BR:Brazil:en:America/Sao_Paulo:br |
    TH:Thailand:en:Asia/Bangkok:as | VN:Viet Nam:en:Asia/Ho_Chi_Minh:as | KH:Cambodia:en:Asia/Phnom_Penh:as |
    MM:Myanmar:en:Asia/Yangon:as | ID:Indonesia:en:Asia/Jakarta:as | PH:Philippines:en:Asia/Manila:as |
    MY:Malaysia:en:Asia/Kuala_Lumpur:as | BD:Bangladesh:en:Asia/Dhaka:as | IN:India:en:Asia/Kolkata:as |
    PK:Pakistan:en:Asia/Karachi:as | NP:Nepal:en:Asia/Kathmandu:as | LK:Sri Lanka:en:Asia/Colombo:as |
    UZ:Uzbekistan:en:Asia/Tashkent:as | JO:Jordan:en:Asia/Amman:me | LB:Lebanon:en:Asia/Beirut:me |
    EG:Egypt:en:Africa/Cairo:me | TR:Türkiye:en:Europe/Istanbul:me | GB:United Kingdom:en:Europe/London:eu |
    DE:Germany:en:Europe/Berlin:eu | NL:Netherlands:en:Europe/Amsterdam:eu | IT:Italy:en:Europe/Rome:eu |
    ES:Spain:es:Europe/Madrid:eu | FR:France:fr:Europe/Paris:eu | BE:Belgium:fr:Europe/Brussels:eu |
    SE:Sweden:en:Europe/Stockholm:eu
""".split("|")]
HOME = ("CH", "Switzerland", "en", "Europe/Zurich", "eu")

NAMES = {  # region: (female first names, male first names, last names)
    "af": ("Akosua Abena Amina Grace Chipo Wanjiru Fatmata Esi Ngozi Mercy",
           "Kwame Kofi Emeka Tendai Otieno Musa Yaw Chinedu Baraka Samuel",
           "Mensah Boateng Okafor Mwangi Banda Moyo Kamara Osei Njoroge Phiri"),
    "fr": ("Aïcha Fatou Mariam Awa Clarisse Aminata Rokia Nadège",
           "Kouassi Moussa Ibrahim Serge Jean-Paul Mamadou Yao Issa",
           "Koné Traoré Diallo Ouédraogo Kabila Ndiaye Coulibaly Mbarga Rakoto Sawadogo"),
    "la": ("Lucía María Rosa Camila Valentina Ana Gabriela Sofía",
           "Jorge Luis Carlos Diego José Miguel Andrés Juan",
           "Quispe García Rodríguez Huamán López Martínez Mamani Torres Flores Ramírez"),
    "br": ("Mariana Ana Juliana Fernanda Beatriz", "João Thiago Pedro Lucas Rafael",
           "Silva Oliveira Santos Souza Pereira Costa"),
    "as": ("Siriporn Lan Dewi Maria Nurul Priya Ayesha Sita Dilnoza Sokha",
           "Somchai Minh Budi Jose Rahim Arjun Imran Ram Rustam Dara",
           "Saetang Nguyen Santoso Reyes Rahman Sharma Khan Thapa Karimov Chea"),
    "me": ("Layla Fatima Nour Zeynep Salma", "Omar Ahmed Karim Mehmet Youssef",
           "Haddad Hassan Nasser Yilmaz Khalil Mansour"),
    "eu": ("Anna Emma Sophie Laura Claire Elena", "Thomas Lukas Marco Pierre Erik Daniel",
           "Smith Müller de Vries Rossi Dubois Andersson Fernández Peeters"),
}
NAMES = {region: tuple(part.split() for part in parts) for region, parts in NAMES.items()}

BUSINESS_WORDS = {
    "mining": ("Mining Services", "Minerals", "Quarry Works"), "cocoa": ("Cocoa Traders", "Cocoa Cooperative"),
    "coffee": ("Coffee Growers", "Coffee Exporters"), "cotton_garment": ("Garments", "Textiles", "Cotton Ginnery"),
    "fishing": ("Seafood", "Fish Processors", "Fishing Supplies"), "agriculture_other": ("Farms", "Agro Supplies"),
    "manufacturing": ("Manufacturing", "Components", "Packaging"),
    "services": ("Logistics", "Recruitment Services", "Cleaning Services"), "other": ("Trading", "Enterprises"),
}
LEGAL_FORM = {"en": "Ltd", "fr": "SARL", "es": "SAC"}
GROUPS = "Atlas Meridian Horizon Summit Pioneer Continental Equator Delta Orion Crescent".split()
OTHER_KINDS = {  # kind: how the name reads, and whether it tends to be an Alliance 8.7 partner
    "trade_union": ("{country} Confederation of Trade Unions", 0.3),
    "government": ("Ministry of Labour, {country}", 0.5),
    "un_agency": ("UN Country Team, {country}", 0.8),
    "ngo": ("{country} Anti-Trafficking Network", 0.4),
    "academic": ("{country} Business School", 0.1),
}
SEX_WEIGHTS = (("female", 0.43), ("male", 0.43), ("other", 0.015), (None, 0.125))


class LargeDemoError(RuntimeError):
    """The data set cannot be generated as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Targets:
    organisations: int
    learners: int
    records: int
    runs: int
    registrations: int


@dataclass(slots=True, eq=False)
class DemoOrg:
    id: int
    kind: str
    name: str
    country: str
    language: str
    timezone: str
    parent: DemoOrg | None
    is_partner: bool
    sectors: tuple
    size_band: str | None = None
    #: The id of its first manager among the generated people, if any.
    manager_id: int | None = None


@dataclass(slots=True, eq=False)
class DemoPerson:
    index: int  # position in ``LargeDemo.people``: people are ordered by when they joined
    id: int
    person_key: str
    name: str
    sex: str | None
    country: str
    language: str
    joined_at: datetime
    org: DemoOrg  # the current organisation
    previous_org: DemoOrg | None = None
    moved_at: datetime | None = None


class _Silent:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


@dataclass(eq=False)
class LargeDemo:
    """What the generators share: the generated organisations and people, the random
    source, the time window, the targets, and helpers to write rows fast."""

    session: object
    rng: random.Random
    now: datetime
    targets: Targets
    echo: object = print
    progress: object = None
    orgs: list[DemoOrg] = field(default_factory=list)
    people: list[DemoPerson] = field(default_factory=list)
    #: Rows written per table.
    counts: dict = field(default_factory=dict)
    records_left: int = 0
    _codes: set = field(default_factory=set)
    _revocable: int = 0
    _next_revocation: int = REVOKED_EVERY // 2
    _joined: list = field(default_factory=list)

    @property
    def start(self) -> datetime:
        return self.now - WINDOW

    # -- time ---------------------------------------------------------------------
    def moment(self, lo: datetime | None = None, hi: datetime | None = None) -> datetime:
        """A moment drawn evenly from [lo, hi) (default: the three-year window), to the second."""
        lo, hi = lo or self.start, hi or self.now
        return (lo + (hi - lo) * self.rng.random()).replace(microsecond=0)

    def spread(self, people: list[DemoPerson], lo=None, hi=None) -> list[tuple[DemoPerson, datetime]]:
        """Give each person a moment so that the moments fall evenly over [lo, hi), each
        person's after they joined: the moments are drawn first, then each goes to a
        random person among those who had joined by then."""
        times = sorted(self.moment(lo, hi) for _ in people)
        waiting = sorted(people, key=lambda p: p.index)
        pool, k, out = [], 0, []
        for t in times:
            while k < len(waiting) and waiting[k].joined_at <= t:
                pool.append(waiting[k])
                k += 1
            if pool:
                i = self.rng.randrange(len(pool))
                pool[i], pool[-1] = pool[-1], pool[i]
                out.append((pool.pop(), t))
            else:  # nobody had joined yet: the next to join takes it, just after joining
                out.append((waiting[k], waiting[k].joined_at + timedelta(hours=1)))
                k += 1
        return out

    # -- people ---------------------------------------------------------------------
    @staticmethod
    def org_at(person: DemoPerson, moment: datetime) -> DemoOrg:
        """The person's organisation at ``moment`` (the one a snapshot then would take)."""
        if person.moved_at is not None and moment < person.moved_at:
            return person.previous_org
        return person.org

    # -- completion records ------------------------------------------------------------
    def take_records(self, wanted: int) -> int:
        """Claim up to ``wanted`` of the completion records still to write; returns how many."""
        granted = max(0, min(wanted, self.records_left))
        self.records_left -= granted
        return granted

    def certificate_code(self) -> str:
        while True:
            code = format_code("".join(self.rng.choices(CODE_ALPHABET, k=CODE_LENGTH)))
            if code not in self._codes:
                self._codes.add(code)
                return code

    def record(self, person: DemoPerson, completed_at: datetime, *, item_type: str, item_id: int,
               item_key: str, item_version: int, item_title: str, language: str | None, score: float | None,
               issuer: str, validity_months: int | None = None, revocable: bool = True) -> dict:
        """A completion record row with the snapshots ``record_completion`` takes at
        ``completed_at``; one in ``REVOKED_EVERY`` of the ``revocable`` ones is revoked."""
        org = self.org_at(person, completed_at)
        parent = org.parent
        revoked_at = None
        if revocable:
            self._revocable += 1
            if self._revocable >= self._next_revocation and self.now - completed_at > timedelta(hours=2):
                later = min(timedelta(days=self.rng.uniform(2, 120)), (self.now - completed_at) * self.rng.uniform(0.2, 0.9))
                revoked_at = (completed_at + later).replace(microsecond=0)
                self._next_revocation += REVOKED_EVERY
        return {
            "user_id": person.id, "person_key": person.person_key, "person_name": person.name,
            "sex": person.sex, "country": person.country,
            "organisation_id": org.id, "organisation_kind": org.kind, "organisation_name": org.name,
            "parent_organisation_id": parent.id if parent else None,
            "parent_organisation_kind": parent.kind if parent else None,
            "item_type": item_type, "item_id": item_id, "item_key": item_key, "item_version": item_version,
            "item_title": item_title, "language": language, "score": score, "completed_at": completed_at,
            "certificate_code": self.certificate_code(), "issuer": issuer,
            "expires_at": add_months(completed_at, validity_months) if validity_months and validity_months > 0 else None,
            "revoked_at": revoked_at,
            "revoked_reason": "Issued in error: the organiser corrected the attendance list." if revoked_at else None,
        }

    # -- writing --------------------------------------------------------------------
    def token(self, nbytes: int = 16) -> str:
        """A URL-safe random token from the seeded source (like ``secrets.token_urlsafe``)."""
        return base64.urlsafe_b64encode(self.rng.getrandbits(8 * nbytes).to_bytes(nbytes, "big")).rstrip(b"=").decode()

    def phase(self, label: str, total: int):
        """A progress bar for one phase: a context manager with ``update(n)``."""
        return self.progress(label, total) if self.progress else _Silent()

    def insert(self, model, rows, label: str | None = None, returning: bool = False,
               total: int | None = None) -> list[int]:
        """Bulk-insert ``rows`` (dicts with the same keys; a list, or any iterable when
        ``total`` says how many) in batches, with a progress bar; with ``returning``,
        the new ids in the order of ``rows``."""
        table = getattr(model, "__table__", model)
        stmt = insert(table)
        if returning:
            stmt = stmt.returning(table.c.id, sort_by_parameter_order=True)
        ids: list[int] = []
        written, total = 0, len(rows) if total is None else total
        rows = iter(rows)
        with self.phase(label or table.name, total) as bar:
            while batch := list(itertools.islice(rows, BATCH)):
                result = self.session.execute(stmt, batch)
                if returning:
                    ids.extend(result.scalars().all())
                written += len(batch)
                bar.update(len(batch))
        self.counts[table.name] = self.counts.get(table.name, 0) + written
        return ids


def generate(session, *, organisations: int = 1000, learners: int = 100_000, records: int = 200_000,
             runs: int = 5000, registrations: int = 100_000, seed: int = 87, progress=None, echo=print,
             now: datetime | None = None, registry=None) -> dict:
    """Add the large demo data set to the database; flushes, never commits.

    ``progress(label, total)`` returns a context manager with ``update(n)`` (for
    instance ``lambda label, total: click.progressbar(length=total, label=label)``).
    Returns the rows written per table.
    """
    targets = Targets(organisations, learners, records, runs, registrations)
    _check(targets)
    if registry is None:
        from .registry import registry_of

        registry = registry_of(session)
    generated = session.scalar(select(func.count()).select_from(User).where(User.email.like(f"%@{LARGE_DOMAIN}")))
    now = (now or utcnow()).replace(microsecond=0)
    ctx = LargeDemo(session=session, rng=random.Random(f"lms-large-demo:{seed}:{generated}"), now=now,
                    targets=targets, echo=echo, progress=progress, records_left=records)
    echo(f"Generating {organisations:,} organisations, {learners:,} learners, {records:,} completion records, "
         f"{runs:,} workshop runs and {registrations:,} registrations (seed {seed}).")
    ctx._codes = set(session.scalars(select(CompletionRecord.certificate_code)))
    _organisations(ctx)
    _people(ctx, first_number=generated + 1)
    for _order, generator in registry.large_demo_generators:
        generator(ctx)
    if ctx.records_left:
        raise LargeDemoError(
            f"{ctx.records_left:,} of the {records:,} completion records could not be generated: "
            "the installed features have no more room for them (more learners, runs or registrations help).")
    session.flush()
    return dict(ctx.counts)


def analyze(session) -> None:
    """Refresh the query planner's statistics after a bulk load, as PostgreSQL's
    autovacuum would in a while (SQLite never does by itself). On PostgreSQL this is
    VACUUM (ANALYZE), which also marks the freshly written pages all-visible so that
    queries can be answered from an index alone, as autovacuum's pass after many
    inserts would. Run it after the commit."""
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        session.commit()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
        return
    session.execute(text("ANALYZE"))
    session.commit()


def _check(t: Targets) -> None:
    for name, value in vars(t).items():
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number, 0 or more (got {value!r})")
    if t.learners and not t.organisations:
        raise ValueError("learners need at least one organisation to belong to")
    if t.records and not t.learners:
        raise ValueError("completion records need learners")
    if t.runs and not t.organisations:
        raise ValueError("workshop runs need an organisation to host them")
    if t.registrations and not (t.runs and t.learners):
        raise ValueError("registrations need runs and learners")
    if t.registrations > t.runs * t.learners:
        raise ValueError(f"{t.registrations:,} registrations cannot fit: a person registers for a run once, "
                         f"and {t.runs:,} runs x {t.learners:,} learners is fewer")


def _kind_counts(n: int) -> list[str]:
    """The kinds of ``n`` organisations: one international body, ~6% national employers'
    organisations (60 at most), some business associations, enterprises and others,
    the rest SMEs."""
    if n == 0:
        return []
    eos = min(60, max(1, round(n * 0.06))) if n > 1 else 0
    wanted = [("business_association", round(n * 0.02)), ("large_enterprise", round(n * 0.05))]
    wanted += [(kind, round(n * 0.006)) for kind in OTHER_KINDS]
    kinds = ["international"] + ["employers_organisation"] * eos
    for kind, count in wanted:
        kinds += [kind] * min(count, max(0, n - len(kinds) - 1))
    return kinds + ["sme"] * (n - len(kinds))


def _organisations(ctx: LargeDemo) -> None:
    rng, n = ctx.rng, ctx.targets.organisations
    kinds = _kind_counts(n)
    countries = rng.sample(COUNTRIES, len(COUNTRIES))
    eo_countries = countries[:max(1, kinds.count("employers_organisation"))]
    where = {c[0]: c for c in COUNTRIES + [HOME]}
    created = ctx.start - timedelta(days=800)
    names: set[str] = set()
    specs = []  # (kind, name, country, parent spec index, partner, sectors, size band)
    eos: list[int] = []
    eos_by_country: dict[str, list[int]] = {}
    associations_by_country: dict[str, list[int]] = {}
    eo_weights: list[float] = []

    def add(kind, name, country, parent, partner, sectors, size=None):
        base, k = name, 2
        while name in names:
            name, k = f"{base} ({k})", k + 1
        names.add(name)
        specs.append((kind, name, country, parent, partner, sectors, size))
        return len(specs) - 1

    def sectors(k):
        return tuple(sorted(rng.sample(SECTORS[:-1], k)))

    for kind in kinds:
        if kind == "international":
            add("employers_organisation", "Global Network of Employers' Organisations (GNEO)", HOME[0], None, True,
                ("other",))
        elif kind == "employers_organisation":
            code, country, language = countries[len(eos) % len(countries)][:3]
            name = {"fr": f"Conseil national du patronat ({country})", "es": f"Confederación Empresarial de {country}"}.get(
                language, f"{country} Employers' Federation")
            i = add(kind, name, code, 0, rng.random() < 0.35, sectors(rng.randint(2, 4)))
            eos.append(i)
            eos_by_country.setdefault(code, []).append(i)
            eo_weights.append(rng.paretovariate(1.5))  # a few EOs bring in most SMEs
        elif kind == "business_association":
            code, country = rng.choice(eo_countries)[:2]
            sector = rng.choice(SECTORS[:-1])
            parent = rng.choice(eos_by_country[code]) if code in eos_by_country and rng.random() < 0.6 else None
            i = add(kind, f"{country} {BUSINESS_WORDS[sector][0]} Association", code, parent, rng.random() < 0.1,
                    (sector,))
            associations_by_country.setdefault(code, []).append(i)
        elif kind == "large_enterprise":
            sector = rng.choice(SECTORS[:-1])
            code = rng.choice(eo_countries)[0]
            parent = rng.choice(eos_by_country[code]) if code in eos_by_country and rng.random() < 0.5 else None
            add(kind, f"{rng.choice(GROUPS)} {BUSINESS_WORDS[sector][0]} Group", code, parent, rng.random() < 0.3,
                tuple(dict.fromkeys((sector, "services"))) if rng.random() < 0.3 else (sector,), "large")
        elif kind in OTHER_KINDS:
            pattern, partner = OTHER_KINDS[kind]
            code, country = rng.choice(eo_countries)[:2]
            add(kind, pattern.format(country=country), code, None, rng.random() < partner, ("other",))
        else:  # an SME, mostly a member of an EO
            parent, roll = None, rng.random()
            if eos and roll < 0.85:
                parent = rng.choices(eos, weights=eo_weights)[0]
                code = specs[parent][2]
            else:
                code = rng.choice(eo_countries)[0]
                if roll < 0.92 and associations_by_country.get(code):
                    parent = rng.choice(associations_by_country[code])
            sector = rng.choice(SECTORS[:-1])
            language = where[code][2]
            name = (f"{rng.choice(NAMES[where[code][4]][2])} {rng.choice(BUSINESS_WORDS[sector])} "
                    f"{LEGAL_FORM[language]}")
            add(kind, name, code, parent, rng.random() < 0.01, (sector,),
                rng.choices(("micro", "small", "medium"), weights=(5, 3, 2))[0])

    rows = [{"name": name, "kind": kind, "country": code, "size_band": size, "parent_id": None,
             "is_alliance_partner": partner, "website": None, "status": "active", "merged_into_id": None,
             "requested_by_id": None, "created_at": created + timedelta(days=rng.randint(0, 700))}
            for kind, name, code, _parent, partner, _sectors, size in specs]
    ids = ctx.insert(Organisation, rows, "Organisations", returning=True)
    for i, (kind, name, code, parent, partner, sector_list, size) in enumerate(specs):
        info = where[code]
        ctx.orgs.append(DemoOrg(id=ids[i], kind=kind, name=name, country=code, language=info[2], timezone=info[3],
                                parent=ctx.orgs[parent] if parent is not None else None, is_partner=partner,
                                sectors=sector_list, size_band=size))
    parents = [{"id": org.id, "parent_id": org.parent.id} for org in ctx.orgs if org.parent is not None]
    if parents:  # parents come first in ``specs``, but their ids only exist once inserted
        table = Organisation.__table__
        ctx.session.execute(update(table).where(table.c.id == bindparam("oid")).values(parent_id=bindparam("pid")),
                            [{"oid": p["id"], "pid": p["parent_id"]} for p in parents])
    ctx.insert(OrganisationSector, [{"organisation_id": org.id, "sector": s} for org in ctx.orgs for s in org.sectors],
               "Organisation sectors")
    # Core inserts pass no flush: each organisation's first version is written here.
    sync_versions(ctx.session.connection(), [org.id for org in ctx.orgs])


def _people(ctx: LargeDemo, first_number: int) -> None:
    rng, n = ctx.rng, ctx.targets.learners
    if not n:
        return
    weights = {"sme": None, "large_enterprise": 12, "employers_organisation": 8, "business_association": 4}
    size_weight = {"micro": 1, "small": 2.5, "medium": 5}
    by_country: dict[str, list[DemoOrg]] = {}
    org_weights = []
    for org in ctx.orgs:
        by_country.setdefault(org.country, []).append(org)
        if org.kind == "sme":
            org_weights.append(size_weight[org.size_band])
        else:
            org_weights.append(weights.get(org.kind, 3))
    where = {c[0]: c for c in COUNTRIES + [HOME]}
    codes = [c[0] for c in COUNTRIES]
    sexes, sex_weights = zip(*SEX_WEIGHTS)
    # 85% had joined before the window opened, the rest join during it.
    joined = sorted(
        (ctx.start - timedelta(days=730) * rng.random() if rng.random() < 0.85
         else ctx.moment(ctx.start, ctx.now - timedelta(days=30))).replace(microsecond=0)
        for _ in range(n))
    orgs = rng.choices(ctx.orgs, weights=org_weights, k=n)
    password_hash = account_models.generate_password_hash(DEMO_PASSWORD)
    users, memberships = [], []
    for i in range(n):
        org = orgs[i]
        country = org.country if rng.random() < 0.93 else rng.choice(codes)
        sex = rng.choices(sexes, weights=sex_weights)[0]
        female, male, last = NAMES[where[country][4]]
        first = rng.choice(female if sex == "female" or (sex is None and rng.random() < 0.5) else male)
        person = DemoPerson(index=i, id=0, person_key=f"{rng.getrandbits(128):032x}", name=f"{first} {rng.choice(last)}",
                            sex=sex, country=country, language=where[country][2], joined_at=joined[i], org=org)
        earliest_move = max(person.joined_at + timedelta(days=60), ctx.start)
        if rng.random() < MOVED_SHARE and earliest_move < ctx.now - timedelta(days=60):
            others = [o for o in by_country.get(org.country, ()) if o is not org] or [o for o in ctx.orgs if o is not org]
            if others:
                person.previous_org = rng.choice(others)
                person.moved_at = ctx.moment(earliest_move, ctx.now - timedelta(days=30))
        ctx.people.append(person)
        created = joined[i] - timedelta(minutes=rng.randint(5, 4000))
        users.append({
            "email": f"learner{first_number + i:06d}@{LARGE_DOMAIN}", "name": person.name,
            "password_hash": password_hash, "role": "learner", "country": country, "sex": sex,
            "language": person.language, "active": True, "session_token": f"{rng.getrandbits(128):032x}",
            "person_key": person.person_key, "created_at": created,
            "last_login_at": ctx.moment(max(joined[i], ctx.start), ctx.now) if rng.random() < 0.7 else None,
            "erased_at": None,
        })
    ids = ctx.insert(User, users, "Learners", returning=True)
    for person, user_id in zip(ctx.people, ids):
        person.id = user_id
    ctx._joined = joined
    for person, user in zip(ctx.people, users):
        base = {"user_id": person.id, "decided_by_id": None, "message": None, "role": "member"}
        current_start, requested = person.joined_at, user["created_at"]
        if person.previous_org is not None:
            memberships.append({**base, "organisation_id": person.previous_org.id, "status": "ended",
                                "requested_at": requested, "started_at": person.joined_at,
                                "ended_at": person.moved_at})
            current_start, requested = person.moved_at, person.moved_at - timedelta(hours=rng.randint(1, 72))
        role = "member"
        if person.org.manager_id is None:
            person.org.manager_id, role = person.id, "manager"
        memberships.append({**base, "organisation_id": person.org.id, "status": "active", "role": role,
                            "requested_at": requested, "started_at": current_start, "ended_at": None})
    ctx.insert(Membership, memberships, "Memberships")

