"""The flows' registry workflow: one implementation with the mappings' (engine.registry.workflow); its name here
is the one the worker and older code import."""

from engine.registry.workflow import FlowRegistryWorkflow

__all__ = ["FlowRegistryWorkflow"]
