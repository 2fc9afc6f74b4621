"""Where a password comes from: a file, an environment variable (the password, else a file it
names), or a prompt, in that order."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

#: The environment variable for keystore passwords (wallets and the office's deployer key).
KEY_PASSWORD_ENV = "IPLEDGER_KEY_PASSWORD"
#: The environment variable naming a file that holds it (as the service's settings read it).
KEY_PASSWORD_FILE_ENV = "IPLEDGER_KEY_PASSWORD_FILE"


class PasswordUnavailable(ValueError):
    """No password was given and none can be asked for."""


def password_from(
    file: Path | None,
    env_var: str,
    prompt: Callable[[], str] | None,
    *,
    purpose: str,
    file_env_var: str | None = None,
) -> str:
    """The password from `file`, else from `env_var`, else from the file `file_env_var` names,
    else from `prompt`.

    The environment's order is the service's (`Settings.password`), so that a command and the
    service given the same environment unlock with the same password. A file's trailing newline
    is not part of the password. `purpose` names what the password unlocks, for the error when
    there is no way to get one (a script with no terminal).
    """
    if file is not None:
        return _read(file)
    from_env = os.environ.get(env_var)
    if from_env is not None:
        return from_env
    named = os.environ.get(file_env_var) if file_env_var else None
    if named:
        return _read(Path(named))
    if prompt is None:
        also = f" or {file_env_var}" if file_env_var else ""
        raise PasswordUnavailable(
            f"a password is needed for {purpose}: give a password file or set {env_var}{also}"
        )
    return prompt()


def key_password_from(file: Path | None, prompt: Callable[[], str] | None, *, purpose: str) -> str:
    """A keystore's password: `file`, else IPLEDGER_KEY_PASSWORD(_FILE), else `prompt`."""
    return password_from(
        file, KEY_PASSWORD_ENV, prompt, purpose=purpose, file_env_var=KEY_PASSWORD_FILE_ENV
    )


def _read(file: Path) -> str:
    try:
        return file.read_text().rstrip("\r\n")
    except OSError as exc:
        raise PasswordUnavailable(f"cannot read the password file {file}: {exc}") from None
