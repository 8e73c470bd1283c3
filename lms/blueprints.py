"""Mounts the core's and the features' blueprints under the LMS URL prefix."""
from __future__ import annotations


def register_blueprints(app, state, registry) -> None:
    from .accounts.views import bp as accounts
    from .admin import bp as admin
    from .core import bp as core
    from .orgs.views import bp as orgs
    from .records.views import bp as records
    from .reports.views import bp as reports

    prefix = state.url_prefix
    from .api.views import bp as api

    mounted = [(core, ""), (accounts, "/account"), (orgs, "/organisations"), (admin, "/admin"), (records, "/records"),
               (reports, "/reports"), (api, "/api/v1")]
    mounted += registry.blueprints
    for blueprint, sub in mounted:
        app.register_blueprint(blueprint, url_prefix=(prefix + sub) or None)
        state.blueprints.add(blueprint.name)
