import pytest

from harness.errors import KeyspaceError
from harness.models.layers import default_words, resolve_layers


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


HYBRID = [3, 7, 11, 15]  # self-attention layers of a 16-layer decoder whose other layers are linear attention


@pytest.mark.parametrize(
    "tokens, expected",
    [(["first"], [3]), (["mid"], [11]), (["last"], [15]), (["all"], HYBRID), (["-1", "7"], [7, 15])],
)
def test_words_resolve_over_the_attention_layers_of_a_hybrid(tokens, expected):
    assert resolve_layers(tokens, 16, model="m", attention=HYBRID) == expected


def test_an_index_at_a_layer_without_keys_names_the_attention_layers():
    with pytest.raises(KeyspaceError, match=r"layer 0 of m is not a self-attention layer.*are 3, 7, 11, 15$"):
        resolve_layers(["0"], 16, model="m", attention=HYBRID)


def test_attention_layers_come_from_the_config():
    from types import SimpleNamespace

    from harness.models.layers import attention_layers_of

    qwen35 = SimpleNamespace(num_hidden_layers=4, layer_types=["linear_attention", "full_attention"] * 2)
    lfm2 = SimpleNamespace(num_hidden_layers=3, layer_types=["conv", "conv", "full_attention"])
    mllama = SimpleNamespace(num_hidden_layers=4, cross_attention_layers=[1, 3])
    gemma3 = SimpleNamespace(num_hidden_layers=2, layer_types=["sliding_attention", "full_attention"])
    nemotron = SimpleNamespace(num_hidden_layers=4, layer_types=["mamba", "moe", "full_attention", "mlp"])
    dsa = SimpleNamespace(num_hidden_layers=2, layer_types=["indexed_attention", "linear_attention"])
    configs = (qwen35, lfm2, mllama, gemma3, nemotron, dsa)
    assert [attention_layers_of(c) for c in configs] == [[1, 3], [2], [0, 2], None, [2], [0]]


def test_a_small_decoder_is_measured_at_every_layer_by_default():
    assert default_words(("first", "mid", "last"), 4) == ("all",)
    assert resolve_layers(default_words(("first", "mid", "last"), 4), 4, model="m") == [0, 1, 2, 3]
    assert default_words(("0", "mid", "last"), 32) == ("0", "mid", "last")
    # a hybrid decoder counts its self-attention layers: 3 of 12 is small
    assert default_words(("first", "mid", "last"), 12, attention=[3, 7, 11]) == ("all",)
    assert default_words(("first", "mid", "last"), 12, attention=[1, 3, 5, 7, 9]) == ("first", "mid", "last")
