"""A model server for the gpt template's scorer that answers without a model (numpy only, so it
starts fast): python gpt_fake_server.py MODE, in place of serve.py, with AUTORESEARCH_OUTPUT_DIR
holding model_args.json (for the vocabulary size).

  uniform  every logit 0: a valid, causal answer (val_loss is ln(vocab) exactly)
  nan      the right shape, every logit nan
  shape    one position fewer than asked for
  exit     the hello, then exits at the first request
  peek     the next input token gets +20: not causal
  peek-extreme  the next input token gets +3e38, every other -3e38: not causal, with log-probabilities
           of -inf everywhere else (where inf - inf is nan, which must not pass a comparison)
"""
import json
import os
import struct
import sys

import numpy as np

mode = sys.argv[1]
with open(os.path.join(os.environ["AUTORESEARCH_OUTPUT_DIR"], "model_args.json")) as handle:
    vocab = json.load(handle)["vocab_size"]


def read_exactly(size):
    data = b""
    while len(data) < size:
        chunk = os.read(0, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def write(data):
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(1, view):]


write(struct.pack("<4sIQ", b"ARMS", 1, 1234))
while True:
    header = read_exactly(8)
    if header is None:
        break
    if mode == "exit":
        sys.exit(0)
    rows, cols = struct.unpack("<II", header)
    tokens = np.frombuffer(read_exactly(rows * cols * 4), dtype="<i4").reshape(rows, cols)
    logits = np.zeros((rows, cols, vocab), dtype="<f4")
    if mode == "nan":
        logits[:] = np.nan
    elif mode == "shape":
        logits = logits[:, :-1]
    elif mode in ("peek", "peek-extreme"):
        following = np.roll(tokens, -1, axis=1)
        if mode == "peek-extreme":
            logits[:] = -3e38
        logits[np.arange(rows)[:, None], np.arange(cols)[None, :], following] = 20.0 if mode == "peek" else 3e38
    write(struct.pack("<IIII", logits.shape[0], logits.shape[1], logits.shape[2], 0))
    write(np.ascontiguousarray(logits))
