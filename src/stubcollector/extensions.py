"""Flask extensions, created unbound here and bound to an app in ``create_app``.

Keeping them unbound lets every module import them without importing the app, and lets
tests build as many independent apps as they like.
"""

from flask_cors import CORS
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from stubcollector.models.base import Base
from stubcollector.ratelimits import RateLimits

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
# Views declare their limits on this; create_app gives each app its own Flask-Limiter
# (storage, switch and counters are per app), see stubcollector.ratelimits.
limiter = RateLimits()
cors = CORS()
csrf = CSRFProtect()
