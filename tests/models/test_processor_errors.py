"""A processor that cannot be built here is one line naming what is missing, never a traceback."""

from __future__ import annotations

import pytest

from harness.errors import KeyspaceError
from harness.models import processors

TORCHVISION = ImportError(
    "\nPixtralProcessor requires the Torchvision library but it was not found in your environment. Check out the\n"
    "installation page: https://pytorch.org/get-started/locally/\n"
)


def _fail(error):
    def load(*args, **kwargs):
        raise error

    return load


@pytest.mark.parametrize("torchvision", [False, True])
def test_missing_torchvision_is_named_on_one_line(monkeypatch, torchvision):
    import transformers

    monkeypatch.setattr(processors, "torchvision_available", lambda: torchvision)
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", _fail(TORCHVISION))
    monkeypatch.setattr(processors, "_image_only_from_pretrained", _fail(TORCHVISION))
    with pytest.raises(KeyspaceError) as exc:
        processors.load_processor("/ckpt", revision=None, trust_remote_code=False)
    message = str(exc.value)
    assert message.startswith("the processor of /ckpt needs torchvision") and "\n" not in message


def test_another_missing_package_is_named(monkeypatch):
    import transformers

    missing = ImportError("Package `num2words` is required to run SmolVLM processor. Install it with `pip install num2words`.")
    monkeypatch.setattr(processors, "torchvision_available", lambda: False)
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", _fail(missing))
    monkeypatch.setattr(processors, "_image_only_from_pretrained", _fail(missing))
    with pytest.raises(KeyspaceError, match=r"^the processor of /ckpt cannot be built here: Package `num2words` is required"):
        processors.load_processor("/ckpt", revision=None, trust_remote_code=False)


def test_the_first_line_skips_empty_lines():
    assert processors.first_line(TORCHVISION).startswith("PixtralProcessor requires the Torchvision library")
    assert processors.first_line(ImportError("")) == "ImportError"
