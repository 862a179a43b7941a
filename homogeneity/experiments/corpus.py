"""Training text for the small LM, generated here (no network) or read from a user file.

Generators (all seeded with a private ``random.Random``; same seed → same corpus):

``pcfg``      sentences of a small probabilistic context-free grammar of English-like
              text: subject–verb number agreement, adjectives, prepositional phrases and
              sentential complements ("alice thinks that the dogs sleep ."), recursion
              cut at a fixed depth. Word-level tokens.
``dyck``      Dyck-2 words (balanced "( )" and "[ ]"), each followed by ``<eos>``.
``counting``  aⁿbⁿ words, n uniform in 1..max_n, each followed by ``<eos>``.
``majority``  a random word over {a, b} of odd length, then ``=`` and its majority
              symbol, then ``<eos>``.
``text``      a user-supplied UTF-8 text file, word level (whitespace split, the
              ``max_vocab`` − 1 most frequent words, the rest ``<unk>``) or char level.

A :class:`Corpus` holds the vocabulary and two token streams (train, valid);
:func:`sample_batch` draws language-model windows from a stream.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from homogeneity.errors import HomogeneityInputError

EOS = "<eos>"
UNK = "<unk>"
CORPORA = ("pcfg", "dyck", "counting", "majority", "text")


@dataclass(frozen=True)
class Corpus:
    """A vocabulary and train/valid token streams (1-D int64 tensors)."""

    name: str
    vocab: tuple[str, ...]
    train: torch.Tensor
    valid: torch.Tensor
    description: str

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def decode(self, ids: torch.Tensor) -> str:
        return " ".join(self.vocab[int(i)] for i in ids.reshape(-1))


# -- a probabilistic grammar ------------------------------------------------------------

_NOUNS = {
    "sg": ["dog", "cat", "bird", "child", "teacher", "farmer", "river", "house"],
    "pl": ["dogs", "cats", "birds", "children", "teachers", "farmers", "rivers", "houses"],
}
_NAMES = ["alice", "bob", "carol"]
_ADJ = ["small", "big", "red", "old", "quiet", "happy"]
_DET = {"sg": ["the", "a", "every", "this"], "pl": ["the", "some", "many", "these"]}
_VI = {"sg": ["sleeps", "runs", "laughs", "waits"], "pl": ["sleep", "run", "laugh", "wait"]}
_VT = {"sg": ["sees", "likes", "chases", "finds"], "pl": ["see", "like", "chase", "find"]}
_VS = {"sg": ["thinks", "says", "knows"], "pl": ["think", "say", "know"]}
_PREP = ["near", "with", "under", "behind"]
MAX_DEPTH = 3


def _noun_phrase(rng: random.Random, depth: int) -> tuple[list[str], str]:
    """NP → Name | Det (Adj) N (PP); returns (words, number)."""
    if rng.random() < 0.15:
        return [rng.choice(_NAMES)], "sg"
    number = "sg" if rng.random() < 0.6 else "pl"
    words = [rng.choice(_DET[number])]
    if rng.random() < 0.35:
        words.append(rng.choice(_ADJ))
    words.append(rng.choice(_NOUNS[number]))
    if depth < MAX_DEPTH and rng.random() < 0.2:
        obj, _ = _noun_phrase(rng, depth + 1)
        words += [rng.choice(_PREP)] + obj
    return words, number


def _verb_phrase(rng: random.Random, number: str, depth: int) -> list[str]:
    """VP → Vi | Vt NP | Vs that S (agreeing with the subject's number)."""
    r = rng.random()
    if depth < MAX_DEPTH and r < 0.15:
        return [rng.choice(_VS[number]), "that"] + _clause(rng, depth + 1)
    if r < 0.55:
        obj, _ = _noun_phrase(rng, depth + 1)
        return [rng.choice(_VT[number])] + obj
    return [rng.choice(_VI[number])]


def _clause(rng: random.Random, depth: int) -> list[str]:
    subject, number = _noun_phrase(rng, depth)
    return subject + _verb_phrase(rng, number, depth)


def pcfg_sentence(rng: random.Random) -> list[str]:
    """One sentence S → NP VP '.' of the grammar."""
    return _clause(rng, 0) + ["."]


# -- formal languages ----------------------------------------------------------------------


def dyck_word(rng: random.Random, max_len: int = 24) -> list[str]:
    """A Dyck-2 word of even length ≤ max_len (random walk that closes before the end)."""
    pairs = {"(": ")", "[": "]"}
    target = 2 * rng.randint(1, max_len // 2)
    out: list[str] = []
    stack: list[str] = []
    while len(out) < target:
        remaining = target - len(out)
        if stack and (remaining == len(stack) or rng.random() < 0.45):
            out.append(pairs[stack.pop()])
        else:
            opener = rng.choice("([")
            stack.append(opener)
            out.append(opener)
    return out


def counting_word(rng: random.Random, max_n: int = 12) -> list[str]:
    n = rng.randint(1, max_n)
    return ["a"] * n + ["b"] * n


def majority_word(rng: random.Random, max_len: int = 15) -> list[str]:
    n = 2 * rng.randint(0, (max_len - 1) // 2) + 1
    word = [rng.choice("ab") for _ in range(n)]
    return word + ["=", "a" if word.count("a") > n // 2 else "b"]


_GENERATORS: dict[str, tuple[Callable[[random.Random], list[str]], str]] = {
    "pcfg": (
        pcfg_sentence,
        "English-like sentences of a probabilistic grammar (agreement, "
        "PPs, sentential complements, depth ≤ 3)",
    ),
    "dyck": (dyck_word, "Dyck-2 words (balanced () and []), one per line"),
    "counting": (counting_word, "aⁿbⁿ, n uniform in 1..12"),
    "majority": (majority_word, "odd-length words over {a,b}, '=' and the majority symbol"),
}


def _vocab_of(tokens: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(tokens) | {EOS}))


def _stream(tokens: list[str], index: dict[str, int]) -> torch.Tensor:
    unk = index.get(UNK)
    return torch.tensor([index.get(w, unk) for w in tokens], dtype=torch.int64)


def generated_corpus(
    kind: str = "pcfg", n_tokens: int = 200_000, seed: int = 0, valid_fraction: float = 0.05
) -> Corpus:
    """A corpus of about ``n_tokens`` tokens from one of the generators."""
    if kind not in _GENERATORS:
        raise HomogeneityInputError(
            f"kind={kind!r} is not a generated corpus; pick one of {sorted(_GENERATORS)} "
            f"(or use text_corpus for a file)"
        )
    if n_tokens < 1000:
        raise HomogeneityInputError(f"n_tokens={n_tokens} is too small; pass ≥ 1000")
    if not 0 < valid_fraction < 0.5:
        raise HomogeneityInputError(f"valid_fraction={valid_fraction} must lie in (0, 0.5)")
    generate, description = _GENERATORS[kind]
    rng = random.Random(seed)
    tokens: list[str] = []
    while len(tokens) < n_tokens:
        tokens += generate(rng) + ([] if kind == "pcfg" else [EOS])
    vocab = _vocab_of(tokens)
    ids = _stream(tokens, {w: i for i, w in enumerate(vocab)})
    cut = int(len(ids) * (1 - valid_fraction))
    return Corpus(kind, vocab, ids[:cut], ids[cut:], f"{description}; seed {seed}")


def text_corpus(
    path: str | Path, level: str = "word", max_vocab: int = 5000, valid_fraction: float = 0.05
) -> Corpus:
    """A corpus from a UTF-8 text file (word or char level); lines end with ``<eos>``."""
    p = Path(path)
    if not p.is_file():
        raise HomogeneityInputError(f"path={str(path)!r} is not a file; pass a UTF-8 text file")
    if level not in ("word", "char"):
        raise HomogeneityInputError(f"level={level!r} must be 'word' or 'char'")
    if max_vocab < 3:
        raise HomogeneityInputError(f"max_vocab={max_vocab} must be ≥ 3")
    text = p.read_text(encoding="utf-8")
    tokens: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            tokens += (line.split() if level == "word" else list(line)) + [EOS]
    if len(tokens) < 200:
        raise HomogeneityInputError(
            f"{path} has only {len(tokens)} tokens; a language model needs ≥ 200"
        )
    counts = Counter(tokens)
    keep = {w for w, _ in counts.most_common(max_vocab - 2)} | {EOS}
    vocab = tuple(sorted(keep | {UNK}))
    ids = _stream(tokens, {w: i for i, w in enumerate(vocab)})
    cut = int(len(ids) * (1 - valid_fraction))
    return Corpus(
        "text",
        vocab,
        ids[:cut],
        ids[cut:],
        f"{p.name}, {level} level, {len(vocab)} types, {len(tokens)} tokens",
    )


def make_corpus(
    kind: str = "pcfg",
    *,
    n_tokens: int = 200_000,
    seed: int = 0,
    text_file: str | Path | None = None,
    level: str = "word",
    max_vocab: int = 5000,
) -> Corpus:
    """``text`` needs ``text_file``; every other kind is generated."""
    if kind not in CORPORA:
        raise HomogeneityInputError(f"corpus={kind!r} is unknown; pick one of {CORPORA}")
    if kind == "text":
        if text_file is None:
            raise HomogeneityInputError("corpus='text' needs text_file=<path to a UTF-8 file>")
        return text_corpus(text_file, level, max_vocab)
    if text_file is not None:
        raise HomogeneityInputError(
            f"text_file is only used with corpus='text' (got corpus={kind!r}); drop one"
        )
    return generated_corpus(kind, n_tokens, seed)


def sample_batch(
    stream: torch.Tensor, batch_size: int, seq_len: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows: inputs ``stream[i:i+n]`` and targets ``stream[i+1:i+n+1]``."""
    if stream.numel() < seq_len + 2:
        raise HomogeneityInputError(
            f"the stream has {stream.numel()} tokens, fewer than seq_len + 2 = {seq_len + 2}"
        )
    starts = torch.randint(0, stream.numel() - seq_len - 1, (batch_size,), generator=generator)
    offsets = torch.arange(seq_len)
    idx = starts[:, None] + offsets[None, :]
    return stream[idx], stream[idx + 1]
