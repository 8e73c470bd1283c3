"""The yardstick: a bare Flask app serving one SQLite query through one Jinja template.

It runs under the same gunicorn command line as the LMS, in the same run, so that
every throughput figure can be given as a ratio to it: what the LMS costs on top of
Flask, a database round trip and a template on this machine. It opens a connection
per request (as Flask's tutorial app does) and renders a page of about the size of a
lesson.

    BENCH_REFERENCE_DB=/tmp/ref.sqlite3 gunicorn bench.reference_app:app
"""
from __future__ import annotations

import os
import sqlite3

from flask import Flask, g, render_template
from jinja2 import DictLoader

TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }}</title></head>
<body>
<main>
<h1>{{ title }}</h1>
{% for paragraph in body.split("\\n\\n") %}<p>{{ paragraph }}</p>
{% endfor %}
</main>
</body>
</html>
"""

PARAGRAPH = ("Due diligence asks a business to find, stop and account for the harm its operations and "
             "its suppliers may cause to workers, starting where the risk is highest. ")


def create_database(path: str, rows: int = 100) -> None:
    """The reference's table: ``rows`` pages of about 8 KB of text each."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("DROP TABLE IF EXISTS pages")
        db.execute("CREATE TABLE pages (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL)")
        body = "\n\n".join(PARAGRAPH * 4 for _ in range(20))
        db.executemany("INSERT INTO pages (id, title, body) VALUES (?, ?, ?)",
                       [(i, f"Page {i}", body) for i in range(1, rows + 1)])


app = Flask(__name__)
app.jinja_loader = DictLoader({"page.html": TEMPLATE})  # one template, loaded and compiled once


def database() -> sqlite3.Connection:
    if "db" not in g:
        g.db = sqlite3.connect(os.environ["BENCH_REFERENCE_DB"])
    return g.db


@app.teardown_appcontext
def close(_exc=None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


@app.get("/")
@app.get("/pages/<int:page_id>")
def page(page_id: int = 1):
    row = database().execute("SELECT title, body FROM pages WHERE id = ?", (page_id,)).fetchone()
    if row is None:
        return "Not found", 404
    return render_template("page.html", title=row[0], body=row[1])
