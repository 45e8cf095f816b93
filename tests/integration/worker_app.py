"""The app a test worker process loads: the real app plus the sample jobs.

Run as ``flask --app tests.integration.worker_app jobs worker``.
"""

from stubcollector.app import create_app
from tests.integration import sample_jobs  # noqa: F401 - registers the jobs

app = create_app()
