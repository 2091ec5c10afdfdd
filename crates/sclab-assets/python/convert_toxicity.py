"""Convert the toxic-comment-classifier's Keras weights and tokenizer to safetensors + JSON.

Usage: convert_toxicity.py WEIGHTS_H5 TOKENIZER_PICKLE OUT_DIR

Reads the HDF5 weights with h5py and the pickled Keras Tokenizer with a restricted
unpickler that maps every class to a plain object: Keras itself is not needed, and
nothing in the pickle can run code.
"""
import collections
import json
import os
import pickle
import struct
import sys

import h5py
import numpy as np

VOCAB_LIMIT = 20000

# Keras layer path -> name in the safetensors file.
TENSORS = {
    "layers/embedding/vars/0": "embedding",
    "layers/bidirectional/forward_layer/cell/vars/0": "lstm_forward.kernel",
    "layers/bidirectional/forward_layer/cell/vars/1": "lstm_forward.recurrent_kernel",
    "layers/bidirectional/forward_layer/cell/vars/2": "lstm_forward.bias",
    "layers/bidirectional/backward_layer/cell/vars/0": "lstm_backward.kernel",
    "layers/bidirectional/backward_layer/cell/vars/1": "lstm_backward.recurrent_kernel",
    "layers/bidirectional/backward_layer/cell/vars/2": "lstm_backward.bias",
    "layers/dense/vars/0": "dense.kernel",
    "layers/dense/vars/1": "dense.bias",
    "layers/dense_1/vars/0": "output.kernel",
    "layers/dense_1/vars/1": "output.bias",
}


class PlainObject:
    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.__dict__.update(state)


class RestrictedUnpickler(pickle.Unpickler):
    SAFE = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "defaultdict"): collections.defaultdict,
        ("builtins", "int"): int,
        ("builtins", "dict"): dict,
        ("builtins", "list"): list,
    }

    def find_class(self, module, name):
        return self.SAFE.get((module, name), PlainObject)


def write_safetensors(path, arrays):
    header, offset, blobs = {}, 0, []
    for name, array in arrays.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for blob in blobs:
            f.write(blob)


def main(weights_path, tokenizer_path, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with h5py.File(weights_path, "r") as f:
        arrays = {name: np.asarray(f[path]) for path, name in TENSORS.items()}
    with open(tokenizer_path, "rb") as f:
        tokenizer = RestrictedUnpickler(f).load()
    word_index = tokenizer.__dict__["word_index"]
    vocab = {word: index for word, index in word_index.items() if index < VOCAB_LIMIT}
    write_safetensors(os.path.join(out_dir, "toxicity.safetensors"), arrays)
    with open(os.path.join(out_dir, "toxicity_vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)


if __name__ == "__main__":
    main(*sys.argv[1:4])
