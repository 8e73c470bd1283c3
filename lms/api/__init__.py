"""The JSON API v1 (SPEC section 8): bearer tokens of secretariat accounts, JSON errors."""
from __future__ import annotations

import secrets
from flask import Blueprint, jsonify, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from ..accounts.models import hash_token
from ..db import get_session
from .models import ApiToken


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail=None):
        super().__init__(error)
        self.status, self.error, self.detail = status, error, detail


def create_token(session, user) -> str:
    """A new token for a secretariat account; only its hash is kept."""
    if not user.is_secretariat:
        raise ValueError("API tokens are for secretariat accounts")
    token = "lms_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    session.flush()
    return token


def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "Send an API token: Authorization: Bearer <token>.")
    row = get_session().scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
    if row is None or row.revoked_at is not None or not row.user.is_active or not row.user.is_secretariat:
        raise ApiError(401, "unauthorized", "This token is not valid.")


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
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="lms"'
        return response

    @bp.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return jsonify(error=exc.name.lower().replace(" ", "_"), detail=exc.description), exc.code

    return bp
