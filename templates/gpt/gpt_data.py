"""Protected helpers shared by train.py, serve.py and evaluate.py: the profile, the prepared
data, the manifest check, the names of the files train.py leaves for the evaluator, and the
framing of the model-server protocol.

Proposers cannot change this file (the harness checksums it around every run). evaluate.py loads
its own copy by path in a process where no mutable code runs, so what train.py does to its copy
(in training, or in the model server) has no effect on the score."""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import struct

import numpy as np

CONSTANTS_FILE = "constants.json"
MANIFEST_FILE = "manifest.json"
DATA_FORMAT = "autoresearch-gpt-data/1"
TOKENIZER_FORMAT = "autoresearch-tokenizer/1"

# What train.py writes into AUTORESEARCH_OUTPUT_DIR.
CHECKPOINT_FILE = "model.pt"            # the model's state_dict
MODEL_ARGS_FILE = "model_args.json"     # keyword arguments for train.build_model(...)
TRAIN_REPORT_FILE = "train_report.json"  # numbers training measured itself (marked self-reported)

# Dense bf16 peak FLOP/s by GPU name, for MFU. The first matching entry wins.
BF16_PEAK_FLOPS = [
    ("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H100", 989.5e12), ("H200", 989.5e12), ("GH200", 989.5e12),
    ("B200", 2250e12), ("A100", 312e12), ("L40S", 362e12), ("L4", 121e12), ("A10", 125e12),
    ("RTX 4090", 165e12), ("RTX 3090", 71e12),
]


# The model-server protocol (evaluate.py <-> serve.py): binary, little-endian, framed by lengths.
#   hello    server -> scorer, once the model is loaded: b"ARMS", u32 version, u64 parameter count
#   request  scorer -> server: u32 rows, u32 cols, then rows*cols int32 token ids, row-major
#   answer   server -> scorer: u32 rows, u32 cols, u32 vocab, u32 dtype, then rows*cols*vocab
#            logits of that dtype, row-major
#   end      the scorer closes the server's input; the server exits
SERVER_MAGIC = b"ARMS"
PROTOCOL_VERSION = 1
HELLO = struct.Struct("<4sIQ")
REQUEST_HEADER = struct.Struct("<II")
ANSWER_HEADER = struct.Struct("<IIII")
# dtype code -> (name, bytes per value); bfloat16 travels as its 16 raw bits.
WIRE_DTYPES = {0: ("float32", 4), 1: ("float16", 2), 2: ("bfloat16", 2)}


def read_into(fd, view):
    """Fills `view` (a writable memoryview of bytes) from a pipe; False at end of input before the
    first byte. A pipe that ends part-way raises EOFError."""
    done = 0
    while done < len(view):
        count = os.readv(fd, [view[done:]])
        if count == 0:
            if done == 0:
                return False
            raise EOFError(f"the pipe ended after {done} of {len(view)} bytes")
        done += count
    return True


def read_exactly(fd, size):
    """`size` bytes from a pipe as a new bytearray (for small frames); None at end of input."""
    buffer = bytearray(size)
    return buffer if read_into(fd, memoryview(buffer)) else None


def write_all(fd, data):
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view):]


def widen_pipe(fd, size=1 << 20):
    """Asks for a 1 MiB pipe buffer (fewer wake-ups per answer); sockets and older kernels keep theirs."""
    try:
        import fcntl
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except OSError:
        pass


class DataError(Exception):
    """The prepared data is missing, of another format, or does not match its manifest."""


class Environment:
    def __init__(self, data_dir, output_dir, metrics_file, budget_seconds, device):
        self.data_dir = data_dir
        self.output_dir = output_dir
        self.metrics_file = metrics_file
        self.budget_seconds = budget_seconds
        self.device = device


def environment(phase):
    """The harness's contract (README "Workload contract"); a clear message when run by hand."""
    names = ["AUTORESEARCH_DATA_DIR", "AUTORESEARCH_OUTPUT_DIR"] + (["AUTORESEARCH_METRICS_FILE"] if phase == "evaluate" else [])
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"{phase}: {', '.join(missing)} not set; run this through `autoresearch run` (the harness sets them).")
    budget = os.environ.get("AUTORESEARCH_BUDGET_SECONDS", "300")
    try:
        budget_seconds = float(budget)
    except ValueError:
        raise SystemExit(f"{phase}: AUTORESEARCH_BUDGET_SECONDS must be a number of seconds, got {budget!r}.")
    return Environment(
        os.environ["AUTORESEARCH_DATA_DIR"], os.environ["AUTORESEARCH_OUTPUT_DIR"], os.environ.get("AUTORESEARCH_METRICS_FILE"),
        budget_seconds, os.environ.get("AUTORESEARCH_DEVICE", "cpu"),
    )


def load_constants(project_dir):
    with open(os.path.join(project_dir, CONSTANTS_FILE), encoding="utf-8") as handle:
        return json.load(handle)


def select_profile(constants, cuda):
    """constants["profile"]: "auto" picks "cuda" on a GPU and "cpu" otherwise; any other value names a profile."""
    choice = constants.get("profile", "auto")
    name = ("cuda" if cuda else "cpu") if choice == "auto" else choice
    if name not in constants["profiles"]:
        raise SystemExit(f"constants.json has no profile {name!r} (it has {', '.join(constants['profiles'])}); set \"profile\" to one of them.")
    return name, constants["profiles"][name]


def training_budget(env, profile):
    """The harness's budget, capped by the profile's (the CPU profile trains for less than a GPU run)."""
    cap = profile.get("budget_seconds")
    return min(env.budget_seconds, cap) if cap else env.budget_seconds


def load_manifest(data_dir):
    path = os.path.join(data_dir, MANIFEST_FILE)
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {path} ({error}); the prepare step did not finish: run `autoresearch run` to prepare again")
    if manifest.get("format") != DATA_FORMAT:
        raise DataError(f"{path} has format {manifest.get('format')!r}, expected {DATA_FORMAT}; prepare the data again")
    return manifest


def profile_data(manifest, name):
    data = manifest["profiles"].get(name)
    if data is None:
        raise DataError(f"the prepared data has no profile {name!r} (it has {', '.join(manifest['profiles'])}); prepare again after changing constants.json")
    return data


def verify_manifest(data_dir, manifest):
    """Every file the manifest lists, re-hashed: ["changed: cpu/val.bin", "missing: ..."]; [] when all match."""
    problems = []
    for relative, record in sorted(manifest["files"].items()):
        path = os.path.join(data_dir, relative)
        try:
            if os.path.getsize(path) != record["bytes"]:
                problems.append(f"changed: {relative}")
                continue
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 22), b""):
                    digest.update(block)
        except OSError:
            problems.append(f"missing: {relative}")
            continue
        if digest.hexdigest() != record["sha256"]:
            problems.append(f"changed: {relative}")
    return problems


def load_tokenizer(data_dir, data):
    with open(os.path.join(data_dir, data["tokenizer"]), encoding="utf-8") as handle:
        tokenizer = json.load(handle)
    if tokenizer.get("format") != TOKENIZER_FORMAT:
        raise DataError(f"{data['tokenizer']} has format {tokenizer.get('format')!r}, expected {TOKENIZER_FORMAT}")
    return tokenizer


def token_byte_lengths(tokenizer):
    """Bytes per token, rebuilt from the merges and checked against the stored table."""
    lengths = [1] * 256
    for left, right in tokenizer["merges"]:
        lengths.append(lengths[left] + lengths[right])
    lengths += [0] * (tokenizer["vocab_size"] - len(lengths))
    if lengths != tokenizer["token_byte_lengths"]:
        raise DataError("the tokenizer's byte-length table does not match its merges; prepare the data again")
    return np.asarray(lengths, dtype=np.int64)


def read_tokens(data_dir, relative, dtype):
    return np.memmap(os.path.join(data_dir, relative), dtype=np.dtype(dtype).newbyteorder("<"), mode="r")


def eval_rows(data_dir, data, split):
    """The fixed evaluation rows of a split, as an int64 array (rows, context + 1)."""
    info = data[split]
    tokens = read_tokens(data_dir, info["path"], data["dtype"])
    return np.asarray(tokens, dtype=np.int64).reshape(info["rows"], info["row_tokens"])


def train_shards(data_dir, data):
    return [read_tokens(data_dir, shard["path"], data["dtype"]) for shard in data["train"]["shards"]]


def bf16_matmul_is_fast():
    """On a CPU, whether bfloat16 matrix products beat float32: PyTorch 2 (its oneDNN) on a CPU with
    bfloat16 instructions (AVX512-BF16 or AMX); elsewhere they are emulated and slower. Read from the
    CPU's flags, never timed, so that every process of an experiment (the trainer, each model server,
    the scorer) decides the same: the scorer's causality tolerance depends on it."""
    import torch

    if int(torch.__version__.split(".")[0]) < 2:
        return False
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            flags = handle.read()
    except OSError:
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", flags) is not None


def autocast_dtype(cuda):
    """The precision for matrix products: bfloat16 on a GPU, and on a CPU where it is fast."""
    import torch

    return torch.bfloat16 if cuda or bf16_matmul_is_fast() else None


def peak_flops(device_name):
    for prefix, flops in BF16_PEAK_FLOPS:
        if prefix in device_name:
            return flops
    return None


def finite_numbers(values):
    """Only the finite numeric entries (what the metrics file may carry)."""
    return {key: float(value) for key, value in values.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)}
