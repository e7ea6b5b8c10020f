"""Protected scorer, run by the harness after training, in a process where no mutable code runs.

It checks the prepared data against its manifest, sends the input tokens of the validation and
test rows to the model servers (serve.py, one per replica, each in its own sandbox), and computes
cross-entropy and bits per byte itself from the logits they answer (special tokens, byte length
0, are left out of both sums). It never imports train.py: the model is built only in the servers,
and every answer is checked (shape, dtype, finite values) before it is used.

Causality: for a share of the rows (the profile's "causality_share"), an altered copy (the tokens
after a random position t replaced by another row's tokens at the same positions) goes to another
replica in the same round as the row itself, inside batches of the scoring batches' shape, in an
order drawn from os.urandom. A server sees one of the two and cannot tell a check from a scored
row, or validation from test; the log-probabilities at positions <= t must agree within the
tolerance of the precision the model computes in. Anything else makes the result invalid.

Protocol with serve.py (binary, little-endian, framed by lengths; gpt_data.py defines the frames):
  hello    server -> scorer, once the model is loaded: b"ARMS", u32 version (1), u64 parameter
           count (self-reported: recorded as self_reported.params)
  request  scorer -> server: u32 rows, u32 cols, then rows*cols int32 token ids
  answer   server -> scorer: u32 rows, u32 cols, u32 vocab, u32 dtype (0 float32, 1 float16,
           2 bfloat16), then rows*cols*vocab logits, row-major
  end      the scorer exits; the harness closes the pipes and the servers exit
The servers' pipes are the "W,R" pairs of file descriptors in AUTORESEARCH_MODEL_SERVERS (write
requests to W, read answers from R), one pair per replica.

Writes {"val_bpb", "test_bpb", ...} to AUTORESEARCH_METRICS_FILE; the test score is held out
(never printed here, never shown to proposers)."""
import os
import sys

# Files in the project directory must not shadow what this scorer imports: drop the directory from
# the module path and load gpt_data.py by file path.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [entry for entry in sys.path if entry not in ("", ".") and os.path.abspath(entry) != HERE]

import json  # noqa: E402
import math  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

# Tolerance for "the log-probabilities before t did not change": float32 reproduces a causal model
# almost exactly; bfloat16 kernels may differ in the last bits between rows and batches.
CAUSALITY_TOLERANCE = {"float32": 1e-3, "bfloat16": 3e-2}
# The systematic test: over every check, the mean advantage of each side's own next token must stay
# within SYSTEMATIC_SIGMAS standard errors of 0 (and an absolute floor for precision that repeats exactly).
SYSTEMATIC_SIGMAS = 5.0
SYSTEMATIC_FLOOR = 1e-4
MIN_SYSTEMATIC_CHECKS = 16
SPLITS = ("val", "test")
NUMPY_WIRE = {"float32": "<f4", "float16": "<f2", "bfloat16": "<i2"}


def load_module(name, path):
    """Compiled from the source file itself: bytecode left in __pycache__ is never used."""
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    with open(path, encoding="utf-8") as handle:
        exec(compile(handle.read(), path, "exec"), module.__dict__)
    return module


gpt_data = load_module("gpt_data", os.path.join(HERE, "gpt_data.py"))


class Invalid(Exception):
    """The model (or its server) broke the evaluation's rules; the reason goes into the metrics file."""


class Replica:
    """One model server, reached through two inherited pipes."""

    def __init__(self, index, write_fd, read_fd):
        self.index, self.write_fd, self.read_fd = index, write_fd, read_fd
        # Answers are read into one buffer, reused: fresh pages for every answer cost more than the copy.
        self.buffer = bytearray(0)

    def _read(self, size, what, reuse=False):
        if reuse and len(self.buffer) < size:
            self.buffer = bytearray(size)
        buffer = self.buffer if reuse else bytearray(size)
        try:
            complete = gpt_data.read_into(self.read_fd, memoryview(buffer)[:size])
        except EOFError:
            complete = False
        if not complete:
            raise Invalid(f"model server {self.index} closed its pipe instead of sending {what} (the experiment's log says why)")
        return buffer

    def hello(self):
        """The parameter count the server reports (self-reported)."""
        magic, version, params = gpt_data.HELLO.unpack(self._read(gpt_data.HELLO.size, "its hello"))
        if magic != gpt_data.SERVER_MAGIC or version != gpt_data.PROTOCOL_VERSION:
            raise Invalid(f"model server {self.index} did not greet with the protocol's hello (got {bytes(magic)!r}, version {version})")
        return params

    def send(self, tokens):
        try:
            gpt_data.write_all(self.write_fd, gpt_data.REQUEST_HEADER.pack(*tokens.shape))
            gpt_data.write_all(self.write_fd, tokens)
        except BrokenPipeError:
            raise Invalid(f"model server {self.index} closed its pipe instead of reading a request (the experiment's log says why)")

    def receive(self, rows, cols, vocab_size):
        """(dtype name, the logits as a numpy array (rows, cols, vocab) over this replica's buffer, valid
        until its next answer), the header checked before the body is read."""
        answered = gpt_data.ANSWER_HEADER.unpack(self._read(gpt_data.ANSWER_HEADER.size, "an answer"))
        _, _, vocab, code = answered
        if answered[:2] != (rows, cols) or not vocab_size <= vocab <= 2 * vocab_size:
            raise Invalid(f"model server {self.index} answered logits of shape {answered[:3]} to a request of ({rows}, {cols}); "
                          f"expected ({rows}, {cols}, {vocab_size} to {2 * vocab_size})")
        if code not in gpt_data.WIRE_DTYPES:
            raise Invalid(f"model server {self.index} answered logits of dtype code {code}; known: {sorted(gpt_data.WIRE_DTYPES)}")
        name, width = gpt_data.WIRE_DTYPES[code]
        body = self._read(rows * cols * vocab * width, "all of an answer", reuse=True)
        return name, np.frombuffer(body, dtype=NUMPY_WIRE[name], count=rows * cols * vocab).reshape(rows, cols, vocab)


def connect(value):
    """Replicas from AUTORESEARCH_MODEL_SERVERS ("3,4 5,6")."""
    if not value:
        raise SystemExit("evaluate: AUTORESEARCH_MODEL_SERVERS not set; the harness starts the model servers (`evaluate.serve` in the config) and passes their pipes.")
    try:
        pairs = [tuple(int(fd) for fd in pair.split(",")) for pair in value.split()]
    except ValueError:
        pairs = []
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise SystemExit(f"evaluate: AUTORESEARCH_MODEL_SERVERS must be space-separated W,R pairs of file descriptors, got {value!r}.")
    if len(pairs) < 2:
        raise SystemExit("evaluate: the causality check needs two model servers (a row and its altered copy go to different ones); set evaluate.replicas to 2 or more.")
    replicas = [Replica(index, write_fd, read_fd) for index, (write_fd, read_fd) in enumerate(pairs)]
    for replica in replicas:
        for fd in (replica.write_fd, replica.read_fd):
            try:
                os.fstat(fd)
            except OSError:
                raise SystemExit(f"evaluate: file descriptor {fd} of model server {replica.index} is not open.")
            os.set_blocking(fd, True)  # a harness may hand over its own non-blocking end
            gpt_data.widen_pipe(fd)
    return replicas


class Batch:
    """The rows of one request, and what each is: scored (split, index) and/or one side of a check."""

    def __init__(self):
        self.inputs, self.scored, self.checks = [], [], []

    def add(self, inputs, scored=None, check=None):
        self.inputs.append(inputs)
        self.scored.append(scored)
        self.checks.append(check)

    def shuffled(self, rng):
        order = rng.permutation(len(self.inputs))
        batch = Batch()
        for position in order:
            batch.add(self.inputs[position], self.scored[position], self.checks[position])
        batch.tokens = np.ascontiguousarray(np.stack(batch.inputs), dtype="<i4")
        return batch


def altered_copy(rows, index, rng, vocab_size):
    """Row `index` with everything after a random position t replaced by another row's tokens; (inputs, t)."""
    row = rows[index]
    length = rows.shape[1] - 1  # input positions
    t = int(rng.integers(0, length - 1))
    changed = row.copy()
    for _ in range(8):
        donor = rows[(index + 1 + int(rng.integers(0, len(rows) - 1))) % len(rows)]
        changed[t + 1:] = donor[t + 1:]
        if changed[t + 1] != row[t + 1]:
            break
    if changed[t + 1] == row[t + 1]:
        changed[t + 1] = (row[t + 1] + 1) % vocab_size
    return changed[:-1], t


def plan(splits, share, batch_rows, replica_count, rng, vocab_size):
    """Rounds of requests, at most one per replica: every row of every split scored once; for a
    share of them an altered copy goes to another replica of the same round. Returns
    (rounds as lists of (replica, Batch), checks as a list of (split, index, t))."""
    singles, pairs, checks = [], [], []
    for split, rows in enumerate(splits):
        count = int(round(share * len(rows))) if len(rows) > 1 else 0
        checked = set(rng.choice(len(rows), size=count, replace=False).tolist())
        for index in range(len(rows)):
            (pairs if index in checked else singles).append((split, index))
    singles = [singles[i] for i in rng.permutation(len(singles))]
    pairs = [pairs[i] for i in rng.permutation(len(pairs))]
    rounds, batches = [], [Batch() for _ in range(replica_count)]

    def flush():
        nonlocal batches
        rounds.append([(replica, batch.shuffled(rng)) for replica, batch in enumerate(batches) if batch.inputs])
        batches = [Batch() for _ in range(replica_count)]

    while singles or pairs:
        room = [replica for replica, batch in enumerate(batches) if len(batch.inputs) < batch_rows]
        pair_weight = 2 * len(pairs) / (2 * len(pairs) + len(singles))
        if len(room) >= 2 and pairs and (not singles or rng.random() < pair_weight):
            split, index = pairs.pop()
            rows = splits[split]
            inputs, t = altered_copy(rows, index, rng, vocab_size)
            first, second = (int(replica) for replica in rng.choice(room, size=2, replace=False))
            batches[first].add(rows[index, :-1], scored=(split, index), check=(len(checks), "original"))
            batches[second].add(inputs, check=(len(checks), "altered"))
            checks.append((split, index, t, int(inputs[t + 1]) if t + 1 < len(inputs) else int(rows[index, t + 1])))
        elif room and singles:
            split, index = singles.pop()
            batches[room[int(rng.integers(0, len(room)))]].add(splits[split][index, :-1], scored=(split, index))
        else:
            flush()
    if any(batch.inputs for batch in batches):
        flush()
    return rounds, checks


def decode(replica, name, array, vocab_size, device):
    logits = torch.from_numpy(array)
    if name == "bfloat16":
        logits = logits.view(torch.bfloat16)
    logits = logits.to(device)[..., :vocab_size].float()
    if not bool(torch.isfinite(logits).all()):
        raise Invalid(f"model server {replica} answered logits that are not finite (inf or nan)")
    return logits


def score_rounds(pool, replicas, rounds, checks, splits, byte_lengths, vocab_size, device, tolerance):
    """Per split, [nats, bytes, tokens] over its scored rows; raises Invalid at the first failed check."""
    lengths = torch.from_numpy(byte_lengths).to(device)
    totals = [[0.0, 0, 0] for _ in splits]

    def send(requests):
        for replica, batch in requests:
            replicas[replica].send(batch.tokens)

    # At the cut t each side's next token differs; a model that peeks gives its own next token more
    # probability. Within the tolerance a single check cannot tell, so the average over all checks must.
    favoured = []
    send(rounds[0])
    for number, requests in enumerate(rounds):
        waiting = [pool.submit(replicas[replica].receive, *batch.tokens.shape, vocab_size) for replica, batch in requests]
        answers = [future.result() for future in waiting]
        if number + 1 < len(rounds):
            send(rounds[number + 1])  # the servers compute the next round while this one is scored
        sides = {}
        for (replica, batch), (name, array) in zip(requests, answers):
            log_probs = torch.log_softmax(decode(replica, name, array, vocab_size, device), dim=-1)
            add_scores(totals, batch, log_probs, splits, lengths)
            for position, check in enumerate(batch.checks):
                if check is not None:
                    sides.setdefault(check[0], {})[check[1]] = (replica, log_probs[position])
        for check, pair in sides.items():
            split, index, t, altered_next = checks[check]
            (first, original), (second, altered) = pair["original"], pair["altered"]
            original_next = int(splits[split][index, t + 1])
            favoured.append(float(original[t, original_next] - altered[t, original_next]))
            favoured.append(float(altered[t, altered_next] - original[t, altered_next]))
            before, after = original[: t + 1], altered[: t + 1]
            # Equal entries count as equal even at -inf (probability 0 on both sides); nan never passes.
            difference = float(torch.where(before == after, torch.zeros_like(before), (before - after).abs()).max())
            if not difference <= tolerance:
                raise Invalid(
                    f"the model is not causal: changing the tokens after position {t} of a {SPLITS[split]} row changed its "
                    f"log-probabilities at or before {t} by up to {difference:.3g} (tolerance {tolerance}; the row went to "
                    f"model server {first}, its altered copy to {second})"
                )
    systematic_peek(favoured)
    return totals


def systematic_peek(favoured):
    """Invalid if, over all checks, each side's own next token got more log-probability than on the other
    side by more than chance allows: a leak kept under the per-check tolerance still has to show here."""
    values = [value for value in favoured if math.isfinite(value)]
    if len(values) < MIN_SYSTEMATIC_CHECKS:
        return
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((value - mean) ** 2 for value in values) / (len(values) - 1))
    bound = max(SYSTEMATIC_FLOOR, SYSTEMATIC_SIGMAS * spread / math.sqrt(len(values)))
    if mean > bound:
        raise Invalid(
            f"the model is not causal: over {len(values) // 2} checks, the token after each cut got on average {mean:.3g} nats "
            f"more log-probability on the side that contained it (chance allows {bound:.3g}); the model peeks at the next token"
        )


def add_scores(totals, batch, log_probs, splits, lengths):
    """Adds the batch's scored rows to their split's nats, bytes and tokens (byte length 0: not counted)."""
    targets = np.zeros(batch.tokens.shape, dtype=np.int64)
    for position, scored in enumerate(batch.scored):
        if scored is not None:
            targets[position] = splits[scored[0]][scored[1], 1:]
    targets = torch.from_numpy(targets).to(log_probs.device)
    nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    target_bytes = lengths[targets]
    counted = target_bytes > 0
    row_nats = (nll.double() * counted).sum(1).tolist()
    row_bytes, row_tokens = target_bytes.sum(1).tolist(), counted.sum(1).tolist()
    for position, scored in enumerate(batch.scored):
        if scored is not None:
            total = totals[scored[0]]
            total[0] += row_nats[position]
            total[1] += row_bytes[position]
            total[2] += row_tokens[position]


def write_metrics(path, metrics):
    with open(path, "w") as handle:
        json.dump(metrics, handle)


def main():
    launched = float(os.environ.get("AUTORESEARCH_LAUNCHED_AT", time.time() * 1000)) / 1000
    env = gpt_data.environment("evaluate")
    cuda = env.device.startswith("cuda") and torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    profile_name, profile = gpt_data.select_profile(gpt_data.load_constants(HERE), cuda)
    replicas = connect(os.environ.get("AUTORESEARCH_MODEL_SERVERS"))
    try:
        manifest = gpt_data.load_manifest(env.data_dir)
        data = gpt_data.profile_data(manifest, profile_name)
    except gpt_data.DataError as error:
        raise SystemExit(f"evaluate: {error}")
    # Re-hash every data file while the servers load the model (hashlib releases the GIL).
    problems = []
    verifier = threading.Thread(target=lambda: problems.extend(gpt_data.verify_manifest(env.data_dir, manifest)))
    verifier.start()
    for name in (gpt_data.CHECKPOINT_FILE, gpt_data.MODEL_ARGS_FILE):
        if not os.path.exists(os.path.join(env.output_dir, name)):
            verifier.join()
            raise SystemExit(f"evaluate: train.py left no {gpt_data.CHECKPOINT_FILE} and {gpt_data.MODEL_ARGS_FILE} in {env.output_dir}; it must save both.")
    # The tolerance follows the precision the servers compute in (the same rule as theirs), never what a server says.
    precision = gpt_data.autocast_dtype(cuda)
    tolerance = CAUSALITY_TOLERANCE["float32" if precision is None else "bfloat16"]

    metrics = {}
    # One reader thread per replica, so the servers' answers cross their pipes side by side.
    pool = ThreadPoolExecutor(len(replicas))
    try:
        params = [future.result() for future in [pool.submit(replica.hello) for replica in replicas]]
        verifier.join()
        if problems:
            raise Invalid(f"the prepared data does not match its manifest ({', '.join(problems)}); prepare the data again")
        tokenizer = gpt_data.load_tokenizer(env.data_dir, data)
        byte_lengths = gpt_data.token_byte_lengths(tokenizer)
        vocab_size = int(tokenizer["vocab_size"])
        settings = profile["eval"]
        splits = [gpt_data.eval_rows(env.data_dir, data, split) for split in SPLITS]
        rng = np.random.default_rng(int.from_bytes(os.urandom(16), "little"))
        rounds, checks = plan(splits, float(settings["causality_share"]), int(settings["batch_rows"]), len(replicas), rng, vocab_size)
        totals = score_rounds(pool, replicas, rounds, checks, splits, byte_lengths, vocab_size, device, tolerance)
        (val_nats, val_bytes, val_tokens), (test_nats, test_bytes, test_tokens) = totals
        if not (math.isfinite(val_nats) and math.isfinite(test_nats)):
            raise Invalid("the model gave a scored token probability 0 (an infinite loss)")
        metrics = {
            "val_bpb": val_nats / (math.log(2) * val_bytes),
            "test_bpb": test_nats / (math.log(2) * test_bytes),
            "val_loss": val_nats / val_tokens,
            "eval_tokens": val_tokens + test_tokens,
            "causality_rows": len(checks),
            "eval_seconds": time.time() - launched,
        }
        self_reported = {"params": params[0]}
        report_path = os.path.join(env.output_dir, gpt_data.TRAIN_REPORT_FILE)
        if os.path.exists(report_path):
            try:
                with open(report_path) as handle:
                    self_reported.update(gpt_data.finite_numbers(json.load(handle)))
            except (OSError, ValueError, AttributeError):
                print(f"evaluate: ignoring {gpt_data.TRAIN_REPORT_FILE}: not a JSON object of numbers", file=sys.stderr)
        metrics["self_reported"] = self_reported
    except (gpt_data.DataError, Invalid) as error:
        metrics = {"invalid": str(error)}
    verifier.join()
    write_metrics(env.metrics_file, metrics)
    if "invalid" in metrics:
        print(f"evaluate: invalid: {metrics['invalid']}", file=sys.stderr)
    else:
        print(f"val_bpb {metrics['val_bpb']:.6f} ({metrics['eval_tokens']} tokens, {metrics['causality_rows']} rows checked for causality, "
              f"{metrics['eval_seconds']:.1f}s with start-up)")
    # A reader may still be waiting on a server that never answers: the verdict is written, so exit
    # now rather than join it (the harness stops the servers).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
