"""flaskd: run a Flask script unchanged in production.

One configuration (argparse options, config file, env vars, secrets), real
start-up and shutdown hooks, and the same behaviour as a script, under
``flaskd run`` and under any WSGI server.
"""

from ._api import run as run
from ._config import Resolved as Resolved
from ._config import Value as Value
from ._errors import ConfigError as ConfigError
from ._errors import StartupError as StartupError
from ._service import Service as Service

__all__ = ["ConfigError", "Resolved", "Service", "StartupError", "Value", "run"]
