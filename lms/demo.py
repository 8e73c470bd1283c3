"""Demo data: employers' organisations and their SMEs in the action plan's sectors.

The employers' organisations are real national bodies (public names); every SME and
every person is invented. Loading twice changes nothing.
"""
from __future__ import annotations

import random
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from .accounts.models import User
from .orgs.models import Membership, Organisation
from .orgs.services import activate_membership

DEMO_PASSWORD = "demo-password-87"
DOMAIN = "demo.alliance87.example"

FEDERATION = ("International Organisation of Employers (IOE)", "CH", ["other"])

# (EO name, country, sectors, [(SME name, sector, size band), ...])
EOS = [
    ("Confédération Générale des Entreprises de Côte d'Ivoire (CGECI)", "CI", ["cocoa", "agriculture_other"], [
        ("Coopérative Agricole Ahoutoué", "cocoa", "small"),
        ("Soubré Cacao Transport SARL", "cocoa", "micro"),
        ("Daloa Fèves Négoce", "cocoa", "medium"),
    ]),
    ("Ghana Employers' Association (GEA)", "GH", ["cocoa", "mining", "fishing"], [
        ("Ashanti Cocoa Growers Ltd", "cocoa", "small"),
        ("Tarkwa Small-Scale Mining Services", "mining", "micro"),
        ("Elmina Fish Processors", "fishing", "small"),
    ]),
    ("Fédération des Entreprises du Congo (FEC)", "CD", ["mining"], [
        ("Kolwezi Minerais Logistique", "mining", "medium"),
        ("Likasi Cobalt Trading", "mining", "small"),
    ]),
    ("Confederación Nacional de Instituciones Empresariales Privadas (CONFIEP)", "PE", ["mining", "coffee", "fishing"], [
        ("Café de Altura Chanchamayo SAC", "coffee", "small"),
        ("Pesquera Chimbote del Sur", "fishing", "medium"),
        ("Minera Artesanal Nazca EIRL", "mining", "micro"),
    ]),
    ("Confederação Nacional da Indústria (CNI)", "BR", ["coffee", "cotton_garment", "manufacturing"], [
        ("Cafés Sul de Minas Ltda", "coffee", "medium"),
        ("Confecções Agreste Pernambucano", "cotton_garment", "small"),
    ]),
    ("Chamber of Commerce and Industry of Uzbekistan", "UZ", ["cotton_garment", "agriculture_other"], [
        ("Fergana Cotton Cluster Textiles", "cotton_garment", "large"),
        ("Bukhara Yarn Workshop", "cotton_garment", "small"),
    ]),
    ("Employers' Confederation of Thailand (ECOT)", "TH", ["fishing", "manufacturing"], [
        ("Samut Sakhon Seafood Packers", "fishing", "medium"),
        ("Songkhla Trawler Supplies", "fishing", "micro"),
    ]),
]

FIRST = {
    "female": ["Aïcha", "Akosua", "Mbuyi", "Rosa", "Ana", "Dilnoza", "Siriporn", "Adjoa", "Lucía", "Mariana"],
    "male": ["Kouassi", "Kwame", "Kabongo", "Jorge", "João", "Rustam", "Somchai", "Yao", "Luis", "Thiago"],
}
LAST = ["Koné", "Mensah", "Ilunga", "Quispe", "Silva", "Karimov", "Saetang", "Boateng", "Huamán", "Oliveira"]


def _user(session, email, name, *, role="learner", country=None, sex=None, language="en") -> User:
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name, role=role, country=country, sex=sex, language=language)
        user.set_password(DEMO_PASSWORD)
        session.add(user)
        session.flush()
    return user


def _org(session, name, **fields) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        sectors = fields.pop("sectors", [])
        org = Organisation(name=name, status="active", **fields)
        org.sectors = sectors
        session.add(org)
        session.flush()
    return org


def _join(session, user, org, role="member") -> None:
    if user.membership is None:
        membership = Membership(user=user, organisation=org, role=role, status="pending")
        session.add(membership)
        session.flush()
        activate_membership(session, membership, None)


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_name.lower().split("(")[-1] if ch.isalnum())[:12] or "org"


def load(session: Session, scale: str = "small", echo=print) -> list[tuple[str, str]]:
    rng = random.Random(87)
    logins: list[tuple[str, str]] = []
    secretariat = _user(session, f"secretariat@{DOMAIN}", "Alliance 8.7 Secretariat", role="secretariat", country="CH", sex="female")
    logins.append(("secretariat", secretariat.email))
    federation = _org(session, FEDERATION[0], kind="employers_organisation", country=FEDERATION[1],
                      sectors=FEDERATION[2], is_alliance_partner=True, website="https://www.ioe-emp.org")
    language = {"CI": "fr", "CD": "fr", "PE": "es"}
    total = len(EOS)
    for i, (eo_name, country, sectors, smes) in enumerate(EOS, 1):
        echo(f"[{i}/{total}] {eo_name}")
        eo = _org(session, eo_name, kind="employers_organisation", country=country, sectors=sectors,
                  parent=federation, is_alliance_partner=i % 2 == 1)
        key = _slug(eo_name)
        sex = rng.choice(["female", "male"])
        manager = _user(
            session, f"manager.{key}@{DOMAIN}", f"{rng.choice(FIRST[sex])} {rng.choice(LAST)}",
            country=country, sex=sex, language=language.get(country, "en"),
        )
        _join(session, manager, eo, "manager")
        logins.append((f"manager of {eo_name.split('(')[-1].rstrip(')')}", manager.email))
        for j, (sme_name, sector, size) in enumerate(smes):
            sme = _org(session, sme_name, kind="sme", country=country, sectors=[sector], size_band=size, parent=eo)
            for k in range(3):
                sex = rng.choice(["female", "male", "female", "male", None])
                first = rng.choice(FIRST[sex or rng.choice(["female", "male"])])
                person = _user(
                    session, f"{_slug(sme_name)}{j}{k}.{key}@{DOMAIN}", f"{first} {rng.choice(LAST)}",
                    country=country, sex=sex, language=language.get(country, "en"),
                )
                _join(session, person, sme, "manager" if k == 0 else "member")
                if i == 1 and j == 0 and k == 0:
                    logins.append(("SME owner (manager of an SME)", person.email))
                if i == 1 and j == 0 and k == 1:
                    logins.append(("learner", person.email))
    # One person still waiting for approval, so the managers' queue is not empty.
    waiting = _user(session, f"new.learner@{DOMAIN}", "Esi Owusu", country="GH", sex="female")
    if waiting.membership is None and waiting.pending_membership is None:
        gea = session.scalar(select(Organisation).where(Organisation.name == EOS[1][0]))
        session.add(Membership(user=waiting, organisation=gea, status="pending", message="I run a cocoa buying station in Kumasi."))
    logins.append(("learner waiting for approval", waiting.email))
    session.flush()
    return logins

