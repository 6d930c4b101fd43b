"""Prepare the character corpus: data/chars/{train,val}.bin (uint16 ids) and meta.json.

The corpus is generated (deterministic, with the statistics of text: a Zipf vocabulary of
words made of characters), so nothing is downloaded. Its output is ignored by git, like the
prepared datasets of real trainers.
"""

import json
import os
import sys

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chars")


def corpus(n_chars: int, seed: int = 1337) -> str:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = ["".join(rng.choice(letters, size=rng.integers(1, 9))) for _ in range(3000)]
    weights = 1.0 / np.arange(1, len(words) + 1)
    picks = rng.choice(len(words), size=n_chars // 5, p=weights / weights.sum())
    text = " ".join(words[i] for i in picks)
    return text.replace(" the", ".\n")[:n_chars]


def main() -> None:
    n_chars = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    text = corpus(n_chars)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.uint16)
    split = int(0.9 * len(ids))
    os.makedirs(HERE, exist_ok=True)
    ids[:split].tofile(os.path.join(HERE, "train.bin"))
    ids[split:].tofile(os.path.join(HERE, "val.bin"))
    with open(os.path.join(HERE, "meta.json"), "w") as f:
        json.dump({"vocab_size": len(chars), "chars": chars}, f)
    print(f"{len(ids):,} characters, vocabulary {len(chars)}: {HERE}")


if __name__ == "__main__":
    main()
