"""Where a password comes from: a file, an environment variable, or a prompt, in that order."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

#: The environment variable for keystore passwords (wallets and the office's deployer key).
KEY_PASSWORD_ENV = "IPLEDGER_KEY_PASSWORD"


class PasswordUnavailable(ValueError):
    """No password was given and none can be asked for."""


def password_from(
    file: Path | None,
    env_var: str,
    prompt: Callable[[], str] | None,
    *,
    purpose: str,
) -> str:
    """The password from `file`, else from `env_var`, else from `prompt`.

    A file's trailing newline is not part of the password. `purpose` names what the password
    unlocks, for the error when there is no way to get one (a script with no terminal).
    """
    if file is not None:
        try:
            return file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise PasswordUnavailable(f"cannot read the password file {file}: {exc}") from None
    from_env = os.environ.get(env_var)
    if from_env is not None:
        return from_env
    if prompt is None:
        raise PasswordUnavailable(
            f"a password is needed for {purpose}: give a password file or set {env_var}"
        )
    return prompt()
