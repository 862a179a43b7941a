"""The shipped English sentences and their provenance."""

from __future__ import annotations

import re

import pytest

from homogeneity.data import load_sentences, sources_note
from homogeneity.errors import HomogeneityInputError
from homogeneity.pretrained import (
    MINILM_INSTALL_HINT,
    CheckpointFiles,
    WordPieceTokenizer,
    encoder_config,
    minilm_folder,
    read_config,
)


def test_at_least_one_hundred_sentences_with_provenance():
    sentences = load_sentences()
    assert len(sentences) >= 100
    ids = [s.id for s in sentences]
    assert len(set(ids)) == len(ids)
    note = sources_note()
    prefixes = {"pride-and-prejudice": "pp", "frankenstein": "fr"}
    for s in sentences:
        assert s.source in prefixes and s.id.startswith(prefixes[s.source] + "-")
        assert s.location and s.text == s.text.strip() and "\t" not in s.text
        assert re.search(r"[.!?]$", s.text), s.id
        assert len(s.text.split()) >= 3, s.id
    for source in prefixes:
        assert f"`{source}`" in note
    assert "Project Gutenberg" in note and "#1342" in note and "#84" in note
    for source in prefixes:
        numbers = [int(s.id.split("-")[1]) for s in sentences if s.source == source]
        assert numbers == list(range(1, len(numbers) + 1))


def test_limit():
    assert [s.id for s in load_sentences(3)] == [s.id for s in load_sentences()[:3]]
    with pytest.raises(HomogeneityInputError, match="limit"):
        load_sentences(0)


@pytest.mark.pretrained
@pytest.mark.skipif(
    minilm_folder() is None, reason=f"weights package not installed: {MINILM_INSTALL_HINT}"
)
def test_every_sentence_fits_the_model():
    files = CheckpointFiles.in_folder(minilm_folder())
    cfg = encoder_config(read_config(files.config))
    tokenizer = WordPieceTokenizer(files.tokenizer, max_len=cfg.max_len, vocab_size=cfg.vocab_size)
    tok = tokenizer.encode([s.text for s in load_sentences()])
    lengths = tok.batch.lengths
    assert int(lengths.max()) <= cfg.max_len
    assert int(lengths.min()) >= 5
    assert all(t[0] == "[CLS]" and t[-1] == "[SEP]" for t in tok.tokens)
    assert "[UNK]" not in {w for t in tok.tokens for w in t}
