"""Protected evaluator, run by the harness in its own process after training.

It checks the prepared data against its manifest, builds the model through train.py's
build_model(), loads the checkpoint, feeds the fixed validation and test rows, and computes
cross-entropy and bits per byte itself from the logits (special tokens, byte length 0, are
left out of both sums). A model whose logits at position t change when tokens after t change
is invalid, whatever its loss; so is one that replaced functions the evaluator relies on.
Writes {"val_bpb", "test_bpb", ...} to AUTORESEARCH_METRICS_FILE; the test score is held out
(never printed here, never shown to proposers)."""
import os
import sys

# train.py runs inside this process (it defines the model), and files it wrote next to it must
# not shadow what this evaluator imports: drop the project directory from the module path and
# load the two project modules by file path.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if entry not in ("", ".") and os.path.abspath(entry) != HERE]

import builtins  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# Tolerance for "the logits before t did not change", in log-probability: float32 reproduces a
# causal model almost exactly; bfloat16 kernels may differ in the last bits between rows.
CAUSALITY_TOLERANCE = {"float32": 1e-3, "bfloat16": 3e-2}


def load_module(name, path):
    """Compiled from the source file itself: bytecode a training run left in __pycache__ is never used."""
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    with open(path, encoding="utf-8") as handle:
        exec(compile(handle.read(), path, "exec"), module.__dict__)
    return module


gpt_data = load_module("gpt_data", os.path.join(HERE, "gpt_data.py"))


class Invalid(Exception):
    """The model broke the evaluation's rules; the reason goes into the metrics file."""


def watched_namespaces():
    base = getattr(torch._C, "TensorBase", None) or getattr(torch._C, "_TensorBase")
    return {"torch": torch, "torch.Tensor": torch.Tensor, "torch.TensorBase": base, "torch.nn.functional": F,
            "numpy": np, "math": math, "builtins": builtins, "gpt_data": gpt_data, "evaluate": sys.modules[__name__]}


def snapshot_functions():
    return {name: dict(vars(namespace)) for name, namespace in watched_namespaces().items()}


def replaced_functions(before):
    """Callables the model's code replaced or removed since `before` (new modules loaded lazily are fine)."""
    changed = []
    for name, namespace in watched_namespaces().items():
        now = vars(namespace)
        for key, value in before[name].items():
            if callable(value) and now.get(key) is not value:
                changed.append(f"{name}.{key}")
        if name in ("torch.Tensor", "torch.TensorBase"):
            changed += [f"{name}.{key}" for key in now if key not in before[name]]
    return changed


def forward(model, rows, device, precision, vocab_size):
    """Logits for rows[:, :-1] as a plain float32 tensor, checked for shape and finiteness."""
    inputs = torch.from_numpy(rows[:, :-1]).to(device)
    with torch.no_grad(), (torch.autocast(device.type, dtype=precision) if precision else contextlib.nullcontext()):
        logits = model(inputs)
    if type(logits) is not torch.Tensor:
        raise Invalid(f"the model returned a {type(logits).__name__}; it must return a plain torch.Tensor of logits")
    expected = (inputs.size(0), inputs.size(1))
    if logits.dim() != 3 or tuple(logits.shape[:2]) != expected or logits.size(2) < vocab_size:
        raise Invalid(f"the model returned logits of shape {tuple(logits.shape)}; expected ({expected[0]}, {expected[1]}, >= {vocab_size})")
    logits = logits[..., :vocab_size].float()
    if not torch.isfinite(logits).all():
        raise Invalid("the model returned logits that are not finite (inf or nan)")
    return logits


def score(model, rows, byte_lengths, device, precision, vocab_size, batch_rows):
    """(nats over scored targets, bytes of those targets, tokens scored)."""
    lengths = torch.from_numpy(byte_lengths).to(device)
    nats, total_bytes, tokens = 0.0, 0, 0
    for start in range(0, len(rows), batch_rows):
        chunk = rows[start:start + batch_rows]
        log_probs = torch.log_softmax(forward(model, chunk, device, precision, vocab_size), dim=-1)
        targets = torch.from_numpy(chunk[:, 1:]).to(device)
        target_bytes = lengths[targets]
        scored = target_bytes > 0
        nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        nats += float(nll[scored].double().sum())
        total_bytes += int(target_bytes.sum())
        tokens += int(scored.sum())
    return nats, total_bytes, tokens


def check_causality(model, rows, count, device, precision, vocab_size, seed=1234):
    """For `count` rows: replace everything after a random position t with another row's tokens;
    the log-probabilities at positions 0..t must not move."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
    length = rows.shape[1] - 1
    originals, altered, cuts = [], [], []
    for i, index in enumerate(picked):
        row = rows[index].copy()
        t = int(rng.integers(0, length - 1))
        donor = rows[picked[(i + 1) % len(picked)]] if len(picked) > 1 else rng.integers(0, vocab_size, size=rows.shape[1])
        changed = row.copy()
        changed[t + 1:] = donor[t + 1:]
        if changed[t + 1] == row[t + 1]:
            changed[t + 1] = (row[t + 1] + 1) % vocab_size
        originals.append(row)
        altered.append(changed)
        cuts.append(t)
    log_probs = torch.log_softmax(forward(model, np.stack(originals + altered), device, precision, vocab_size), dim=-1)
    tolerance = CAUSALITY_TOLERANCE["float32" if precision is None else "bfloat16"]
    for i, t in enumerate(cuts):
        difference = float((log_probs[i, : t + 1] - log_probs[len(cuts) + i, : t + 1]).abs().max())
        if difference > tolerance:
            raise Invalid(
                f"the model is not causal: changing the tokens after position {t} of a validation row changed its "
                f"log-probabilities at or before {t} by up to {difference:.3g} (tolerance {tolerance})"
            )
    return len(cuts)


def write_metrics(path, metrics):
    with open(path, "w") as handle:
        json.dump(metrics, handle)


def main():
    launched = float(os.environ.get("AUTORESEARCH_LAUNCHED_AT", time.time() * 1000)) / 1000
    env = gpt_data.environment("evaluate")
    cuda = env.device.startswith("cuda") and torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    precision = gpt_data.autocast_dtype(cuda)
    profile_name, profile = gpt_data.select_profile(gpt_data.load_constants(HERE), cuda)
    try:
        manifest = gpt_data.load_manifest(env.data_dir)
        data = gpt_data.profile_data(manifest, profile_name)
    except gpt_data.DataError as error:
        raise SystemExit(f"evaluate: {error}")
    # Re-hash every data file while the model loads (hashlib releases the GIL).
    problems = []
    verify = gpt_data.verify_manifest  # bound now: train.py is imported while this runs
    verifier = threading.Thread(target=lambda: problems.extend(verify(env.data_dir, manifest)))
    verifier.start()

    checkpoint = os.path.join(env.output_dir, gpt_data.CHECKPOINT_FILE)
    args_path = os.path.join(env.output_dir, gpt_data.MODEL_ARGS_FILE)
    if not (os.path.exists(checkpoint) and os.path.exists(args_path)):
        verifier.join()
        raise SystemExit(f"evaluate: train.py left no {gpt_data.CHECKPOINT_FILE} and {gpt_data.MODEL_ARGS_FILE} in {env.output_dir}; it must save both.")
    with open(args_path) as handle:
        model_args = json.load(handle)
    before = snapshot_functions()
    train = load_module("train", os.path.join(HERE, "train.py"))
    if not callable(getattr(train, "build_model", None)):
        raise SystemExit("evaluate: train.py has no build_model(args) function; the evaluator builds the model through it.")
    model = train.build_model(model_args)
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    except TypeError:  # PyTorch older than 1.13
        state = torch.load(checkpoint, map_location="cpu")
    model.load_state_dict(state)
    model.to(device).eval()

    verifier.join()
    metrics = {}
    try:
        if problems:
            raise Invalid(f"the prepared data does not match its manifest ({', '.join(problems)}); prepare the data again")
        tokenizer = gpt_data.load_tokenizer(env.data_dir, data)
        byte_lengths = gpt_data.token_byte_lengths(tokenizer)
        vocab_size = int(tokenizer["vocab_size"])
        settings = profile["eval"]
        val_rows = gpt_data.eval_rows(env.data_dir, data, "val")
        test_rows = gpt_data.eval_rows(env.data_dir, data, "test")
        checked = check_causality(model, val_rows, settings.get("causality_rows", 4), device, precision, vocab_size)
        val_nats, val_bytes, val_tokens = score(model, val_rows, byte_lengths, device, precision, vocab_size, settings["batch_rows"])
        test_nats, test_bytes, test_tokens = score(model, test_rows, byte_lengths, device, precision, vocab_size, settings["batch_rows"])
        replaced = replaced_functions(before)
        if replaced:
            raise Invalid(f"the model's code replaced functions the evaluator relies on: {', '.join(replaced[:5])}")
        metrics = {
            "val_bpb": val_nats / (math.log(2) * val_bytes),
            "test_bpb": test_nats / (math.log(2) * test_bytes),
            "val_loss": val_nats / val_tokens,
            "eval_tokens": val_tokens + test_tokens,
            "causality_rows": checked,
            "params": sum(p.numel() for p in model.parameters()),
            "eval_seconds": time.time() - launched,
        }
    except gpt_data.DataError as error:
        metrics = {"invalid": str(error)}
    except Invalid as error:
        metrics = {"invalid": str(error)}
    report_path = os.path.join(env.output_dir, gpt_data.TRAIN_REPORT_FILE)
    if "invalid" not in metrics and os.path.exists(report_path):
        try:
            with open(report_path) as handle:
                metrics["self_reported"] = gpt_data.finite_numbers(json.load(handle))
        except (OSError, ValueError, AttributeError):
            print(f"evaluate: ignoring {gpt_data.TRAIN_REPORT_FILE}: not a JSON object of numbers", file=sys.stderr)
    write_metrics(env.metrics_file, metrics)
    if "invalid" in metrics:
        print(f"evaluate: invalid: {metrics['invalid']}", file=sys.stderr)
    else:
        print(f"val_bpb {metrics['val_bpb']:.6f} ({metrics['eval_tokens']} tokens, {metrics['eval_seconds']:.1f}s with start-up)")


if __name__ == "__main__":
    main()
