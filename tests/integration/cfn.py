"""A CloudFormation evaluator for tests: resolve Conditions, Fn::If, parameter Refs and AWS::NoValue.

The expansion keeps CloudFormation's intrinsics (CloudFormation evaluates them at deploy time); to
assert what a given environment will create, the tests evaluate them here with that environment's
parameter values. Resource Refs, Fn::Sub and Fn::GetAtt stay as they are.
"""

from __future__ import annotations

from typing import Any

NO_VALUE = object()


class Evaluated:
    def __init__(self, template: dict[str, Any], parameters: dict[str, Any]) -> None:
        self.parameters = {k: str(v) for k, v in parameters.items()}
        self.raw_conditions = template.get("Conditions", {})
        self.conditions = {name: self._condition(expr) for name, expr in self.raw_conditions.items()}
        self.resources: dict[str, dict[str, Any]] = {}
        for logical, resource in template["Resources"].items():
            if "Condition" in resource and not self.conditions[resource["Condition"]]:
                continue
            self.resources[logical] = self.value(resource)
        self.outputs = {
            key: self.value(out)
            for key, out in template.get("Outputs", {}).items()
            if "Condition" not in out or self.conditions[out["Condition"]]
        }

    def _scalar(self, expr: Any) -> str:
        if isinstance(expr, dict) and set(expr) == {"Ref"}:
            return self.parameters[expr["Ref"]]
        return str(expr)

    def _condition(self, expr: Any) -> bool:
        ((op, args),) = expr.items()
        if op == "Fn::Equals":
            return self._scalar(args[0]) == self._scalar(args[1])
        if op == "Fn::Not":
            return not self._condition(args[0])
        if op == "Fn::And":
            return all(self._condition(a) for a in args)
        if op == "Fn::Or":
            return any(self._condition(a) for a in args)
        if op == "Condition":
            return self._condition(self.raw_conditions[args])
        raise ValueError(f"unsupported condition {op}")

    def value(self, node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, if_true, if_false = node["Fn::If"]
                return self.value(if_true if self.conditions[name] else if_false)
            if set(node) == {"Ref"}:
                ref = node["Ref"]
                if ref == "AWS::NoValue":
                    return NO_VALUE
                if ref in self.parameters:
                    return self.parameters[ref]
                return node
            out = {}
            for key, child in node.items():
                resolved = self.value(child)
                if resolved is not NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(node, list):
            return [v for v in (self.value(child) for child in node) if v is not NO_VALUE]
        return node

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == kind}

    def one(self, kind: str) -> dict[str, Any]:
        found = list(self.of_type(kind).values())
        assert len(found) == 1, f"expected one {kind}, found {len(found)}"
        return found[0]
