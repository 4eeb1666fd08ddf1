import pytest

from harness.errors import KeyspaceError
from harness.models.layers import resolve_layers


@pytest.mark.parametrize(
    "tokens, expected",
    [
        (["first"], [0]),
        (["mid"], [16]),
        (["last"], [31]),
        (["-1", "0"], [0, 31]),
        (["first", "0", "-32"], [0]),
        (["all"], list(range(32))),
    ],
)
def test_words_and_negative_indices(tokens, expected):
    assert resolve_layers(tokens, 32, model="m") == expected


@pytest.mark.parametrize("bad, needle", [("32", "range 0..31"), ("-33", "range 0..31"), ("middle", "not a layer")])
def test_bad_layers_name_the_range(bad, needle):
    with pytest.raises(KeyspaceError, match=needle) as info:
        resolve_layers([bad], 32, model="m")
    assert "\n" not in str(info.value)
