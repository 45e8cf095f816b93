"""Flask extensions, created unbound here and bound to an app in ``create_app``.

Keeping them unbound lets every module import them without importing the app, and lets
tests build as many independent apps as they like.
"""

from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from stubcollector.models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
# Storage (memory or Redis) and default limits are set from configuration in create_app.
limiter = Limiter(key_func=get_remote_address)
cors = CORS()
csrf = CSRFProtect()
