#!/usr/bin/env python3
"""PyTorch eager reference for bench/train_step.cpp: the same GPT-2-architecture
model (bench/README.md), the same step (forward + backward + AdamW), float32.

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python3 bench/train_step_reference.py [S|M|all] [--reps N]
    python3 bench/train_step_reference.py [S|M|all] --device cuda     # on a GPU (float32, no TF32)

Attention is F.scaled_dot_product_attention (causal) where PyTorch has it (2.x), else
the usual eager composition. On a GPU each timed step ends with loss.item(), which waits
for the device, as chord's does.

Prints a RESULT line per config in the format of bench/bench_util.hpp. Needs
PyTorch (Debian: python3-torch); chord itself never does.
"""
import argparse
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("SKIP: PyTorch is not installed (apt-get install python3-torch)")
    sys.exit(0)

CONFIGS = {
    "S": dict(vocab=256, ctx=128, layers=4, heads=4, width=256, batch=8, seq=128),
    "M": dict(vocab=50257, ctx=1024, layers=12, heads=12, width=768, batch=4, seq=64),
}


HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


class Block(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = nn.Linear(c, 4 * c)
        self.mlp_proj = nn.Linear(4 * c, c)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        if HAS_SDPA:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # torch 1.13 has no F.scaled_dot_product_attention: the usual eager form.
            att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.heads)
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            att = att.masked_fill(mask, float("-inf")).softmax(-1)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wte = nn.Embedding(cfg["vocab"], cfg["width"])
        self.wpe = nn.Embedding(cfg["ctx"], cfg["width"])
        self.h = nn.ModuleList(Block(cfg["width"], cfg["heads"]) for _ in range(cfg["layers"]))
        self.ln_f = nn.LayerNorm(cfg["width"])
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * cfg["layers"]) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()


def run(name, reps, warmup, device):
    cfg = CONFIGS[name]
    torch.manual_seed(1337)
    model = GPT(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    tokens = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["seq"] + 1)).to(device)
    x, y = tokens[:, :-1], tokens[:, 1:]

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).view(-1, cfg["vocab"]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - t0) * 1000)
    med = statistics.median(times)
    tokens_per_step = cfg["batch"] * cfg["seq"]
    params = sum(p.numel() for p in model.parameters()) / 1e6
    where = torch.cuda.get_device_name() if device == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"pytorch {torch.__version__} config {name}: {params:.2f} M params, {where}, "
          f"attention {'sdpa' if HAS_SDPA else 'eager'}: "
          f"{med:.1f} ms/step (min {min(times):.1f}, max {max(times):.1f}), loss {loss:.3f}")
    suffix = "_cuda" if device == "cuda" else ""
    print(f"RESULT torch_train_step_{name}{suffix} median_ms={med:.3f} min_ms={min(times):.3f} max_ms={max(times):.3f} "
          f"reps={reps} tokens_per_s={tokens_per_step / (med / 1000):.1f}", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("which", nargs="?", default="all", choices=["S", "M", "all"])
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = ap.parse_args()
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print("SKIP: PyTorch sees no CUDA device")
            sys.exit(0)
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 GEMMs, as chord's cuBLAS calls
        torch.backends.cudnn.allow_tf32 = False
    for name in ("S", "M"):
        if args.which in (name, "all"):
            run(name, args.reps, args.warmup, args.device)
