"""Model families; importing this package registers every family and model."""

from . import llava  # noqa: F401  (registers the LLaVA family and its models)
from .adapter import LoadedModel, ModelAdapter
from .family import adapter_for
from .registry import ModelSpec, get_model_spec, model_names, register_model

__all__ = ["LoadedModel", "ModelAdapter", "ModelSpec", "adapter_for", "get_model_spec", "model_names", "register_model"]
