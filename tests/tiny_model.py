"""A tiny random Llama with a byte-level BPE tokenizer and a chat template, and an endpoint serving it.

Built once per session in well under a second, so tests run the real transformers code path offline.
Its text is random bytes: tests assert counts, determinism and agreement between code paths, never content.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # ids 0, 1, 2 as in SmolLM2
CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
WORDS = (
    "annotators compare two answers and pick the better one while the model writes candidates for each prompt "
    "a ranking orders several replies from best to worst and a rating scores one reply on a scale of seven "
    "values cards describe what matters to a person in a hard choice and votes decide which value is wiser "
    "the capital of france is paris and the capital of italy is rome while berlin is in germany"
).split()


def _sentences() -> list[str]:
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=12)) + "." for _ in range(60)]


def tiny_model_save(path: Path) -> Path:
    """Write the tiny model and its tokenizer to `path` (benchmarks use it too)."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(_sentences(), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<|im_end|>",
    )
    tokenizer.chat_template = CHATML

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        tie_word_embeddings=False,
        initializer_range=0.2,  # peaked logits, so greedy choices are not near-ties that rounding could flip
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model_save(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture
def tiny_endpoint(db, settings, tiny_model_dir):
    """The tiny model as the default endpoint, in an allowed folder."""
    from modelhost.models import ModelEndpoint

    settings.MODELHOST_MODEL_DIRS = [str(tiny_model_dir.parent)]
    return ModelEndpoint.objects.create(
        name="tiny", model=str(tiny_model_dir), device="cpu", dtype="float32", max_context=256, is_default=True,
        default_params={"max_new_tokens": 8, "temperature": 0.8, "top_p": 0.95},
    )
