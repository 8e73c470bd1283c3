"""The JSON API v1 (SPEC section 8): bearer tokens of secretariat accounts (revoked or
expired ones refused, saying which; a per-token rate limit), JSON errors."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail=None, headers: dict | None = None):
        super().__init__(error)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


def create_token(session, user, name: str | None = None, expires_at=None) -> str:
    """A new token for a secretariat account (named "Token N" unless named); only its
    hash is kept. The web UI's tokens go through ``services.issue_token``, which audits."""
    from .services import new_token

    return new_token(session, user, name, expires_at)[1]


def _authenticate():
    from .services import TokenRefused, check_request

    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", _("Send an API token: Authorization: Bearer <token>."))
    try:
        check_request(token.strip())
    except TokenRefused as refused:
        headers = {}
        if refused.status == 401:
            # RFC 6750's code for a token that is known to be no good; the body says why.
            headers["WWW-Authenticate"] = f'Bearer realm="lms", error="invalid_token", error_description="{refused.error}"'

        if refused.retry_after is not None:
            headers["Retry-After"] = str(refused.retry_after)
        raise ApiError(refused.status, refused.error, refused.detail, headers) from None


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint of the API: bearer authentication first, every error as JSON."""
    bp = Blueprint(name, import_name)

    @bp.before_request
    def authenticate():
        if request.endpoint and request.endpoint.endswith(".openapi"):
            return None
        _authenticate()
        return None

    @bp.errorhandler(ApiError)
    def api_error(exc: ApiError):
        response = jsonify(error=exc.error, detail=exc.detail)
        response.status_code = exc.status
        response.headers.update(exc.headers)
        if exc.status == 401:
            response.headers.setdefault("WWW-Authenticate", 'Bearer realm="lms"')
        return response

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.name.lower().replace(" ", "_"), detail=exc.description), exc.code

    return bp
