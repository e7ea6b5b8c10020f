"""Protected model server, run by the harness during evaluation in its own sandbox
(AUTORESEARCH_PHASE=serve), once per replica.

It builds the model through train.py's build_model(args), loads the checkpoint train.py left in
AUTORESEARCH_OUTPUT_DIR, and answers evaluate.py's requests for logits until its input closes.
It sees only input tokens: never targets, data paths, or which requests are scored and which
are causality checks. Nothing here is trusted: train.py runs in this process and may change
anything in it, so evaluate.py computes every score itself and checks every answer.

Protocol (binary, little-endian, framed by lengths; gpt_data.py defines the frames):
  hello    server -> scorer, once the model is loaded: b"ARMS", u32 version (1), u64 parameter
           count (self-reported)
  request  scorer -> server on stdin: u32 rows, u32 cols, then rows*cols int32 token ids
  answer   server -> scorer on stdout: u32 rows, u32 cols, u32 vocab, u32 dtype (0 float32,
           1 float16, 2 bfloat16), then rows*cols*vocab logits, row-major
  end      stdin closes: the server exits 0

The logits travel as float16 when the model computes in bfloat16 and every |logit| is below 16
(float16 then holds them to within 0.004, finer than bfloat16 computed them), else as float32."""
import os
import sys

# The protocol keeps its own copies of stdin and stdout; fd 0 then reads nothing and fd 1 goes to
# the log, so nothing train.py reads or prints can touch a frame.
REQUESTS = os.dup(0)
ANSWERS = os.dup(1)
os.dup2(2, 1)
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)

import contextlib  # noqa: E402
import json  # noqa: E402
import types  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FLOAT16_BELOW = 16.0


def load_module(name, path):
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    with open(path, encoding="utf-8") as handle:
        exec(compile(handle.read(), path, "exec"), module.__dict__)
    return module


gpt_data = load_module("gpt_data", os.path.join(HERE, "gpt_data.py"))


def log(message):
    print(f"serve {os.environ.get('AUTORESEARCH_REPLICA', '?')}: {message}", file=sys.stderr, flush=True)


def load_model(gpt_data, output_dir, device):
    checkpoint = os.path.join(output_dir, gpt_data.CHECKPOINT_FILE)
    args_path = os.path.join(output_dir, gpt_data.MODEL_ARGS_FILE)
    if not (os.path.exists(checkpoint) and os.path.exists(args_path)):
        raise SystemExit(f"serve: train.py left no {gpt_data.CHECKPOINT_FILE} and {gpt_data.MODEL_ARGS_FILE} in {output_dir}; it must save both.")
    with open(args_path) as handle:
        model_args = json.load(handle)
    train = load_module("train", os.path.join(HERE, "train.py"))
    if not callable(getattr(train, "build_model", None)):
        raise SystemExit("serve: train.py has no build_model(args) function; the model server builds the model through it.")
    model = train.build_model(model_args)
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except TypeError:  # PyTorch older than 1.13
        state = torch.load(checkpoint, map_location="cpu")
    model.load_state_dict(state)
    return model.to(device).eval()


def answer(model, tokens, device, precision):
    """The answer frame's header and body for one request."""
    inputs = torch.from_numpy(tokens.astype(np.int64)).to(device)
    with torch.no_grad(), (torch.autocast(device.type, dtype=precision) if precision else contextlib.nullcontext()):
        logits = model(inputs)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3:
        raise SystemExit(f"serve: the model returned {type(logits).__name__} {tuple(getattr(logits, 'shape', ()))}; it must return logits (batch, time, vocab)")
    logits = logits.detach().float()
    if precision is not None and bool(logits.abs().max() < FLOAT16_BELOW):
        logits, code = logits.half(), 1
    else:
        code = 0
    body = np.ascontiguousarray(logits.cpu().numpy())
    return gpt_data.ANSWER_HEADER.pack(*body.shape, code), body


def main():
    output_dir = os.environ.get("AUTORESEARCH_OUTPUT_DIR")
    if not output_dir:
        raise SystemExit("serve: AUTORESEARCH_OUTPUT_DIR not set; the harness starts the model server for evaluate.py.")
    cuda = os.environ.get("AUTORESEARCH_DEVICE", "cpu").startswith("cuda") and torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    model = load_model(gpt_data, output_dir, device)
    precision = gpt_data.autocast_dtype(cuda)
    params = sum(p.numel() for p in model.parameters())
    for fd in (REQUESTS, ANSWERS):
        os.set_blocking(fd, True)
        gpt_data.widen_pipe(fd)
    gpt_data.write_all(ANSWERS, gpt_data.HELLO.pack(gpt_data.SERVER_MAGIC, gpt_data.PROTOCOL_VERSION, params))
    log(f"{params} parameters on {device}, {'bfloat16' if precision else 'float32'}; ready")
    served = 0
    while True:
        header = gpt_data.read_exactly(REQUESTS, gpt_data.REQUEST_HEADER.size)
        if header is None:
            break
        rows, cols = gpt_data.REQUEST_HEADER.unpack(header)
        body = gpt_data.read_exactly(REQUESTS, rows * cols * 4)
        if body is None:
            raise SystemExit("serve: the request ended after its header")
        tokens = np.frombuffer(body, dtype="<i4").reshape(rows, cols)
        frame, logits = answer(model, tokens, device, precision)
        try:
            gpt_data.write_all(ANSWERS, frame)
            gpt_data.write_all(ANSWERS, logits)
        except BrokenPipeError:
            break  # the scorer stopped reading: it has its verdict
        served += 1
    log(f"answered {served} requests")


if __name__ == "__main__":
    main()
