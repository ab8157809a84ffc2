#!/usr/bin/python3
"""Helpers of bench/crosscheck.sh and bench/bench_cell.sh (Python standard
library only).

  cell_util.py grid PLAN.json CELL OUTDIR
      picks one cell (label or 0-based index; "" when the grid has one) of
      `runner plan --json` output and writes OUTDIR/cell.toml, a one-cell
      grid named "crosscheck" with every setting of the cell in [base], and
      OUTDIR/cell.json, the cell for torch_reference_cell.py. Protocols
      other than the linear probe (eval = "finetune") are dropped on both
      sides, with a note on stderr. Prints the cell's label.
  cell_util.py same A.json B.json
      fails unless the cells (a cell, or the first of a plan --json array)
      have equal configs, seed aside.
  cell_util.py go DB SEED
      prints Go's run of the seed ("" = the latest run) in DB as one JSON
      line (the runs, evaluations and metrics tables of store/schema.md).
  cell_util.py crosscheck OUTDIR SEED...
      prints the side-by-side table of OUTDIR/go.SEED.json and
      OUTDIR/torch.SEED.json.
  cell_util.py bench OUTDIR RUNS
      prints the timing summary of OUTDIR/{go,torch}.RUN.json and
      OUTDIR/{go,torch}.RUN.wall.
"""
import json
import os
import sqlite3
import statistics
import sys


def die(msg, code=2):
    print(f"cell_util: {msg}", file=sys.stderr)
    sys.exit(code)


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    die(f"cannot write {v!r} as TOML")


def cmd_grid(plan, cell, outdir):
    with open(plan) as f:
        cells = json.load(f)
    labels = [json.dumps(x) for x in sorted({c["label"] for c in cells})]
    if cell == "":
        if len({c["hash"] for c in cells}) != 1:
            die(f"{plan}: {len(labels)} cells, choose one with CELL=LABEL or CELL=INDEX (labels: {', '.join(labels)})")
        pick = cells[0]
    else:
        match = [c for c in cells if c["label"] == cell] or \
                ([c for c in cells if c["index"] == int(cell)] if cell.isdigit() else [])
        if not match:
            die(f"CELL={cell!r}: no such cell (labels: {', '.join(labels)})")
        pick = match[0]
    cfg = dict(pick["config"])
    if cfg["eval"] != ["linear"]:
        if "linear" not in cfg["eval"]:
            die(f"cell {pick['label']!r}: eval {cfg['eval']} has no linear probe to compare")
        print(f"cell_util: note: eval {cfg['eval']} -> [\"linear\"] on both sides (PyTorch replicates the linear probe only)",
              file=sys.stderr)
        cfg["eval"] = ["linear"]
    lines = ['name = "crosscheck"',
             f"description = {json.dumps('one cell of a grid, run in Go and in PyTorch: ' + pick['label'])}",
             f"seeds = [{int(cfg['seed'])}]", "", "[base]"]
    for k, v in cfg.items():
        if v is None or k == "seed":
            continue
        lines.append(f"{k} = {toml_value(v)}")
    lines += ["", "[[variant]]", f"label = {json.dumps(pick['label'] or 'cell')}", ""]
    with open(os.path.join(outdir, "cell.toml"), "w") as f:
        f.write("\n".join(lines))
    pick = dict(pick, config=cfg)
    with open(os.path.join(outdir, "cell.json"), "w") as f:
        json.dump(pick, f, indent=1)
    print(pick["label"])


def cmd_same(a, b):
    def first(path):
        with open(path) as f:
            doc = json.load(f)
        return dict((doc[0] if isinstance(doc, list) else doc)["config"])

    ca, cb = first(a), first(b)
    ca.pop("seed", None)
    cb.pop("seed", None)
    diff = sorted(k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k))
    if diff:
        die(f"the one-cell grid resolves to other settings than the cell: {', '.join(diff)}", 1)


def cmd_go(db, seed):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    cols = ("SELECT id, status, error, final_loss, pretrain_s, eval_s, duration_s, dataset_checksum, "
            "gomaxprocs, config_hash, seed FROM runs")
    if seed == "":
        row = con.execute(cols + " ORDER BY id DESC LIMIT 1").fetchone()
    else:
        row = con.execute(cols + " WHERE seed = ? ORDER BY id DESC LIMIT 1", (int(seed),)).fetchone()
    if row is None:
        die(f"{db}: no run of seed {seed}", 1)
    keys = ["run_id", "status", "error", "final_loss", "pretrain_s", "eval_s", "duration_s", "dataset_checksum",
            "gomaxprocs", "config_hash", "seed"]
    res = dict(zip(keys, row), impl="go")
    evals = con.execute("SELECT features, accuracy, macro_f1, train_size, test_size, seconds FROM evaluations "
                        "WHERE run_id = ? AND protocol = 'linear' ORDER BY id", (res["run_id"],)).fetchall()
    res["evaluations"] = [dict(zip(["features", "accuracy", "macro_f1", "train_size", "test_size", "seconds"], e))
                          for e in evals]
    first = next((e for e in res["evaluations"] if e["features"] in ("h", "pixels")), None)
    if first:
        res["linear_acc"], res["linear_f1"] = first["accuracy"], first["macro_f1"]
    loss = con.execute("SELECT value FROM metrics WHERE run_id = ? AND key = 'loss' AND step = 0 ORDER BY epoch",
                       (res["run_id"],)).fetchall()
    res["epoch_loss"] = [v for (v,) in loss]
    if not res["epoch_loss"]:
        res["final_loss"] = None  # no pretraining (random-init, raw-pixels)
    print(json.dumps(res))


def load(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError) as e:
        die(f"{path}: {e}", 1)


def fmt(v, spec=".4f"):
    return "-" if v is None else format(v, spec)


def cmd_crosscheck(outdir, seeds):
    print(f"{'seed':>4}  {'go acc':>7} {'go F1':>7} {'go loss':>8}  {'torch acc':>9} {'torch F1':>8} "
          f"{'torch loss':>10}  {'F1 torch-go':>11}")
    diffs = []
    for s in seeds:
        g, t = load(os.path.join(outdir, f"go.{s}.json")), load(os.path.join(outdir, f"torch.{s}.json"))
        d = None
        if g.get("linear_f1") is not None and t.get("linear_f1") is not None:
            d = t["linear_f1"] - g["linear_f1"]
            diffs.append(d)
        print(f"{s:>4}  {fmt(g.get('linear_acc')):>7} {fmt(g.get('linear_f1')):>7} {fmt(g.get('final_loss')):>8}  "
              f"{fmt(t.get('linear_acc')):>9} {fmt(t.get('linear_f1')):>8} {fmt(t.get('final_loss')):>10}  "
              f"{fmt(d, '+.4f'):>11}")
        if g.get("status") != "finished":
            print(f"      go run {g.get('run_id')}: {g.get('status')}: {g.get('error')}")
        if t.get("dataset_checksum"):
            same = "identical" if t["dataset_checksum"] == g.get("dataset_checksum") else "DIFFERENT"
            print(f"      data: {same} (go {g.get('dataset_checksum')}, torch {t['dataset_checksum']})")
    if diffs:
        print(f"mean F1 difference torch-go over {len(diffs)} seed(s): {statistics.mean(diffs):+.4f}"
              + (f" (sd {statistics.stdev(diffs):.4f})" if len(diffs) > 1 else ""))


def cmd_bench(outdir, runs):
    walls = {"go": [], "torch": []}
    parts = {"go": {"pretrain_s": [], "eval_s": []}, "torch": {"pretrain_s": [], "eval_s": []}}
    f1 = {"go": [], "torch": []}
    for r in range(1, int(runs) + 1):
        for impl in ("go", "torch"):
            with open(os.path.join(outdir, f"{impl}.{r}.wall")) as f:
                walls[impl].append(float(f.read()))
            res = load(os.path.join(outdir, f"{impl}.{r}.json"))
            for k in parts[impl]:
                if res.get(k) is not None:
                    parts[impl][k].append(res[k])
            if res.get("linear_f1") is not None:
                f1[impl].append(res["linear_f1"])
    med = {k: statistics.median(v) for k, v in walls.items()}
    for impl in ("go", "torch"):
        p = parts[impl]
        print(f"{impl:5s}  wall median {med[impl]:7.1f} s  (pretrain {fmt(statistics.median(p['pretrain_s']) if p['pretrain_s'] else None, '.1f')} s, "
              f"eval {fmt(statistics.median(p['eval_s']) if p['eval_s'] else None, '.1f')} s, "
              f"linear F1 {fmt(statistics.median(f1[impl]) if f1[impl] else None)})")
    print(f"torch/go wall {med['torch'] / med['go']:.2f}x", end="")
    pg, pt = parts["go"]["pretrain_s"], parts["torch"]["pretrain_s"]
    if pg and pt:
        print(f", pretraining {statistics.median(pt) / statistics.median(pg):.2f}x", end="")
    print("  (above 1: Go is faster)")


def main():
    if len(sys.argv) < 2:
        die("usage: cell_util.py grid|same|go|crosscheck|bench ...")
    cmd, args = sys.argv[1], sys.argv[2:]
    want = {"grid": 3, "same": 2, "go": 2, "bench": 2}
    if cmd in want and len(args) != want[cmd] or cmd == "crosscheck" and len(args) < 2:
        die(f"{cmd}: wrong number of arguments (see the header of bench/cell_util.py)")
    {"grid": cmd_grid, "same": cmd_same, "go": cmd_go, "crosscheck": lambda o, *s: cmd_crosscheck(o, s),
     "bench": cmd_bench}.get(cmd, lambda *a: die(f"unknown command {cmd!r}"))(*args)


if __name__ == "__main__":
    main()
