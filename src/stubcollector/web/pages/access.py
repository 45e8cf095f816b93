"""Who may open a page: typed wrappers over Flask-Login for page views.

``login_required`` sends an anonymous visitor to the login page and back (the page
blueprints are in ``login_manager.blueprint_login_views``); ``admin_required`` does the
same and then answers 403 to non-admins. API views use ``web.current.require_user``
instead, which answers 401 JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import flask_login
from flask.typing import ResponseReturnValue

from stubcollector.web.current import require_admin

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


def login_required(view: View) -> View:
    return cast(View, flask_login.login_required(view))


def admin_required(view: View) -> View:
    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        require_admin()
        return view(*args, **kwargs)

    return login_required(cast(View, checked))
