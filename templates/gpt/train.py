"""GPT pretraining for a fixed wall-clock budget. This is the file proposers change.

The harness runs `python train.py` with AUTORESEARCH_BUDGET_SECONDS, AUTORESEARCH_DATA_DIR and
AUTORESEARCH_OUTPUT_DIR. For evaluation it then starts the protected serve.py (twice, each in
its own sandbox, without the data), which builds the model through build_model() and loads the
checkpoint, and the protected evaluate.py, which sends them token rows and scores their logits
on data this script never reads. Importing this file must not train (serve.py imports it).

Contract with serve.py and evaluate.py: build_model(args) returns a torch.nn.Module whose
forward(idx) takes int64 token ids (batch, time) and returns logits (batch, time, >= vocab_size);
the logits at position t may depend only on idx[:, :t+1]. The checkpoint is the state_dict in
model.pt and args in model_args.json (file names in gpt_data.py).
"""
from __future__ import annotations

import bisect
import contextlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import gpt_data

# ---- Hyperparameters --------------------------------------------------------------------
# The profile in constants.json (chosen by the device) sets the scale ("train" there): depth,
# width per layer, head size, window pattern, tokens per optimizer step and rows per
# micro-batch. These adjust it; the rest apply to every profile.
DEPTH_DELTA = 0                # @knob min=-2 max=4 int
BATCH_SHIFT = 0                # @knob min=-3 max=2 int
WINDOW_PATTERN = "profile"     # @knob choices=profile,L,SL,SSL,SSSL
MATRIX_LR = 0.04               # @knob min=0.005 max=0.2 scale=log
EMBEDDING_LR = 0.6             # @knob min=0.05 max=2.0 scale=log
VALUE_EMBEDDING_LR = 0.6       # @knob min=0.05 max=2.0 scale=log
UNEMBEDDING_LR = 0.004         # @knob min=0.0005 max=0.05 scale=log
RESID_SCALAR_LR = 0.005
X0_SCALAR_LR = 0.5
WEIGHT_DECAY = 0.2             # @knob min=0.0 max=0.5
WARMDOWN_RATIO = 0.5           # @knob min=0.0 max=1.0
ROPE_BASE = 10000.0            # @knob min=1000.0 max=1000000.0 scale=log
LOGIT_CAP = 15.0               # @knob min=5.0 max=50.0 scale=log
ADAM_BETAS = (0.8, 0.95)
X0_BETA1 = 0.96
MUON_MOMENTUM = 0.95
MUON_MOMENTUM_START = 0.85
MUON_MOMENTUM_WARMUP_STEPS = 300
MUON_BETA2 = 0.95
ATTENTION = "sdpa"             # "flex": flex_attention for the sliding windows (CUDA, PyTorch >= 2.5; not yet run on a GPU)
COMPILE = True                 # CUDA only; compilation happens in the first steps, inside the budget
COMPILE_STEPS = 10             # steps left out of the tokens/s figure (compilation, warm-up); they count against the budget
SEED = 42

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")  # PyTorch >= 2.0
HAS_RMS_NORM = hasattr(F, "rms_norm")                  # PyTorch >= 2.4


# ---- Model --------------------------------------------------------------------------------
@dataclass
class GPTConfig:
    vocab_size: int
    sequence_len: int
    n_layer: int
    n_head: int
    n_kv_head: int
    n_embd: int
    window_pattern: str = "L"
    rope_base: float = 10000.0
    logit_cap: float = 15.0
    ve_gate_channels: int = 32
    attention: str = "sdpa"


def rms_norm(x):
    if HAS_RMS_NORM:
        return F.rms_norm(x, (x.size(-1),))
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + torch.finfo(x.dtype).eps)


def window_sizes(config):
    """Per layer: "L" attends over the whole context, "S" over its last half; the last layer is always L."""
    pattern = config.window_pattern.upper()
    sizes = [config.sequence_len if pattern[i % len(pattern)] == "L" else config.sequence_len // 2 for i in range(config.n_layer)]
    sizes[-1] = config.sequence_len
    return sizes


def has_value_embedding(layer, n_layer):
    return (n_layer - 1 - layer) % 2 == 0  # alternating layers, the last one included


def apply_rotary(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos[None, :, None, :].to(x.dtype), sin[None, :, None, :].to(x.dtype)
    return torch.cat((x1 * cos + x2 * sin, x2 * cos - x1 * sin), dim=-1)


_flex_masks = {}


def flex_attend(q, k, v, window):
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    length = q.size(-2)
    key = (length, window, q.device)
    if key not in _flex_masks:
        def sliding_causal(batch, head, q_idx, kv_idx):
            return (q_idx >= kv_idx) & (q_idx - kv_idx < window)
        _flex_masks[key] = create_block_mask(sliding_causal, None, None, length, length, device=q.device)
    return flex_attention(q, k, v, block_mask=_flex_masks[key])


class CausalSelfAttention(nn.Module):
    def __init__(self, config, layer, window):
        super().__init__()
        self.n_head, self.n_kv_head = config.n_head, config.n_kv_head
        self.head_dim = config.n_embd // config.n_head
        self.window, self.attention = window, config.attention
        self.ve_gate_channels = config.ve_gate_channels
        self.c_q = nn.Linear(config.n_embd, self.n_head * self.head_dim, bias=False)
        self.c_k = nn.Linear(config.n_embd, self.n_kv_head * self.head_dim, bias=False)
        self.c_v = nn.Linear(config.n_embd, self.n_kv_head * self.head_dim, bias=False)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=False)
        self.ve_gate = nn.Linear(config.ve_gate_channels, self.n_kv_head, bias=False) if has_value_embedding(layer, config.n_layer) else None

    def forward(self, x, ve, cos, sin, mask):
        batch, length, _ = x.shape
        q = self.c_q(x).view(batch, length, self.n_head, self.head_dim)
        k = self.c_k(x).view(batch, length, self.n_kv_head, self.head_dim)
        v = self.c_v(x).view(batch, length, self.n_kv_head, self.head_dim)
        if ve is not None:
            gate = 2 * torch.sigmoid(self.ve_gate(x[..., : self.ve_gate_channels]))
            v = v + gate.unsqueeze(-1) * ve.view(batch, length, self.n_kv_head, self.head_dim)
        q, k = rms_norm(apply_rotary(q, cos, sin)), rms_norm(apply_rotary(k, cos, sin))
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if self.n_kv_head != self.n_head:
            k = k.repeat_interleave(self.n_head // self.n_kv_head, dim=1)
            v = v.repeat_interleave(self.n_head // self.n_kv_head, dim=1)
        full = self.window >= length
        if self.attention == "flex" and q.is_cuda and not full:
            y = flex_attend(q, k, v, self.window)
        elif HAS_SDPA:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True) if full else F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        else:  # PyTorch 1.x: attention by hand
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
            scores = scores.masked_fill(~mask, float("-inf"))
            y = torch.softmax(scores.float(), dim=-1).to(v.dtype) @ v
        return self.c_proj(y.transpose(1, 2).reshape(batch, length, -1))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=False)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=False)

    def forward(self, x):
        return self.c_proj(F.relu(self.c_fc(x)).square())


class Block(nn.Module):
    def __init__(self, config, layer, window):
        super().__init__()
        self.attn = CausalSelfAttention(config, layer, window)
        self.mlp = MLP(config)

    def forward(self, x, ve, cos, sin, mask):
        x = x + self.attn(rms_norm(x), ve, cos, sin, mask)
        return x + self.mlp(rms_norm(x))


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        padded_vocab = (config.vocab_size + 63) // 64 * 64
        head_dim = config.n_embd // config.n_head
        self.windows = window_sizes(config)
        self.wte = nn.Embedding(padded_vocab, config.n_embd)
        self.blocks = nn.ModuleList([Block(config, i, w) for i, w in enumerate(self.windows)])
        self.value_embeds = nn.ModuleDict({
            str(i): nn.Embedding(padded_vocab, config.n_kv_head * head_dim) for i in range(config.n_layer) if has_value_embedding(i, config.n_layer)
        })
        self.lm_head = nn.Linear(config.n_embd, padded_vocab, bias=False)
        self.resid_lambdas = nn.Parameter(torch.ones(config.n_layer))
        self.x0_lambdas = nn.Parameter(torch.full((config.n_layer,), 0.1))
        inv_freq = 1.0 / (config.rope_base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        freqs = torch.outer(torch.arange(config.sequence_len, dtype=torch.float32), inv_freq)
        self.register_buffer("cos", freqs.cos(), persistent=False)
        self.register_buffer("sin", freqs.sin(), persistent=False)
        position = torch.arange(config.sequence_len)
        distance = position[:, None] - position[None, :]
        for window in sorted(set(self.windows)):  # True where a query may attend to a key
            self.register_buffer(f"mask_{window}", (distance >= 0) & (distance < window), persistent=False)

    @torch.no_grad()
    def init_weights(self):
        bound = math.sqrt(3.0 / self.config.n_embd)  # uniform with std 1/sqrt(width)
        nn.init.normal_(self.wte.weight, 0.0, 1.0)
        nn.init.normal_(self.lm_head.weight, 0.0, 0.001)
        for block in self.blocks:
            for linear in (block.attn.c_q, block.attn.c_k, block.attn.c_v, block.mlp.c_fc):
                nn.init.uniform_(linear.weight, -bound, bound)
            nn.init.zeros_(block.attn.c_proj.weight)
            nn.init.zeros_(block.mlp.c_proj.weight)
            if block.attn.ve_gate is not None:
                nn.init.zeros_(block.attn.ve_gate.weight)
        for embedding in self.value_embeds.values():
            nn.init.uniform_(embedding.weight, -bound, bound)
        self.resid_lambdas.fill_(1.0)
        self.x0_lambdas.fill_(0.1)

    def forward(self, idx):
        length = idx.size(1)
        cos, sin = self.cos[:length], self.sin[:length]
        x = rms_norm(self.wte(idx))
        x0 = x
        for i, block in enumerate(self.blocks):
            x = self.resid_lambdas[i] * x + self.x0_lambdas[i] * x0
            ve = self.value_embeds[str(i)](idx) if str(i) in self.value_embeds else None
            mask = getattr(self, f"mask_{block.attn.window}")[:length, :length]
            x = block(x, ve, cos, sin, mask)
        logits = self.lm_head(rms_norm(x))[..., : self.config.vocab_size].float()
        return self.config.logit_cap * torch.tanh(logits / self.config.logit_cap)


def build_model(args):
    """What serve.py calls: the model for the saved construction arguments (weights not initialised)."""
    return GPT(GPTConfig(**args))


def model_arguments(profile, data):
    scale = profile["train"]
    depth = max(1, scale["depth"] + DEPTH_DELTA)
    head_dim = scale["head_dim"]
    width = math.ceil(depth * scale["aspect_ratio"] / head_dim) * head_dim
    pattern = scale["window_pattern"] if WINDOW_PATTERN == "profile" else WINDOW_PATTERN
    return asdict(GPTConfig(
        vocab_size=data["vocab_size"], sequence_len=data["context"], n_layer=depth, n_head=width // head_dim,
        n_kv_head=width // head_dim, n_embd=width, window_pattern=pattern, rope_base=ROPE_BASE, logit_cap=LOGIT_CAP,
        attention=ATTENTION,
    ))


# ---- Optimizer ----------------------------------------------------------------------------
# Polar Express: per-iteration (a, b, c) of X <- aX + b(XX^T)X + c(XX^T)^2 X, which drive all
# singular values of X towards 1 in five steps (Amsel et al., 2025).
POLAR_EXPRESS = [
    (8.156554524902461, -22.48329292557795, 15.878769915207462),
    (4.042929935166739, -2.808917465908714, 0.5000178451051316),
    (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
    (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
    (2.3465413258596377, -1.7097828382687081, 0.42323551169305323),
]


def orthogonalize(g, dtype):
    x = g.to(dtype)
    transposed = x.size(-2) > x.size(-1)
    if transposed:
        x = x.mT
    x = x / (x.norm(dim=(-2, -1), keepdim=True) * 1.02 + 1e-6)
    for a, b, c in POLAR_EXPRESS:
        gram = x @ x.mT
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.mT if transposed else x


class Muon(torch.optim.Optimizer):
    """Nesterov momentum, orthogonalised updates, NorMuon-style second-moment normalisation per
    row (or column), and cautious weight decay (only where the update and the weight agree)."""

    def __init__(self, params, lr, momentum, beta2, weight_decay, compute_dtype):
        super().__init__(params, dict(lr=lr, momentum=momentum, beta2=beta2, weight_decay=weight_decay))
        self.compute_dtype = compute_dtype

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                rows, cols = p.shape
                reduce_dim = -1 if rows >= cols else -2
                if not state:
                    state["momentum"] = torch.zeros_like(p.grad, dtype=torch.float32)
                    state["second"] = torch.zeros_like(p.grad[:, :1] if reduce_dim == -1 else p.grad[:1, :], dtype=torch.float32)
                momentum = state["momentum"]
                momentum.lerp_(p.grad.float(), 1 - group["momentum"])
                update = orthogonalize(p.grad.float().lerp(momentum, group["momentum"]), self.compute_dtype).float()
                state["second"].lerp_(update.square().mean(dim=reduce_dim, keepdim=True), 1 - group["beta2"])
                normalized = update * state["second"].clamp_min(1e-10).rsqrt()
                normalized *= update.norm() / normalized.norm().clamp_min(1e-10)
                lr = group["lr"] * max(1.0, rows / cols) ** 0.5
                if group["weight_decay"] > 0:
                    p.sub_(p * ((normalized * p) > 0) * (lr * group["weight_decay"]))
                p.sub_(normalized.to(p.dtype), alpha=lr)


def build_optimizers(model, fused, compute_dtype):
    width_scale = (model.config.n_embd / 768) ** -0.5
    adam_groups = [
        dict(params=[model.wte.weight], lr=EMBEDDING_LR * width_scale),
        dict(params=list(model.value_embeds.parameters()), lr=VALUE_EMBEDDING_LR * width_scale),
        dict(params=[model.lm_head.weight], lr=UNEMBEDDING_LR * width_scale),
        dict(params=[model.resid_lambdas], lr=RESID_SCALAR_LR * width_scale),
        dict(params=[model.x0_lambdas], lr=X0_SCALAR_LR * width_scale, betas=(X0_BETA1, ADAM_BETAS[1])),
    ]
    adam_groups = [group for group in adam_groups if group["params"]]
    adam = torch.optim.AdamW(adam_groups, betas=ADAM_BETAS, eps=1e-10, weight_decay=0.0, **({"fused": True} if fused else {}))
    matrices = [p for p in model.blocks.parameters() if p.ndim == 2]
    muon = Muon(matrices, lr=MATRIX_LR, momentum=MUON_MOMENTUM_START, beta2=MUON_BETA2, weight_decay=WEIGHT_DECAY, compute_dtype=compute_dtype)
    for optimizer in (adam, muon):
        for group in optimizer.param_groups:
            group["initial_lr"] = group["lr"]
    return adam, muon


def lr_multiplier(progress):
    """Constant, then a linear warm-down to zero over the last WARMDOWN_RATIO of the budget."""
    if WARMDOWN_RATIO <= 0 or progress < 1 - WARMDOWN_RATIO:
        return 1.0
    return max(0.0, (1 - progress) / WARMDOWN_RATIO)


# ---- Data ---------------------------------------------------------------------------------
class BestFitLoader:
    """Rows that start with BOS, packed best-fit from a buffer of pieces (largest that fits the
    space left; if none fits, the shortest is cropped to fill the row): no padding."""

    def __init__(self, shards, bos_id, row_length, rows, seed, buffer_size=1000):
        self.shards, self.row_length, self.rows, self.buffer_size = shards, row_length, rows, buffer_size
        self.pieces = []  # (shard, start, end): each piece starts with BOS
        for index, tokens in enumerate(shards):
            starts = np.flatnonzero(np.asarray(tokens) == bos_id)
            ends = np.append(starts[1:], len(tokens))
            self.pieces += [(index, int(s), int(e)) for s, e in zip(starts, ends)]
        if not self.pieces:
            raise SystemExit("train: the train shards hold no BOS-delimited pieces; prepare the data again.")
        self.rng = np.random.default_rng(seed)
        self.order, self.cursor, self.epoch = self.rng.permutation(len(self.pieces)), 0, 1
        self.buffer, self.counter = [], 0  # sorted (length, counter, piece)

    def _refill(self):
        while len(self.buffer) < self.buffer_size:
            if self.cursor == len(self.order):
                self.order, self.cursor, self.epoch = self.rng.permutation(len(self.pieces)), 0, self.epoch + 1
            piece = self.pieces[self.order[self.cursor]]
            self.cursor += 1
            self.counter += 1
            bisect.insort(self.buffer, (piece[2] - piece[1], self.counter, piece))

    def next_batch(self):
        batch = np.empty((self.rows, self.row_length), dtype=np.int64)
        for row in range(self.rows):
            position = 0
            while position < self.row_length:
                self._refill()
                remaining = self.row_length - position
                index = bisect.bisect_right(self.buffer, (remaining, math.inf)) - 1
                length, _, (shard, start, end) = self.buffer.pop(index if index >= 0 else 0)
                take = min(length, remaining)
                batch[row, position:position + take] = self.shards[shard][start:start + take]
                position += take
        return batch


# ---- Training -----------------------------------------------------------------------------
def flops_per_token(model):
    """6 x (matrix parameters, head included) + attention over each layer's window (fwd + bwd)."""
    config = model.config
    matrices = sum(p.numel() for p in model.blocks.parameters() if p.ndim == 2) + model.lm_head.weight.numel()
    attention = sum(12 * config.n_embd * window for window in model.windows)
    return 6 * matrices + attention


def main():
    launched = float(os.environ.get("AUTORESEARCH_LAUNCHED_AT", time.time() * 1000)) / 1000
    env = gpt_data.environment("train")
    cuda = env.device.startswith("cuda") and torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    project_dir = os.path.dirname(os.path.abspath(__file__))
    profile_name, profile = gpt_data.select_profile(gpt_data.load_constants(project_dir), cuda)
    data = gpt_data.profile_data(gpt_data.load_manifest(env.data_dir), profile_name)
    budget = gpt_data.training_budget(env, profile)
    torch.manual_seed(SEED)
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    args = model_arguments(profile, data)
    model = build_model(args)
    model.init_weights()
    model.to(device)
    if cuda:  # embeddings are only looked up: bf16 halves their memory traffic
        model.wte.to(torch.bfloat16)
        model.value_embeds.to(torch.bfloat16)
    precision = gpt_data.autocast_dtype(cuda)  # bfloat16, or None for float32
    adam, muon = build_optimizers(model, fused=cuda, compute_dtype=precision or torch.float32)
    compiled = cuda and COMPILE and hasattr(torch, "compile")
    forward = torch.compile(model, dynamic=False) if compiled else model
    excluded_steps = COMPILE_STEPS if compiled else 0

    scale = profile["train"]
    context = data["context"]
    rows = scale["device_batch_rows"]
    step_tokens = max(rows * context, int(scale["total_batch_tokens"] * 2 ** BATCH_SHIFT))
    accumulation = max(1, step_tokens // (rows * context))
    loader = BestFitLoader(gpt_data.train_shards(env.data_dir, data), data["bos_id"], context + 1, rows, SEED)
    params = sum(p.numel() for p in model.parameters())
    print(f"train: profile {profile_name} on {device}; {params / 1e6:.2f}M parameters, depth {args['n_layer']}, width {args['n_embd']}, "
          f"{accumulation} x {rows} x {context} tokens per step, {'bfloat16' if precision else 'float32'}, budget {budget:.0f}s", flush=True)

    autocast = torch.autocast(device.type, dtype=precision) if precision else contextlib.nullcontext()
    step, measured, tokens_measured, smoothed = 0, 0.0, 0, None
    first_step_at = None
    # The budget is wall clock from here, compilation included. What comes before (imports, data,
    # model) and the save after fit the harness's start-up allowance; past budget + allowance the
    # harness kills the run and records it as a timeout.
    training_started = time.time()
    while True:
        started = time.time()
        elapsed = started - training_started
        if elapsed >= budget:
            break
        progress = min(1.0, elapsed / budget)
        for optimizer in (adam, muon):
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * lr_multiplier(progress)
        for group in muon.param_groups:
            warmup = min(1.0, step / MUON_MOMENTUM_WARMUP_STEPS)
            group["momentum"] = MUON_MOMENTUM_START + (MUON_MOMENTUM - MUON_MOMENTUM_START) * warmup
            group["weight_decay"] = WEIGHT_DECAY * (1 - progress)
        for _ in range(accumulation):
            batch = torch.from_numpy(loader.next_batch())
            if cuda:
                batch = batch.pin_memory().to(device, non_blocking=True)
            with autocast:
                logits = forward(batch[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1)) / accumulation
            loss.backward()
        adam.step()
        muon.step()
        model.zero_grad(set_to_none=True)
        loss_value = loss.item() * accumulation
        if cuda:
            torch.cuda.synchronize()
        if first_step_at is None:
            first_step_at = time.time()
        if not math.isfinite(loss_value) or loss_value > 100:
            print(f"\ntrain: loss is {loss_value} at step {step}; lower the learning rates.", file=sys.stderr)
            sys.exit(1)
        if step >= excluded_steps:
            measured += time.time() - started
            tokens_measured += step_tokens
        step += 1
        smoothed = loss_value if smoothed is None else 0.9 * smoothed + 0.1 * loss_value
        print(f"\rstep {step} loss {smoothed:.4f} lr x{lr_multiplier(progress):.2f} {100 * progress:.0f}% of {budget:.0f}s", end="", flush=True)

    trained = time.time() - training_started
    os.makedirs(env.output_dir, exist_ok=True)
    torch.save(model.state_dict(), os.path.join(env.output_dir, gpt_data.CHECKPOINT_FILE))
    with open(os.path.join(env.output_dir, gpt_data.MODEL_ARGS_FILE), "w") as handle:
        json.dump(args, handle)
    tokens_per_second = tokens_measured / measured if measured > 0 else 0.0
    report = {
        "train_seconds": trained, "total_seconds": time.time() - launched, "startup_seconds": (first_step_at or time.time()) - launched,
        "tokens_per_second": tokens_per_second, "num_steps": step, "num_params_M": params / 1e6, "depth": args["n_layer"],
        "total_tokens_M": step * step_tokens / 1e6,
    }
    if cuda:
        report["peak_vram_mb"] = torch.cuda.max_memory_allocated() / 2**20
        peak = gpt_data.peak_flops(torch.cuda.get_device_name())
        if peak:
            report["mfu_percent"] = 100 * flops_per_token(model) * tokens_per_second / peak
    else:
        import resource
        report["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(os.path.join(env.output_dir, gpt_data.TRAIN_REPORT_FILE), "w") as handle:
        json.dump(report, handle)
    print("\n---")
    for key, value in report.items():
        print(f"{key + ':':<20}{value:.2f}" if isinstance(value, float) else f"{key + ':':<20}{value}")


if __name__ == "__main__":
    main()
