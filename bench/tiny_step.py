"""Why the tiny preset has a 2,048-token vocabulary: what one training step of the tiny model costs on one CPU thread.

Usage: python bench/tiny_step.py [--steps 30] [--rounds 2] [--vocabs 4096,2048] [--threads 1]

Two parts, side by side in one run, one thread (the CPU study trains two runs side by side, one thread each):
  1. the matrix products of the tiny model (2 layers, d=128, 16 x 128 tokens per step) at each vocabulary,
     forward and backward shapes, in GFLOP/s: the step is bound by these small products (K = 128);
  2. one compiled training step (`TokenLoss` forward, backward, fused AdamW) of the tiny model at each vocabulary,
     random tokens, in a fresh subprocess per measurement, interleaved over `--rounds` rounds (medians).
The FLOP share of the tied output layer is printed beside it. Writes bench/results/tiny_step.json.
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def gemm_rates(vocab: int, reps: int = 20) -> dict:
    "GFLOP/s of every (M, K) @ (K, N) product of one step of the tiny model (forward shapes and the backward's)."
    import torch
    T, d = 16 * 128, 128
    out = {}
    for m, k, n in [(T, d, 3*d), (T, d, d), (T, d, 4*d), (T, 4*d, d), (T, d, vocab), (T, vocab, d), (d, T, vocab), (d, T, 4*d)]:
        a, b = torch.randn(m, k), torch.randn(k, n)
        for _ in range(3): a @ b
        t0 = time.perf_counter()
        for _ in range(reps): a @ b
        out[f'{m}x{k}x{n}'] = round(2 * m * k * n * reps / (time.perf_counter() - t0) / 1e9, 1)
    return out


def worker(vocab: int, steps: int) -> dict:
    "Time `steps` compiled training steps of the tiny model at `vocab` (after 5 warm-up steps)."
    import torch
    from toremi.config import load_config
    from toremi.model import build_model, build_optimizer, TokenLoss
    cfg = load_config(preset='tiny')
    model = build_model(cfg, vocab, 128)
    opt, _ = build_optimizer(model, cfg)
    fn = torch.compile(TokenLoss(model))
    x = torch.randint(0, vocab, (16, 128))
    def step():
        loss = fn(x, x)
        (loss.sum() / loss.numel()).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    for _ in range(5): step()
    t0 = time.perf_counter()
    for _ in range(steps): step()
    dt = (time.perf_counter() - t0) / steps
    return dict(vocab=vocab, step_s=dt, tokens_per_s=16 * 128 / dt, first_step_s=first, params=sum(p.numel() for p in model.parameters()))


def head_share(vocab: int, d: int = 128, layers: int = 2) -> float:
    "Share of the model's matrix-product FLOPs in the tied output layer (per token: 12·L·d² in the blocks, V·d in the head)."
    return vocab * d / (vocab * d + 12 * layers * d * d)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--rounds', type=int, default=2)
    ap.add_argument('--vocabs', default='4096,2048')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--worker', type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    if args.worker:
        print(json.dumps(worker(args.worker, args.steps)))
        return
    vocabs = [int(v) for v in args.vocabs.split(',')]
    gemm = {v: gemm_rates(v) for v in vocabs}
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), TOREMI_PROGRESS='0')
    runs = {v: [] for v in vocabs}
    for _ in range(args.rounds):
        for v in vocabs:
            cmd = [sys.executable, __file__, '--worker', str(v), '--steps', str(args.steps), '--threads', str(args.threads)]
            runs[v].append(json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]))
    res = {}
    for v in vocabs:
        step = statistics.median(r['step_s'] for r in runs[v])
        res[v] = dict(step_s=round(step, 4), tokens_per_s=round(2048 / step), head_flop_share=round(head_share(v), 3),
                      params=runs[v][0]['params'], first_step_s=round(statistics.median(r['first_step_s'] for r in runs[v]), 1),
                      gemm_gflops=gemm[v], rounds=[round(r['step_s'], 4) for r in runs[v]])
        print(f"vocab {v}: step {step*1000:.0f} ms ({2048/step:,.0f} tokens/s), output layer {head_share(v):.0%} of the FLOPs, "
              f"{res[v]['params']:,} parameters; products {min(gemm[v].values())}-{max(gemm[v].values())} GFLOP/s")
    base = vocabs[0]
    for v in vocabs[1:]: print(f"vocab {v} vs {base}: step time x{res[v]['step_s'] / res[base]['step_s']:.2f}")
    out = dict(setup=f'tiny model (2 layers, d=128, 4 heads, 16 x 128 tokens), compiled fp32, {args.threads} thread(s), random tokens',
               machine=platform.processor() or platform.machine(), load_average=os.getloadavg(), steps=args.steps, rounds=args.rounds,
               vocab=res)
    (HERE/'results').mkdir(exist_ok=True)
    (HERE/'results'/'tiny_step.json').write_text(json.dumps(out, indent=1) + '\n')


if __name__ == '__main__':
    main()
