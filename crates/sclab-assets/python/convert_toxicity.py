"""Convert the toxic-comment-classifier's Keras weights and tokenizer to safetensors + JSON.

Usage: convert_toxicity.py WEIGHTS_H5 TOKENIZER_PICKLE OUT_DIR

Reads the HDF5 weights with h5py and the pickled Keras Tokenizer with a restricted
unpickler that maps every class to a plain object: Keras itself is not needed, and
nothing in the pickle can run code.

Also writes reference scores: the original model (the package's model.py: Embedding,
Bidirectional LSTM(50) with return_sequences, GlobalMaxPooling1D, Dense(50, relu), Dropout,
Dense(6, sigmoid), Keras' LSTM equations) evaluated in float64 with numpy on the original
weights and the original tokenizer's own settings, for texts the converted classifier must
score alike (crates/sclab-engine/tests/real_model.rs). TensorFlow is not on the package
registry in a form this step could install; numpy runs the same equations.
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
MAXLEN = 100  # model.py's MAXLEN

REFERENCE_TEXTS = [
    "You are so dumb and stupid!",
    "Thank you for the lovely afternoon.",
    "I will find you and hurt you, you worthless idiot.",
    "The committee meets on Tuesday to discuss the budget.",
    "Visit HTTP://EXAMPLE.COM -- it's GREAT!!! (really)",
    "",
]

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


def text_to_sequence(tokenizer, text):
    """Keras' Tokenizer.texts_to_sequences for one text, from the pickled tokenizer's settings."""
    settings = tokenizer.__dict__
    if settings.get("lower", True):
        text = text.lower()
    split = settings.get("split", " ")
    text = text.translate(str.maketrans({c: split for c in settings.get("filters", "")}))
    words = [w for w in text.split(split) if w]
    num_words, oov = settings.get("num_words"), settings.get("oov_token")
    index = settings["word_index"]
    sequence = []
    for word in words:
        i = index.get(word)
        if i is not None and (not num_words or i < num_words):
            sequence.append(i)
        elif oov is not None and index.get(oov) is not None:
            sequence.append(index[oov])
    return sequence


def pad(sequence):
    """Keras' pad_sequences(maxlen=MAXLEN): pre-truncation, pre-padding with 0."""
    kept = sequence[-MAXLEN:]
    return [0] * (MAXLEN - len(kept)) + kept


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm(inputs, kernel, recurrent, bias):
    """Keras' LSTM: gates i, f, c, o; tanh activation, sigmoid recurrent activation."""
    units = recurrent.shape[0]
    h, c, outputs = np.zeros(units), np.zeros(units), []
    for x in inputs:
        z = x @ kernel + h @ recurrent + bias
        i, f, g, o = (z[k * units:(k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.array(outputs)


def original_scores(arrays, tokenizer, text):
    a = {name: np.asarray(value, dtype=np.float64) for name, value in arrays.items()}
    inputs = a["embedding"][pad(text_to_sequence(tokenizer, text))]
    forward = lstm(inputs, a["lstm_forward.kernel"], a["lstm_forward.recurrent_kernel"], a["lstm_forward.bias"])
    backward = lstm(inputs[::-1], a["lstm_backward.kernel"], a["lstm_backward.recurrent_kernel"], a["lstm_backward.bias"])[::-1]
    pooled = np.concatenate([forward, backward], axis=1).max(axis=0)
    hidden = np.maximum(pooled @ a["dense.kernel"] + a["dense.bias"], 0.0)
    return sigmoid(hidden @ a["output.kernel"] + a["output.bias"]).tolist()


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
    reference = [{"text": t, "scores": original_scores(arrays, tokenizer, t)} for t in REFERENCE_TEXTS]
    with open(os.path.join(out_dir, "toxicity_reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
