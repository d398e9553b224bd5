"""Primitive op rules (shape, params, MACs), one op family per module."""

from archc.compiler.ops.registry import REGISTRY, OpRule, Requirement, Rules, all_ops, get

__all__ = ["REGISTRY", "OpRule", "Requirement", "Rules", "all_ops", "get"]
