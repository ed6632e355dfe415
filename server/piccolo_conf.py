"""Piccolo's configuration module (``PICCOLO_CONF=server.piccolo_conf``).

``DB`` starts as the engine of the environment's settings, so Piccolo's own
command line works; :func:`server.database.configure` replaces it with the
engine of the settings the app was built from.
"""

from piccolo.conf.apps import AppRegistry

from server.database import build_engine
from server.settings import get_settings

DB = build_engine(get_settings())

APP_REGISTRY = AppRegistry(apps=["server.database.piccolo_app"])
