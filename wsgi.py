"""Entry point for the standalone app: ``flask --app wsgi ...`` and ``gunicorn wsgi:app``."""
from lms import create_app

app = create_app()
