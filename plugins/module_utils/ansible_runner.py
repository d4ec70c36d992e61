"""Adapter from AnsibleModule.run_command to the library's runner protocol.

The only file in module_utils that knows about Ansible.
"""

import os
from typing import Any, Dict, Optional, Sequence

from .errors import ToolMissing
from .runner import TOOL_ENV, CommandResult


class AnsibleRunner:
    """Runs argv lists through ``module.run_command`` with LANG=C, never a shell, never check_rc."""

    def __init__(self, module: Any, extra_env: Optional[Dict[str, str]] = None) -> None:
        self.module = module
        self.env = dict(TOOL_ENV)
        if extra_env:
            self.env.update(extra_env)
        self._resolved: Dict[str, str] = {}

    def _resolve(self, binary: str) -> str:
        if os.path.isabs(binary):
            if not os.access(binary, os.X_OK):
                raise ToolMissing("%s is not installed or not executable" % binary, argv=[binary])
            return binary
        if binary not in self._resolved:
            path = self.module.get_bin_path(binary, required=False)
            if not path:
                raise ToolMissing("%s is not installed (not found on PATH)" % binary, argv=[binary])
            self._resolved[binary] = path
        return self._resolved[binary]

    def run(self, argv: Sequence[str], *, stdin: Optional[str] = None) -> CommandResult:
        args = [str(a) for a in argv]
        args[0] = self._resolve(args[0])
        kwargs: Dict[str, Any] = {
            "environ_update": self.env,
            "check_rc": False,
            "use_unsafe_shell": False,
            # argv is passed verbatim: a name such as "$HOME" or "~x" must not be expanded.
            "expand_user_and_vars": False,
        }
        if stdin is not None:
            kwargs["data"] = stdin
            kwargs["binary_data"] = True
        rc, stdout, stderr = self.module.run_command(args, **kwargs)
        # Report the argv as the caller wrote it (tool name, not the resolved path).
        return CommandResult(
            argv=tuple(str(a) for a in argv), rc=rc, stdout=stdout or "", stderr=stderr or ""
        )
