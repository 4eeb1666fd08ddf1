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
    with pytest.raises(KeyspaceError, match=r"^the processor of /ckpt: it needs the num2words package, .*`pip install num2words`$"):
        processors.load_processor("/ckpt", revision=None, trust_remote_code=False)


def test_a_backend_error_with_an_empty_first_line_names_the_package_and_its_install_command(monkeypatch):
    """transformers' "requires the timm library" errors start with a newline."""
    import transformers

    missing = ImportError("\nTimmWrapperModel requires the timm library but it was not found in your environment. You can "
                          "install it with pip:\n`pip install timm`. Please note that you may need to restart your runtime.\n")
    monkeypatch.setattr(processors, "torchvision_available", lambda: True)
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", _fail(missing))
    with pytest.raises(KeyspaceError, match=r"^the processor of /ckpt: it needs the timm package, .*`pip install timm`$"):
        processors.load_processor("/ckpt", revision=None, trust_remote_code=False)


def test_a_processor_given_no_image_processor_without_torchvision_says_torchvision(monkeypatch):
    """Video-LLaVA's processors: a torchvision-only image processor comes back as None, and the processor
    complains about a NoneType argument, not about torchvision."""
    import transformers

    none = TypeError("Received a NoneType for argument image_processor, but a ImageProcessingMixin was expected.")
    monkeypatch.setattr(processors, "torchvision_available", lambda: False)
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", _fail(none))
    monkeypatch.setattr(processors, "_image_only_from_pretrained", _fail(none))
    with pytest.raises(KeyspaceError, match=r"^the processor of /ckpt needs torchvision, which is not installed here"):
        processors.load_processor("/ckpt", revision=None, trust_remote_code=False)


def test_the_first_line_skips_empty_lines():
    assert processors.first_line(TORCHVISION).startswith("PixtralProcessor requires the Torchvision library")
    assert processors.first_line(ImportError("")) == "ImportError"
