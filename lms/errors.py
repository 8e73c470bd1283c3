"""Friendly error pages (HTML) and JSON errors for the API."""
from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError


def _wants_json() -> bool:
    prefix = current_app.extensions["lms"].url_prefix
    return request.path.startswith(prefix + "/api/")


def register_error_handlers(app) -> None:
    from . import is_lms_request

    def handle_http(exc: HTTPException):
        if not is_lms_request():
            return exc
        if _wants_json():  # the API's own codes, as its blueprints write them: "method_not_allowed"
            return jsonify(error=exc.name.lower().replace(" ", "_"), detail=exc.description), exc.code
        template = exc.code if exc.code in (403, 404) else "generic"
        return render_template(f"lms/errors/{template}.html", error=exc), exc.code

    def handle_csrf(exc: CSRFError):
        if not is_lms_request():
            return exc
        return render_template("lms/errors/csrf.html", error=exc), 400

    def handle_unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return handle_http(exc)
        current_app.logger.exception("unhandled error")
        if not is_lms_request():
            return InternalServerError()
        if _wants_json():
            return jsonify(error="internal_server_error", detail=None), 500
        return render_template("lms/errors/500.html"), 500

    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(Exception, handle_unexpected)
