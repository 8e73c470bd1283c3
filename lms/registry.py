"""What feature packages hand the core, kept per app.

Each app gets its own ``Registry`` in ``app.extensions["lms"].registry``, filled by
calling ``setup(registry)`` of every package named in that app's ``LMS_FEATURES``. Two
apps in one process can therefore carry different features: nothing here is global.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from flask import current_app


@dataclass(frozen=True)
class MenuEntry:
    endpoint: str
    label: Callable[[], str]  # lazy, so it is translated per request
    #: who sees it: "all", "authenticated" or "secretariat"
    audience: str = "all"
    order: int = 50
    #: callable(user) -> bool, asked after ``audience``: the feature's own rule of who
    #: the entry is for (the workshops show "Schedule a workshop" to those who may
    #: schedule), so the core needs no notion of the feature's roles
    visible: Callable[[object], bool] | None = None


@dataclass(frozen=True)
class ActivityColumn:
    """A feature's per-organisation activity count in the records table."""

    key: str
    label: Callable[[], str]  # lazy, translated per request
    #: callable(period | None) -> Select of (organisation_id, n, last_at), one row per
    #: organisation (by the organisation snapshot on the feature's rows)
    query: Callable
    order: int = 50
    #: what it counts (lazy), for the downloads' Columns sheet; "" for the core's general words
    definition: object = ""


@dataclass(frozen=True)
class RecordKind:
    """A kind of completion record a feature writes (``CompletionRecord.item_type``).

    Every kind has a completions column in the records table (lms.reports.tables), its
    downloads and its ``sort=`` parameter, under ``column_key``: ``<key>_completions``
    unless the feature names it (the courses keep the older ``completions``), so a
    kind's key in links and bookmarks never depends on which other features are on. A
    key another kind or an activity column has is refused; the table's own columns
    (``lms.reports.tables.CORE_SORTS``) are not the feature's to take either.
    """

    key: str  # stored on the record: "course", "workshop"
    label: object  # a lazy string: "Course"
    #: the certificate's line after the person's name (lazy): "has completed the course"
    certificate_phrase: object
    #: the metric key counting this kind's records dated in the period (split by sex)
    completions_metric: str
    #: the label (lazy) of that metric (distinct people)
    completions_label: object
    #: the dashboard output the completions metric reports under
    output: str
    #: narrowed by the metrics' ``course`` filter (its item_key is a course slug), and
    #: shown item by item in the records table and the cascade view
    per_item: bool = False
    order: int = 50
    #: the records table's column of this kind's completions (see above); "" for the default
    column_key: str = ""
    #: that column's heading (lazy): it counts records, not people ("Workshop
    #: completions"); None for the completions label
    column_label: object = None

    def __post_init__(self):
        if not self.column_key:
            object.__setattr__(self, "column_key", f"{self.key}_completions")
        if self.column_label is None:
            object.__setattr__(self, "column_label", self.completions_label)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.column_key):
            raise ValueError(f"a record kind's column key is lower-case letters, digits and _: {self.column_key!r}")


#: How a metric's value is shaped (and drawn, and described in the OpenAPI document):
#: "people" a count split by sex; "integer" a plain count; "organisations"
#: {"total", "by_kind"}; "gain" {"n", "mean_pre", "mean_post", "mean_normalised_gain"};
#: "share" a number between 0 and 1, or null.
METRIC_SHAPES = ("people", "integer", "organisations", "gain", "share")


@dataclass(frozen=True)
class Metric:
    """One figure of the dashboard and of ``GET /api/v1/metrics``."""

    key: str  # "<section>.<name>", nested as {"section": {"name": value}} in the API
    label: object  # a lazy string
    shape: str
    output: str  # the dashboard output it reports under ("output_3_1", ...)
    order: int = 50
    #: English, for the OpenAPI document
    description: str = ""
    #: What a reader must know to read the figure (a lazy string): shown under it on the
    #: dashboard and in the downloads' ``note`` column; None: nothing to add
    note: object = None
    #: another metric's key: this one is the same figure under an older name, kept in
    #: the API for compatibility, not drawn on the dashboard
    same_as: str | None = None
    #: whether the metrics' ``course`` filter narrows this figure to the course; None:
    #: as its section's, see lms.metrics.definitions.narrowed_by_course
    course_filter: bool | None = None


@dataclass(frozen=True)
class HomeSection:
    """A section of the home page, contributed by a feature (or the core).

    ``build(session, user)`` gathers what the section shows (in a fixed number of
    queries, whatever the person has done); a false value (None, an empty list) leaves
    the section out. ``template`` renders it, given that value as ``data``.
    """

    key: str
    title: Callable[[], str]  # lazy, translated per request
    template: str
    build: Callable
    #: who sees it: "authenticated" (the person's "My learning") or "visitor"
    audience: str = "authenticated"
    order: int = 50


@dataclass(frozen=True)
class NextStep:
    """One suggestion in "What to do next" on a person's home page."""

    title: str
    #: why it is suggested, in a few words ("For your sector: Cocoa")
    reason: str
    #: where the step starts: (endpoint, url_for values)
    endpoint: str
    values: dict = field(default_factory=dict)
    #: the button's words ("Start the course")
    action: str = ""
    #: lowest first, across every feature's suggestions
    order: int = 50


@dataclass
class Registry:
    menu: list[MenuEntry] = field(default_factory=list)
    #: (blueprint, url_prefix below the LMS prefix)
    blueprints: list[tuple] = field(default_factory=list)
    #: (name, callable(session, path, echo)) run by ``lms init`` and ``lms content import``
    content_importers: list[tuple] = field(default_factory=list)
    #: OpenAPI path items and schemas of the features' API endpoints
    api_paths: dict = field(default_factory=dict)
    api_schemas: dict = field(default_factory=dict)
    #: callable(session, user) run when a person is erased, to clear a feature's personal fields
    erasure_hooks: list = field(default_factory=list)
    #: callable(session, echo) run by ``lms demo`` after the people and organisations
    demo_loaders: list = field(default_factory=list)
    #: (order, callable(context)) run by ``lms demo --scale large`` after the generated
    #: organisations and people, lowest order first (see lms.demo_large)
    large_demo_generators: list[tuple] = field(default_factory=list)
    #: callable(session, period, filters) -> dict of metric keys, merged by lms.metrics
    metric_sections: list = field(default_factory=list)
    #: callable(session, period, filters) -> Select of (organisation_id, person_key, sex)
    #: rows of people reached other than by a completion
    reach_sources: list = field(default_factory=list)
    #: per-organisation activity columns of the records table (lms.reports)
    activity_columns: list[ActivityColumn] = field(default_factory=list)

    #: click commands (or groups) added to this app's ``flask lms`` group
    cli_commands: list = field(default_factory=list)
    #: (event name, listener) attached to this app's LMS sessionmaker, never to
    #: SQLAlchemy's Session class, so a host's own sessions run none of them
    session_listeners: list[tuple] = field(default_factory=list)
    #: feature name -> folder of its email templates (``<feature>/mail/<name>.txt``)
    mail_folders: dict = field(default_factory=dict)
    #: item_type -> RecordKind: the kinds of completion record this app's features write
    record_kinds: dict = field(default_factory=dict)
    #: metric key -> Metric: labels, shapes and outputs of every figure (core and features)
    metrics: dict = field(default_factory=dict)
    #: job kind key -> lms.jobs.JobKind: what this app's worker knows how to run
    job_kinds: dict = field(default_factory=dict)
    #: the sections of the home page (a person's "My learning", and the visitors' home)
    home_sections: list[HomeSection] = field(default_factory=list)
    #: callable(session, user) -> list[NextStep]: a feature's suggestions of what to do next
    next_steps: list = field(default_factory=list)
    #: group -> {stored value: lazy label}: the words a person sees for stored values
    #: (statuses, roles, kinds), one mapping for every page (the ``label`` filter)
    labels: dict = field(default_factory=dict)
    #: (name, callable(session, user) -> JSON-able): the parts of a person's own data
    #: download (lms.personal_data), in the order added; the core's come first
    personal_data: list[tuple] = field(default_factory=list)

    def add_personal_data(self, name: str, source) -> None:
        """A part of the person's data download, under ``name`` (one source per name)."""
        if any(n == name and s is not source for n, s in self.personal_data):
            raise ValueError(f"the personal data download already has a part {name!r}")
        if (name, source) not in self.personal_data:
            self.personal_data.append((name, source))

    def add_home_section(self, section: HomeSection) -> None:
        if all(s.key != section.key for s in self.home_sections):
            self.home_sections.append(section)
            self.home_sections.sort(key=lambda s: s.order)

    def add_next_steps(self, source) -> None:
        if source not in self.next_steps:
            self.next_steps.append(source)

    def add_labels(self, group: str, labels: dict) -> None:
        self.labels.setdefault(group, {}).update(labels)

    def label(self, value, group: str) -> str:
        """The words for ``value`` of ``group`` (translated now); an unknown value as it is."""
        if value is None and None not in self.labels.get(group, {}):
            return ""
        found = self.labels.get(group, {}).get(value)
        return str(found) if found is not None else str(value)

    def add_record_kind(self, kind: RecordKind) -> None:
        others = [k.column_key for k in self.record_kinds.values() if k.key != kind.key]
        if kind.column_key in others or any(c.key == kind.column_key for c in self.activity_columns):
            raise ValueError(f"the records table already has a column {kind.column_key!r}")
        self.record_kinds[kind.key] = kind
        self.add_metric(Metric(kind.completions_metric, kind.completions_label, "people", kind.output,
                               order=kind.order, description=f"{kind.key} completion records dated in the period",
                               course_filter=kind.per_item))

    def add_metric(self, metric: Metric) -> None:
        if metric.shape not in METRIC_SHAPES:
            raise ValueError(f"unknown metric shape {metric.shape!r}")
        self.metrics[metric.key] = metric

    def sorted_record_kinds(self) -> list[RecordKind]:
        """The kinds in their columns' order (``order``, then key)."""
        return sorted(self.record_kinds.values(), key=lambda k: (k.order, k.key))

    def sorted_metrics(self) -> list[Metric]:
        return sorted(self.metrics.values(), key=lambda m: (m.output, m.order, m.key))

    def add_menu(self, entry: MenuEntry) -> None:
        if all(e.endpoint != entry.endpoint for e in self.menu):
            self.menu.append(entry)
            self.menu.sort(key=lambda e: e.order)

    def add_erasure_hook(self, hook) -> None:
        if hook not in self.erasure_hooks:
            self.erasure_hooks.append(hook)

    def add_demo_loader(self, loader) -> None:
        if loader not in self.demo_loaders:
            self.demo_loaders.append(loader)

    def add_large_demo_generator(self, generator, order: int = 50) -> None:
        if all(g is not generator for _, g in self.large_demo_generators):
            self.large_demo_generators.append((order, generator))
            self.large_demo_generators.sort(key=lambda entry: entry[0])

    def add_content_importer(self, name: str, importer) -> None:
        if all(n != name for n, _ in self.content_importers):
            self.content_importers.append((name, importer))

    def add_blueprint(self, blueprint, url_prefix: str) -> None:
        if all(bp is not blueprint for bp, _ in self.blueprints):
            self.blueprints.append((blueprint, url_prefix))

    def add_metric_section(self, section) -> None:
        if section not in self.metric_sections:
            self.metric_sections.append(section)

    def add_reach_source(self, source) -> None:
        """``source(session, period, filters)`` gives a select of (organisation_id,
        person_key, sex, moment): people who reached an organisation in the period
        other than by a completion record, and when (lms/metrics/definitions.py)."""
        if source not in self.reach_sources:
            self.reach_sources.append(source)

    def add_activity_column(self, column: ActivityColumn) -> None:
        if any(k.column_key == column.key for k in self.record_kinds.values()):
            raise ValueError(f"the records table already has a column {column.key!r}")
        if all(c.key != column.key for c in self.activity_columns):
            self.activity_columns.append(column)
            self.activity_columns.sort(key=lambda c: c.order)

    def add_cli_command(self, command) -> None:
        if all(c.name != command.name for c in self.cli_commands):
            self.cli_commands.append(command)

    def add_session_listener(self, event_name: str, listener) -> None:
        if (event_name, listener) not in self.session_listeners:
            self.session_listeners.append((event_name, listener))

    def add_mail_folder(self, name: str, folder) -> None:
        self.mail_folders[name] = folder

    def add_job_kind(self, kind) -> None:
        """A kind of background job (``lms.jobs.JobKind``) this app's worker runs."""
        self.job_kinds[kind.key] = kind


def current_registry() -> Registry:
    """The registry of the app handling the current request or command."""
    return current_app.extensions["lms"].registry


def registry_of(session) -> Registry:
    """The registry of the app whose sessionmaker made ``session`` (so services and
    metrics work outside a request too), else the current app's."""
    found = session.info.get("lms_registry")
    return found if found is not None else current_registry()
