"""Processors without a video processor, for machines without torchvision.

Qwen2-VL and Qwen2.5-VL processors take a video processor, and transformers' video processors need
torchvision. The harness feeds images only, so where torchvision is missing it builds the family's
real processor class with the video processor left out; the image path is the class's own code.
"""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace
from typing import Any

from harness.errors import KeyspaceError


def torchvision_available() -> bool:
    from transformers.utils import is_torchvision_available

    return is_torchvision_available()


@cache
def image_only(processor_class: type) -> type:
    """`processor_class` without its video processor (given `video_processor=None`; videos unusable).

    ProcessorMixin takes its sub-processors from `get_attributes()`; leaving the video processor out
    there makes construction, `__call__` on images and `save_pretrained` all skip it. A family whose
    `__init__` hands its sub-processors on positionally with the video processor before others (the
    Qwen-Omni processors: image, video, feature extractor, tokenizer) has them named here in its own
    order first, so that none shifts into the place of the one left out."""
    from transformers.processing_utils import ProcessorMixin

    @classmethod
    def get_attributes(cls) -> list[str]:
        return [a for a in processor_class.get_attributes() if a != "video_processor"]

    def by_name(self, *args, **kwargs):
        named = dict(zip(processor_class.get_attributes(), args), **kwargs)
        named.pop("video_processor", None)
        ProcessorMixin.__init__(self, **named)

    # placed after the family's own classes in the MRO, just before ProcessorMixin: the family's __init__ runs as written
    positional = type("ImageOnlyPositional", (ProcessorMixin,), {"__init__": by_name, "__module__": __name__})
    return type(processor_class.__name__, (processor_class, positional), {
        "get_attributes": get_attributes,
        # What some processors read from their video processor even for images (SmolVLM's chat template
        # defaults: frames and fps); None leaves video sampling off, as for a prompt without video.
        "video_processor": SimpleNamespace(num_frames=None, fps=None),
        "__module__": processor_class.__module__,
        "__doc__": f"{processor_class.__name__} for images only (no torchvision here for its video processor).",
    })


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message (transformers' import errors start with a newline)."""
    return next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)


def load_processor(source: str, *, revision: str | None, trust_remote_code: bool) -> Any:
    """AutoProcessor for `source`; without torchvision, the same processor class built for images only.

    A processor that cannot be built here (no PIL implementation of its image processor, a missing
    package such as num2words) is one line naming what to install, never a traceback."""
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(source, revision=revision, trust_remote_code=trust_remote_code)
    except (ImportError, AttributeError, OSError, ValueError, TypeError) as error:
        if torchvision_available():
            if isinstance(error, ImportError):
                raise KeyspaceError(_cannot_build(source, error)) from None
            raise
    try:
        return _image_only_from_pretrained(source, revision=revision, trust_remote_code=trust_remote_code)
    except (ImportError, AttributeError, ValueError, TypeError) as error:
        raise KeyspaceError(_cannot_build(source, error)) from None
    except OSError:
        if _video_processor_only(source, revision):  # InstructBLIP-Video: nothing to build for images alone
            raise KeyspaceError(_cannot_build(source, ImportError("its video processor needs torchvision"))) from None
        raise


def _video_processor_only(source: str, revision: str | None) -> bool:
    """Whether the checkpoint's processor holds a video processor and no image processor (nested in
    processor_config.json, or in files of their own as older checkpoints keep them)."""
    import json

    from transformers.utils import cached_file

    def found(name: str) -> str | None:
        return cached_file(source, name, revision=revision, _raise_exceptions_for_missing_entries=False)

    nested = found("processor_config.json")
    parts = set(json.loads(open(nested, encoding="utf-8").read())) if nested else set()
    video = "video_processor" in parts or found("video_preprocessor_config.json") is not None
    return video and "image_processor" not in parts and found("preprocessor_config.json") is None


def _cannot_build(source: str, error: BaseException) -> str:
    """One line for a processor that cannot be built here. Without torchvision, a torchvision-only
    image processor shows up as an AttributeError, an import error naming torchvision, or a processor
    given no image processor ("Received a NoneType for argument image_processor")."""
    text = str(error).lower()
    if "torchvision" in text or (
        not torchvision_available() and (isinstance(error, AttributeError) or "nonetype for argument" in text)
    ):
        import torch

        return (
            f"the processor of {source} needs torchvision, which is not installed here; "
            f"install the torchvision build that matches torch {torch.__version__}"
        )
    if isinstance(error, ImportError):
        return f"the processor of {source}: {missing_package(error)}"
    return f"the processor of {source} cannot be built here: {first_line(error)}"


def _image_only_from_pretrained(source: str, *, revision: str | None, trust_remote_code: bool) -> Any:
    import inspect

    import transformers
    from transformers import AutoImageProcessor, AutoTokenizer
    from transformers.models.auto.processing_auto import processor_class_from_name
    from transformers.utils import cached_file

    import json

    config_file = cached_file(source, "processor_config.json", revision=revision, _raise_exceptions_for_missing_entries=False)
    name = None
    if config_file:
        name = json.loads(open(config_file, encoding="utf-8").read()).get("processor_class")
    if name is None:
        config = transformers.AutoConfig.from_pretrained(source, revision=revision, trust_remote_code=trust_remote_code)
        name = transformers.models.auto.processing_auto.PROCESSOR_MAPPING_NAMES.get(config.model_type)
    cls = processor_class_from_name(name) if name else None
    if cls is None:
        raise ImportError(f"cannot build the processor of {source} without torchvision")
    image_processor = AutoImageProcessor.from_pretrained(source, revision=revision, backend="pil")
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=trust_remote_code)
    # The processor's own fields and chat template, wherever the checkpoint keeps them
    # (processor_config.json, chat_template.jinja, or the older chat_template.json).
    fields, _ = cls.get_processor_dict(source, revision=revision)
    chat_template = fields.pop("chat_template", None)  # the processor's own, as AutoProcessor would load it
    accepted = inspect.signature(cls.__init__).parameters
    loaded = {"image_processor": image_processor, "tokenizer": tokenizer, "video_processor": None}
    if "feature_extractor" in accepted:  # the Qwen-Omni processors' audio side, built as AutoProcessor would
        from transformers import AutoFeatureExtractor

        loaded["feature_extractor"] = AutoFeatureExtractor.from_pretrained(source, revision=revision)
    fields = {k: v for k, v in fields.items() if k in accepted and k not in loaded}
    return image_only(cls)(**loaded, chat_template=chat_template, **fields)


def missing_package(error: ImportError) -> str:
    """One line naming the package an import error asks for and the command that installs it."""
    import re

    text = str(error)
    found = re.search(r"requires the (\S+) librar", text) or re.search(r"pip install ([A-Za-z0-9_.-]*[A-Za-z0-9])", text)
    name = getattr(error, "name", None) or (found.group(1) if found else None)
    if name is None:
        first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
        return f"a package it needs is missing here ({first})"
    if name.lower() == "torchvision":
        import torch

        return f"it needs torchvision, which is not installed here; install the torchvision build that matches torch {torch.__version__}"
    return f"it needs the {name} package, which is not installed here; install it with `pip install {name}`"
