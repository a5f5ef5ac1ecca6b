#!/usr/bin/env python3
"""PyTorch eager reference for bench/generate.cpp: the same GPT-2-architecture model
(config S of bench/README.md) generating with a preallocated KV cache, float32, CPU.

    OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE python3 bench/generate_reference.py [--reps N]
    python3 bench/generate_reference.py --device cuda     # on a GPU (float32, no TF32)

Workload: 16 prompts of 16 random tokens, 112 new tokens each, temperature 1.0 sampling
(torch.multinomial), recording each sampled token's log-prob as chord does. One repetition =
prefill + 112 decoding steps. Prints a RESULT line in the format of bench/bench_util.hpp. Needs
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

CFG = dict(vocab=256, ctx=128, layers=4, heads=4, width=256)
BATCH, PROMPT, NEW = 16, 16, 112


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

    def forward(self, x, cache_k, cache_v, start):
        # x [B, T, C]; cache_k, cache_v [B, H, max_len, D], slots [0, start) filled.
        B, T, C = x.shape
        D = C // self.heads
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, D).transpose(1, 2) for t in (q, k, v))
        cache_k[:, :, start:start + T] = k
        cache_v[:, :, start:start + T] = v
        k, v = cache_k[:, :, :start + T], cache_v[:, :, :start + T]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D)  # [B, H, T, start + T]
        if T > 1:  # prefill: causal mask (the decoding query sees every filled slot)
            mask = torch.ones(T, start + T, dtype=torch.bool, device=x.device).triu(start + 1)
            att = att.masked_fill(mask, float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
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

    def forward(self, idx, caches, start):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(start, start + T, device=idx.device))
        for block, (ck, cv) in zip(self.h, caches):
            x = block(x, ck, cv, start)
        return self.ln_f(x) @ self.wte.weight.t()


@torch.no_grad()
def generate(model, prompts, new_tokens, temperature, gen):
    B, P = prompts.shape
    cfg = model.cfg
    D = cfg["width"] // cfg["heads"]
    max_len = P + new_tokens - 1
    dev = prompts.device
    caches = [(torch.zeros(B, cfg["heads"], max_len, D, device=dev),
               torch.zeros(B, cfg["heads"], max_len, D, device=dev)) for _ in range(cfg["layers"])]
    logits = model(prompts, caches, 0)[:, -1]  # [B, V]
    out = torch.empty(B, new_tokens, dtype=torch.long, device=dev)
    log_probs = torch.empty(B, new_tokens, device=dev)
    for t in range(new_tokens):
        lp = F.log_softmax(logits / temperature, dim=-1)
        token = torch.multinomial(lp.exp(), 1, generator=gen)  # [B, 1]
        out[:, t] = token[:, 0]
        log_probs[:, t] = lp.gather(1, token)[:, 0]
        if t + 1 < new_tokens:
            logits = model(token, caches, P + t)[:, -1]
    return out, log_probs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = ap.parse_args()
    if args.device == "cuda":
        if not torch.cuda.is_available():
            print("SKIP: PyTorch sees no CUDA device")
            sys.exit(0)
        torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(1337)
    model = GPT(CFG).eval().to(args.device)
    gen = torch.Generator(device=args.device).manual_seed(42)
    prompts = torch.randint(0, CFG["vocab"], (BATCH, PROMPT), generator=gen, device=args.device)

    def call():
        out, log_probs = generate(model, prompts, NEW, 1.0, gen)
        out.cpu(), log_probs.cpu()  # the results on the host, as chord's are (this waits for the GPU)

    for _ in range(args.warmup):
        call()
    times = []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    med = statistics.median(times)
    new = BATCH * NEW
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"pytorch {torch.__version__} generation, config S, {BATCH} prompts x {PROMPT} tokens + {NEW} new, "
          f"{where}: {med:.1f} ms (min {min(times):.1f}, max {max(times):.1f}), "
          f"{new / (med / 1000):.0f} new tokens/s")
    suffix = "_cuda" if args.device == "cuda" else ""
    print(f"RESULT torch_generate_S{suffix} median_ms={med:.3f} min_ms={min(times):.3f} max_ms={max(times):.3f} "
          f"reps={args.reps} new_tokens_per_s={new / (med / 1000):.1f}", flush=True)


if __name__ == "__main__":
    main()
