"""Training throughput through the real loop (`toremi.train.train`): before/after on CPU, and GPT-2 124M against a
nanoGPT-style reference loop on a GPU.

Usage: python bench/train.py [--steps 60] [--warmup 10] [--rounds 3] [--before 74c75f1] [--strategies uniform,toremi,...]
       python bench/train.py --gpu [--steps 60] [--warmup 20] [--batch-size 16] [--grad-accum 4] [--no-compile] [--peak-tflops 989]

CPU (default): the `tiny` preset's model shape as it was measured (2 layers, d=128, 4 heads, vocabulary 4096 — the
preset now uses 2048 —, 128-token windows, 16 sequences per step, fp32) on a synthetic annotated run (`make_synthetic_run`, full windows, 3 sources, 6 topics).
Every measurement is a fresh subprocess (`--worker`) that trains `--steps` optimizer steps; tokens/s is measured from
step `--warmup` to the last step. Three parts, each side by side in one run:
  1. before/after: `uniform` with the project as it was at `--before` (a `git archive` of that commit on PYTHONPATH)
     and as it is now, interleaved over `--rounds` rounds (medians);
  2. every strategy now, against `uniform` in the same round (strategy host time measured by a timing wrapper; Aioli's
     per-domain evaluations count in its step time);
  3. `train.compile=true` now, with the time to the first step (compilation) and a projected 600-step run
     (the tiny study's length), to choose the tiny preset's setting.
Torch uses `--threads` threads (1 by default) and tokens per CPU-second of the worker are reported beside wall-clock
tokens/s: on a shared 2-core machine the CPU-time figure is far less disturbed by other processes. `uptime`'s load
average is recorded.

GPU (--gpu): GPT-2 124M (12 layers, d=768, 12 heads, vocabulary 50257 padded to 50304, 1024-token windows) in bf16
with torch.compile, batch 16 x grad-accum 4 per step: `uniform` and the other strategies through the real loop, and in
the same process a reference loop (plain PyTorch nanoGPT-style GPT: `scaled_dot_product_attention(is_causal=True)`,
fused AdamW, compile, bf16 autocast, the same shapes and batch, random tokens); prints tokens/s, MFU
(tokens/s x (6 N + 12 L d T) / peak; 989 TFLOP/s for H100/H200 unless --peak-tflops) and toremi/reference.
Writes bench/results/train.json (the `cpu` or `gpu` section, or `--section NAME`; the others are kept).
"""
from __future__ import annotations
import argparse, json, os, platform, statistics, subprocess, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('TOREMI_PROGRESS', '0')
for _k in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE'): os.environ.setdefault(_k, '1')
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CPU_STRATEGIES = ['uniform', 'toremi', 'loss', 'odm', 'toremi+loss', 'doremi', 'doremi-proxy', 'stratified', 'aioli']
TIMED = ('prepare', 'sample_weights', 'observe', 'on_optimizer_step', 'sampling_probs', 'on_evaluation', 'wants_evaluation', 'on_domain_evaluation')


class TimedStrategy:
    "Delegates to a strategy and adds up the wall time of its per-step methods (host time only on a GPU: no syncs)."
    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0
        for name in TIMED:
            if hasattr(inner, name): setattr(self, name, self._timed(getattr(inner, name)))
    def _timed(self, fn):
        def wrapped(*a, **kw):
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            self.seconds += time.perf_counter() - t0
            return out
        return wrapped
    def __getattr__(self, name): return getattr(self.inner, name)


def bench_cfg(root: Path, strategy: str, steps: int, gpu: bool, args, extra=()):
    "The benchmark config: the tiny preset (CPU) or GPT-2 124M (GPU); only keys that the `--before` tree knows too."
    from toremi.config import load_config
    name, phase = ('doremi', 'proxy') if strategy == 'doremi-proxy' else (strategy, 'final')
    ov = [f'train.strategy={name}', f'train.doremi_phase={phase}', f'train.max_steps={steps}', 'train.eval_every=0',
          'train.save_every=0', 'train.log_every=10', 'train.warmup_steps=10', 'train.toremi.update_every=20',
          'train.toremi.switch=step', f'train.toremi.switch_step={steps // 2}', 'train.loss.warmup_steps=10', 'train.eval_batches=2']
    if gpu:
        ov += ['sample.seq_len=1024', 'train.n_layer=12', 'train.n_head=12', 'train.n_embd=768', f'train.micro_batch={args.batch_size}',
               f'train.global_batch={args.batch_size * args.grad_accum}', 'train.mixed_precision=bf16', f'train.compile={not args.no_compile}',
               'train.lr=6e-4']
    else: ov += ['train.compile=false']   # eager unless a measurement asks (the tiny preset itself compiles)
    ov += [f'train.doremi.weights={root/"doremi_weights.json"}', f'train.doremi.reference={root/"reference"/"final"}', *extra]
    if name == 'aioli':   # rounds of steps/3 (3 sources: 3 one-step segments each), 8 validation rows per source; its evaluations are part of the step time
        ov += [f'train.aioli.update_steps={steps // 3}', 'train.aioli.lp_rounds=1', 'train.aioli.lp_steps=1', 'train.aioli.eval_rows=8']
    return load_config(preset='tiny', overrides=ov, run_dir=str(root))


def measure(cfg, run_dir: Path, warmup: int) -> dict:
    "Train `cfg` in `run_dir` with the `toremi` on sys.path; tokens/s (wall and CPU) and strategy time between step `warmup` and the last."
    from toremi.train import train
    from toremi.strategies import make_strategy
    box, times, t_start = {}, {}, time.perf_counter()
    def factory(c, topics, domains, device):
        box['s'] = TimedStrategy(make_strategy(c, topics, domains, device))
        return box['s']
    def cb(event, info):
        if event == 'step': times[info['step']] = (time.perf_counter(), info['tokens'], box['s'].seconds, time.process_time())
    train(cfg, run_dir=run_dir, resume=False, strategy_factory=factory, callback=cb)
    total = time.perf_counter() - t_start
    last = cfg.train.max_steps - 1  # the last step's interval also holds the final evaluation and save
    (t0, k0, s0, c0), (t1, k1, s1, c1) = times[warmup], times[last]
    steps = last - warmup
    return dict(tokens_per_s=(k1 - k0)/(t1 - t0), tokens_per_cpu_s=(k1 - k0)/max(c1 - c0, 1e-9), step_ms=1e3*(t1 - t0)/steps,
                strategy_ms=1e3*(s1 - s0)/steps, strategy_share=(s1 - s0)/(t1 - t0), tokens_per_step=(k1 - k0)/steps,
                first_step_s=times[1][0] - t_start, total_s=total)


def worker(spec: dict) -> dict:
    "One measurement in this process (run by the driver as a subprocess, with the tree to measure on PYTHONPATH)."
    import torch
    torch.set_num_threads(spec['threads'])
    args = argparse.Namespace(**spec['args'])
    cfg = bench_cfg(Path(spec['root']), spec['strategy'], spec['steps'], spec['gpu'], args, spec.get('extra', ()))
    return measure(cfg, Path(spec['run_dir']), spec['warmup'])


def run_worker(spec: dict, tree: Path | None = None) -> dict:
    "Run `worker(spec)` in a fresh Python, importing toremi from `tree` (default: this checkout)."
    env = dict(os.environ, OMP_NUM_THREADS=str(spec['threads']), PYTHONPATH=str(tree or ROOT))
    p = subprocess.run([sys.executable, str(HERE/'train.py'), '--worker', json.dumps(spec)], capture_output=True, text=True, env=env)
    if p.returncode != 0: raise SystemExit(f"worker failed ({spec['strategy']}, tree {tree or ROOT}):\n{p.stderr[-4000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def setup(root: Path, gpu: bool, args):
    "The synthetic run, DoReMi weights for the final phase and a reference model for the proxy phase."
    from toremi.train import train
    from toremi.testing import make_synthetic_run
    from toremi.core import write_json
    seq, vocab = (1024, 50257) if gpu else (128, 4096)
    rows = (args.steps + 5) * args.batch_size * args.grad_accum if gpu else (args.steps + 5) * 16
    make_synthetic_run(root, vocab_size=vocab, seq_len=seq, n_train=rows, n_val=64, n_test=8, min_len=seq,
                       topics=('Science', 'Sports', 'History', 'Technology', 'Health', 'Law'))
    write_json({'books': .2, 'code': .3, 'web': .5}, root/'doremi_weights.json')
    ref = bench_cfg(root, 'uniform', 2, gpu, args)
    ref.train.compile = False
    train(ref, run_dir=root/'reference', resume=False)


def device_info(gpu: bool) -> dict:
    import torch
    d = dict(python=platform.python_version(), torch=torch.__version__, cpu=platform.processor() or platform.machine(),
             cpu_capability=torch.backends.cpu.get_cpu_capability(), cores=os.cpu_count())
    if gpu: d.update(gpu=torch.cuda.get_device_name(0))
    return d


def write_results(section: str, payload: dict) -> Path:
    out = HERE/'results'/'train.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    res = json.loads(out.read_text()) if out.exists() else {}
    res[section] = payload
    out.write_text(json.dumps(res, indent=2) + '\n')
    return out


def _median(ms: list, key: str) -> float: return statistics.median(m[key] for m in ms)


def run_cpu(args):
    strategies = args.strategies.split(',') if args.strategies else CPU_STRATEGIES
    base_tree = Path(tempfile.mkdtemp(prefix='toremi-before-'))
    subprocess.run(f'git -C {ROOT} archive {args.before} | tar -x -C {base_tree}', shell=True, check=True)
    loads = [os.getloadavg()]
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        setup(root, False, args)
        spec = lambda s, r, tag, extra=(): dict(root=str(root), strategy=s, steps=args.steps, warmup=args.warmup, gpu=False, threads=args.threads,
                                                 run_dir=str(root/'runs'/f'{tag}-{s}-{r}'), args=vars(args), extra=list(extra))
        before, after, strat = [], [], {s: [] for s in strategies}
        for r in range(args.rounds):   # 1. before/after, interleaved
            before.append(run_worker(spec('uniform', r, 'before'), base_tree))
            after.append(run_worker(spec('uniform', r, 'after')))
            print(f"round {r} uniform: before {before[-1]['tokens_per_cpu_s']:8.0f} tok/cpu-s {before[-1]['tokens_per_s']:8.0f} tok/s | "
                  f"after {after[-1]['tokens_per_cpu_s']:8.0f} tok/cpu-s {after[-1]['tokens_per_s']:8.0f} tok/s", flush=True)
            loads.append(os.getloadavg())
        for r in range(args.strategy_rounds):   # 2. every strategy now, uniform in the same round
            for s in strategies:
                strat[s].append(run_worker(spec(s, r, 'strategy')))
                m = strat[s][-1]
                print(f"round {r} {s:13s} {m['tokens_per_cpu_s']:8.0f} tok/cpu-s {m['tokens_per_s']:8.0f} tok/s  step {m['step_ms']:7.1f} ms  strategy {m['strategy_ms']:6.3f} ms", flush=True)
            loads.append(os.getloadavg())
        compiled = None
        if not args.no_compile:   # 3. compile, first step included
            compiled = run_worker(spec('uniform', 0, 'compiled', ['train.compile=true']))
            print(f"compiled uniform: {compiled['tokens_per_cpu_s']:8.0f} tok/cpu-s, first step after {compiled['first_step_s']:.0f} s", flush=True)
            loads.append(os.getloadavg())
    cpu_ratio = _median(after, 'tokens_per_cpu_s') / _median(before, 'tokens_per_cpu_s')
    wall_ratio = _median(after, 'tokens_per_s') / _median(before, 'tokens_per_s')
    base_cpu = _median(strat['uniform'], 'tokens_per_cpu_s') if 'uniform' in strat else None
    rows = {}
    for s, ms in strat.items():
        rows[s] = dict(tokens_per_s=round(_median(ms, 'tokens_per_s'), 1), tokens_per_cpu_s=round(_median(ms, 'tokens_per_cpu_s'), 1),
                       cpu_ratio_to_uniform=round(_median(ms, 'tokens_per_cpu_s') / base_cpu, 4) if base_cpu else None,
                       step_ms=round(_median(ms, 'step_ms'), 2), strategy_ms_per_step=round(_median(ms, 'strategy_ms'), 4),
                       strategy_share=round(_median(ms, 'strategy_share'), 5))
    project = lambda m: m['first_step_s'] + 600 * m['step_ms'] / 1e3
    out = dict(setup=dict(model='tiny preset: 2 layers, d=128, 4 heads, vocab 4096, seq 128, batch 16, fp32', data='synthetic, full windows',
                          steps=args.steps, warmup=args.warmup, rounds=args.rounds, strategy_rounds=args.strategy_rounds, torch_threads=args.threads,
                          before=args.before, load_average=loads, device=device_info(False)),
               before_after=dict(before_tokens_per_cpu_s=round(_median(before, 'tokens_per_cpu_s'), 1), after_tokens_per_cpu_s=round(_median(after, 'tokens_per_cpu_s'), 1),
                                 speedup_cpu_time=round(cpu_ratio, 3), before_tokens_per_s=round(_median(before, 'tokens_per_s'), 1),
                                 after_tokens_per_s=round(_median(after, 'tokens_per_s'), 1), speedup_wall=round(wall_ratio, 3),
                                 runs=dict(before=before, after=after)),
               strategies=rows)
    if compiled:
        eager = statistics.median(project(m) for m in after)
        out['compile'] = dict(tokens_per_cpu_s=round(compiled['tokens_per_cpu_s'], 1), tokens_per_s=round(compiled['tokens_per_s'], 1),
                              first_step_s=round(compiled['first_step_s'], 1), projected_600_steps_s=round(project(compiled), 1),
                              eager_projected_600_steps_s=round(eager, 1))
    print(f"\nbefore ({args.before}) -> after: {out['before_after']['before_tokens_per_cpu_s']:.0f} -> {out['before_after']['after_tokens_per_cpu_s']:.0f} "
          f"tok/cpu-s = x{cpu_ratio:.2f} (wall clock x{wall_ratio:.2f})")
    print(f"{'strategy':14s} {'tok/cpu-s':>10s} {'ratio':>7s} {'tok/s':>9s} {'step ms':>8s} {'strategy ms':>12s} {'share':>8s}")
    for s, r in rows.items():
        print(f"{s:14s} {r['tokens_per_cpu_s']:10.0f} {r['cpu_ratio_to_uniform'] or 0:7.3f} {r['tokens_per_s']:9.0f} {r['step_ms']:8.1f} "
              f"{r['strategy_ms_per_step']:12.3f} {100*r['strategy_share']:7.2f}%")
    if compiled: print(f"compile: 600-step run {out['compile']['projected_600_steps_s']:.0f} s vs eager {out['compile']['eager_projected_600_steps_s']:.0f} s")
    return out


# ---- GPU: the reference loop -------------------------------------------------------------------------------------
def reference_gpt(vocab: int, T: int, L: int, d: int, H: int):
    "A minimal nanoGPT-style GPT in plain PyTorch (pre-LN blocks, SDPA causal attention, tanh GELU, tied output layer)."
    import torch, torch.nn as nn, torch.nn.functional as F
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3*d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4*d), nn.Linear(4*d, d)
        def forward(self, x):
            B, T_, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(B, T_, 3, H, d // H).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T_, d)
            x = x + self.proj(y)
            return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate='tanh'))
    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(T, d)
            self.blocks, self.ln_f = nn.ModuleList(Block() for _ in range(L)), nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)
            self.head.weight = self.wte.weight
            for p in self.parameters():
                if p.dim() >= 2: nn.init.normal_(p, std=0.02)   # GPT-2's initialisation
        def forward(self, idx, targets):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
            for b in self.blocks: x = b(x)
            logits = self.head(self.ln_f(x))
            return F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))
    return GPT()


def time_reference(args, steps: int, warmup: int) -> dict:
    "nanoGPT-style loop at GPT-2 124M shapes: fused AdamW, compile, bf16 autocast, batch x grad-accum; tokens/s."
    import torch
    torch.manual_seed(0)
    T, B, A = 1024, args.batch_size, args.grad_accum
    model = reference_gpt(50304, T, 12, 768, 12).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    step_fn = model if args.no_compile else torch.compile(model)
    data = torch.randint(0, 50257, (A, B, T + 1), device='cuda')
    torch.cuda.synchronize()
    t0 = None
    for s in range(steps):
        if s == warmup:
            torch.cuda.synchronize()
            t0 = time.perf_counter()
        for m in range(A):
            with torch.autocast('cuda', dtype=torch.bfloat16): loss = step_fn(data[m, :, :-1], data[m, :, 1:]) / A
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return dict(tokens_per_s=(steps - warmup) * A * B * T / dt, step_ms=1e3 * dt / (steps - warmup),
                peak_memory_gb=torch.cuda.max_memory_allocated() / 2**30)


def run_gpu(args):
    import torch
    if not torch.cuda.is_available(): sys.exit("--gpu: no CUDA device is visible (torch.cuda.is_available() is False); run it on a GPU machine")
    name = torch.cuda.get_device_name(0)
    peak = args.peak_tflops or (989.0 if ('H100' in name or 'H200' in name) else 312.0 if 'A100' in name else 0.0)
    strategies = args.strategies.split(',') if args.strategies else ['uniform', 'toremi', 'loss', 'odm', 'doremi']
    L, dm, T = 12, 768, 1024
    n_params = sum(p.numel() for p in reference_gpt(50304, T, L, dm, 12).parameters()) - T * dm   # tied output counted once, no positions
    flops_per_token = 6*n_params + 12*L*dm*T
    rows = {}
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        setup(root, True, args)
        for s in strategies:
            torch.cuda.reset_peak_memory_stats()
            m = measure(bench_cfg(root, s, args.steps, True, args), root/'runs'/s, args.warmup)
            rows[s] = dict(tokens_per_s=round(m['tokens_per_s'], 1), step_ms=round(m['step_ms'], 2), strategy_ms_per_step=round(m['strategy_ms'], 3),
                           strategy_share=round(m['strategy_share'], 5), peak_memory_gb=round(torch.cuda.max_memory_allocated() / 2**30, 2))
            print(f"{s:13s} {m['tokens_per_s']:10.0f} tok/s  step {m['step_ms']:.1f} ms  strategy host {m['strategy_ms']:.3f} ms", flush=True)
    torch.cuda.reset_peak_memory_stats()
    ref = time_reference(args, args.steps, args.warmup)
    print(f"reference    {ref['tokens_per_s']:10.0f} tok/s  step {ref['step_ms']:.1f} ms  peak {ref['peak_memory_gb']:.1f} GB", flush=True)
    for s, r in rows.items():
        r['ratio_to_uniform'] = round(r['tokens_per_s'] / rows['uniform']['tokens_per_s'], 4) if 'uniform' in rows else None
        r['ratio_to_reference'] = round(r['tokens_per_s'] / ref['tokens_per_s'], 4)
        r['mfu'] = round(r['tokens_per_s'] * flops_per_token / (peak * 1e12), 4) if peak else None
    print(f"\ntoremi uniform / reference = {rows.get('uniform', {}).get('ratio_to_reference')}  (goal >= 0.95)")
    return dict(setup=dict(model=f'GPT-2 124M: 12 layers, d=768, 12 heads, vocab 50257 (padded to 50304), seq 1024, bf16, compile={not args.no_compile}',
                           batch=f'{args.batch_size} x grad_accum {args.grad_accum}', flops_per_token=flops_per_token, peak_tflops=peak,
                           steps=args.steps, warmup=args.warmup, device=device_info(True)),
                strategies=rows, reference=dict(ref, mfu=round(ref['tokens_per_s'] * flops_per_token / (peak * 1e12), 4) if peak else None))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--gpu', action='store_true')
    p.add_argument('--steps', type=int, default=0)
    p.add_argument('--warmup', type=int, default=0)
    p.add_argument('--rounds', type=int, default=3, help='before/after rounds (CPU)')
    p.add_argument('--strategy-rounds', type=int, default=1, help='rounds over every strategy (CPU)')
    p.add_argument('--strategies', default='')
    p.add_argument('--before', default='74c75f1', help='the commit to compare with (CPU)')
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--grad-accum', type=int, default=4)
    p.add_argument('--no-compile', action='store_true')
    p.add_argument('--peak-tflops', type=float, default=0.0)
    p.add_argument('--threads', type=int, default=1, help='torch CPU threads of each worker (CPU)')
    p.add_argument('--section', default='', help="the section of bench/results/train.json to write (default 'cpu' or 'gpu'), e.g. to keep a full run beside a longer before/after one")
    p.add_argument('--worker', help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print(json.dumps(worker(json.loads(a.worker))))
        return
    a.steps = a.steps or 60
    a.warmup = a.warmup or (20 if a.gpu else 10)
    if a.steps <= a.warmup + 1: sys.exit(f"--steps ({a.steps}) must exceed --warmup ({a.warmup}) + 1")
    t0 = time.time()
    res = run_gpu(a) if a.gpu else run_cpu(a)
    res['seconds'] = round(time.time() - t0, 1)
    res['date'] = time.strftime('%Y-%m-%d %H:%M')
    res['command'] = 'python bench/train.py ' + ' '.join(sys.argv[1:])
    print(f"wrote {write_results(a.section or ('gpu' if a.gpu else 'cpu'), res)} in {res['seconds']:.0f}s")


if __name__ == '__main__':
    main()
