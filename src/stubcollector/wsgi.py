"""WSGI entry point: ``gunicorn stubcollector.wsgi:app`` or ``flask --app stubcollector.wsgi``."""

from dotenv import load_dotenv

from stubcollector.app import create_app

load_dotenv()
app = create_app()
