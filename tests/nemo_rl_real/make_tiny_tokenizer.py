"""Build a tiny byte-level BPE tokenizer with a chat template into DEST (no hub needed).

Run with the NeMo-RL venv's interpreter (it has `tokenizers` and `transformers`):
    python make_tiny_tokenizer.py DEST
NeMo-RL's own `get_tokenizer({"name": DEST})` loads it like any Hugging Face tokenizer.
"""

from __future__ import annotations

import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIAL = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
CORPUS = [
    "What is 2 + 2? The answer is \\boxed{4}.",
    "Explain why the sky is blue, in one sentence.",
    "Write a short poem about the sea and the wind.",
    "Solve for x: 3x + 5 = 20. So x = 5.",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,:;!?'\"()[]{}+-*/=\\_",
]


def build(dest: str) -> None:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<|pad|>",
        eos_token="<|end|>",
        bos_token="<|end|>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
    )
    fast.save_pretrained(dest)


if __name__ == "__main__":
    build(sys.argv[1])
