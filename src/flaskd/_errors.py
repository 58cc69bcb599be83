"""The errors flaskd raises, and the exit codes they map to."""

from __future__ import annotations

import click

#: A usage or configuration mistake: a bad flag, env var, config value or file.
EXIT_CONFIG = 2
#: A start-up hook raised before the server reported ready.
EXIT_STARTUP = 3


class ConfigError(click.ClickException):
    """A configuration value, file or target the user gave is wrong.

    The message is one line that names the key, where the value came from and
    what would be accepted. At the command line it exits with code 2 and no
    traceback.
    """

    exit_code = EXIT_CONFIG

    def format_message(self) -> str:
        return self.message


class StartupError(click.ClickException):
    """A start-up hook raised; the service cannot serve.

    ``hook`` is the failing function and ``__cause__`` the exception it raised.
    At the command line it exits with code 3.
    """

    exit_code = EXIT_STARTUP

    def __init__(self, hook_name: str, error: BaseException) -> None:
        super().__init__(f"start-up hook {hook_name} failed: {type(error).__name__}: {error}")
        self.hook_name = hook_name

    @classmethod
    def relayed(cls, hook_name: str, message: str) -> StartupError:
        """The failure a worker process reported, rebuilt from its message."""
        error = cls.__new__(cls)
        click.ClickException.__init__(error, message)
        error.hook_name = hook_name
        return error
