#!/usr/bin/env python3
"""Magnitude pruning as an Agent Forge command executor (Python 3, standard library only).

Reads the previous phase's `model` input, zeroes the smallest-magnitude `target_sparsity` share of
every weight matrix (embeddings and thought tokens are kept), writes the pruned model to its
output directory and reports it as the `model` artifact. Every reported number is measured on the
files and tensors it wrote: sparsity is counted, sizes are the files' byte sizes. It does not
evaluate quality (it has no data); the engine re-evaluates the output model itself.

Config (`config.<phase>`): target_sparsity (0..1, default 0.5).
Protocol: start context from $AGENT_FORGE_CONTEXT; JSON lines on stdout; `pause`/`stop` on stdin.
"""
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import afmodel  # noqa: E402

MB = 1024 * 1024
KEEP_DENSE = {"embed", "thought.tokens"}


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


control = {"pause": False, "stop": False}


def read_control():
    for line in sys.stdin:
        word = line.strip()
        if word in control:
            control[word] = True


def prune(values, sparsity):
    """Zero the k smallest |w| (k = round(n * sparsity)); returns how many are zero afterwards."""
    n = len(values)
    k = round(n * sparsity)
    for i in sorted(range(n), key=lambda j: abs(values[j]))[:k]:
        values[i] = 0.0
    return sum(1 for v in values if v == 0.0)


def main():
    with open(os.environ["AGENT_FORGE_CONTEXT"]) as f:
        ctx = json.load(f)
    threading.Thread(target=read_control, daemon=True).start()
    if "model" not in ctx["inputs"]:
        sys.stderr.write("prune.py needs a previous phase that produced a `model` artifact\n")
        sys.exit(2)
    target = float(ctx["config"].get("target_sparsity", 0.5))
    if not 0.0 <= target < 1.0:
        sys.stderr.write(f"target_sparsity must be in [0, 1), got {target}\n")
        sys.exit(2)

    src = ctx["inputs"]["model"]["path"]
    header, tensors = afmodel.load(src)
    targets = [e["name"] for e in header["tensors"] if len(e["shape"]) == 2 and e["name"] not in KEEP_DENSE]
    resume = ctx["resume_state"] or {}
    # Pruning is deterministic, so the checkpoint is the number of matrices done; a restart redoes
    # the finished ones from the input (cheap) instead of carrying weights in the checkpoint.
    resumed_from = int(resume.get("tensors_done", 0))
    send({"type": "log", "level": "info", "message": f"pruning {len(targets)} matrices of {src} to sparsity {target}; resuming at {resumed_from}"})

    zeros = total = 0
    for i, name in enumerate(targets):
        if i >= resumed_from and control["pause"]:
            send({"type": "checkpoint", "state": {"tensors_done": i}})
            return
        if control["stop"]:
            return
        zeros += prune(tensors[name], target)
        total += len(tensors[name])
        if i >= resumed_from:
            send({"type": "progress", "percent": 90 * (i + 1) / len(targets), "message": f"pruned {name}", "metrics": {"tensors_done": i + 1}})
            send({"type": "checkpoint", "state": {"tensors_done": i + 1}})

    out = os.path.join(ctx["output_dir"], "model.bin")
    afmodel.save(out, header, tensors, {**header.get("meta", {}), "pruned_by": "examples/executors/prune.py", "target_sparsity": target})
    send({"type": "artifact", "name": "model", "path": "model.bin"})

    all_params = sum(len(t) for t in tensors.values())
    all_zeros = sum(1 for t in tensors.values() for v in t if v == 0.0)
    in_bytes, out_bytes = os.path.getsize(src), os.path.getsize(out)
    send({"type": "result", "metrics": {
        "target_sparsity": target,
        "sparsity_ratio": zeros / total if total else 0.0,
        "overall_sparsity": all_zeros / all_params if all_params else 0.0,
        "tensors_pruned": len(targets),
        "weights_pruned": zeros,
        "original_size_bytes": in_bytes,
        "compressed_size_bytes": out_bytes,
        "original_size_mb": in_bytes / MB,
        "compressed_size_mb": out_bytes / MB,
        "total_compression_ratio": in_bytes / out_bytes,
        "resumed_from_tensor": resumed_from,
    }})


if __name__ == "__main__":
    main()
