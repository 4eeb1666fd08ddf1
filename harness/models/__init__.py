"""Model families; importing this package registers every family and model."""

from . import llava, llava_next, organisms, qwen_vl  # noqa: F401  (each registers its family and models)
from .adapter import LoadedModel, ModelAdapter
from .family import adapter_for
from .registry import ModelSpec, get_model_spec, model_names, register_model

__all__ = ["LoadedModel", "ModelAdapter", "ModelSpec", "adapter_for", "get_model_spec", "model_names", "register_model"]
