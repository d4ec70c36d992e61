"""Execute a plan: the only place planned actions become tool calls."""

from typing import Any, Dict, List, Optional, Sequence

from .errors import InvalidRequest, PmemError, SafeModeRefused
from .planner import (
    CREATE_NAMESPACE,
    DESTROY_NAMESPACE,
    ENABLE_NAMESPACE,
    INIT_LABELS,
    RECONFIGURE_NAMESPACE,
    Action,
)


def apply_plan(
    plan: Sequence[Action],
    ndctl: Any,
    ipmctl: Any = None,
    *,
    allow_data_loss: Optional[bool] = None,
) -> List[Dict[str, Any]]:
    """Run ``plan`` in order through the wrappers; return one result per action.

    Each result holds the action and, for creates and reconfigures, the
    namespace facts ndctl reported. The first failure raises (the typed error
    of the wrapper) and later actions are not attempted. Pass
    ``allow_data_loss=False`` to assert no action destroys data.
    """
    if allow_data_loss is False:
        destructive = [a for a in plan if a.destroys_data]
        if destructive:
            raise SafeModeRefused(
                "allow_data_loss: the plan destroys data (%s)" % ", ".join(a.target for a in destructive)
            )
    results: List[Dict[str, Any]] = []
    for action in plan:
        outcome: Dict[str, Any] = {"action": action.to_dict()}
        params = action.params
        if action.kind == DESTROY_NAMESPACE:
            outcome["count"] = ndctl.destroy_namespace(action.target, force=bool(params.get("force", True)))
        elif action.kind == INIT_LABELS:
            # Labels can only be written while the region is disabled.
            ndctl.disable_region(action.target)
            initialised = 0
            try:
                for nmem in params.get("nmems") or ["all"]:
                    initialised += ndctl.init_labels(nmem)
            except PmemError:
                # Nothing half-done: bring the region (and its raw namespace) back before failing.
                ndctl.enable_region(action.target)
                raise
            ndctl.enable_region(action.target)
            outcome["count"] = initialised
        elif action.kind == ENABLE_NAMESPACE:
            outcome["count"] = ndctl.enable_namespace(action.target)
        elif action.kind == RECONFIGURE_NAMESPACE:
            ns = ndctl.create_namespace(
                mode=params["mode"],
                name=params.get("name"),
                align=params.get("align"),
                map=params.get("map"),
                sector_size=params.get("sector_size"),
                force=True,
                reconfig=action.target,
            )
            outcome["namespace"] = ns.to_dict()
        elif action.kind == CREATE_NAMESPACE:
            ns = ndctl.create_namespace(
                region=params["region"],
                mode=params["mode"],
                size=params.get("size"),
                name=params.get("name"),
                align=params.get("align"),
                map=params.get("map"),
                sector_size=params.get("sector_size"),
            )
            outcome["namespace"] = ns.to_dict()
        elif action.kind == "delete_goal":
            outcome["lines"] = _ipmctl(ipmctl, action).delete_goal(sockets=params.get("sockets"))
        elif action.kind == "create_goal":
            goals = _ipmctl(ipmctl, action).create_goal(
                persistent_memory_type=params["persistent_memory_type"],
                memory_mode=params["memory_mode"],
                reserved=params.get("reserved"),
                sockets=params.get("sockets"),
            )
            outcome["goals"] = [g.to_dict() for g in goals]
        else:
            raise InvalidRequest("plan", "unknown action kind", action.kind)
        results.append(outcome)
    return results


def _ipmctl(ipmctl: Any, action: Action) -> Any:
    if ipmctl is None:
        raise InvalidRequest("ipmctl", "is needed to apply %s" % action.kind)
    return ipmctl
