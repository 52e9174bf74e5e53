#!/usr/bin/env python3
"""Where one training step's GPU time goes, from an Nsight Compute CSV.

The CSV is what `ncu --metrics gpu__time_duration.sum --csv --log-file F`
writes for a window of kernel launches (the command is in
examples/mlx_lora_finetuning/RESULTS.md). A step runs from one launch of the
marker kernel (the loss's softmax over the logits, once per step) to the
next; every whole step in the window is summed, and each kernel is put in the
first class whose pattern its name matches.

    scripts/ncu-step-profile.py ncu.csv [MARKER_REGEX]
"""
import collections
import csv
import re
import sys

CLASSES = [
    ("matmul, bf16 (cuBLAS)", r"nvjet|gemm.*bf16|xmma"),
    ("matmul, f32 adapters (TF32 cutlass, split-K reduce)", r"cutlass|splitKreduce"),
    ("attention (cuDNN flash, forward and backward)", r"cudnn"),
    ("RMSNorm weight gradient (column reduction)", r"col_reduce"),
    ("RMSNorm forward and input gradient", r"rms_norm"),
    ("RoPE", r"rope"),
    ("casts between f32 and bf16", r"copy_v<float, __nv_bfloat16|copy_v<__nv_bfloat16, float"),
    ("loss over the logits (softmax, logsumexp, gather, scatter)", r"softmax|logsumexp|binary_g_nd|copy_s|scatter|gather"),
    ("bf16 elementwise (SwiGLU, residual adds)", r"__nv_bfloat16"),
    ("f32 elementwise (optimizer, gradient weighting)", r"float"),
]


def main():
    path = sys.argv[1]
    marker = re.compile(sys.argv[2] if len(sys.argv) > 2 else r"softmax<float")
    with open(path) as f:
        rows = [
            r
            for r in csv.DictReader(line for line in f if not line.startswith("=="))
            if r["Metric Name"] == "gpu__time_duration.sum"
        ]
    names = [r["Kernel Name"] for r in rows]
    nanos = [float(r["Metric Value"].replace(",", "")) for r in rows]
    marks = [i for i, n in enumerate(names) if marker.search(n)]
    if len(marks) < 2:
        sys.exit(f"{path}: fewer than two launches match {marker.pattern!r}: no whole step in the window")
    first, last, steps = marks[0], marks[-1], len(marks) - 1
    for a, b in zip(marks, marks[1:]):
        print(f"step: {b - a} kernels, {sum(nanos[a:b]) / 1e6:.2f} ms of kernel time")
    totals = collections.OrderedDict((label, [0, 0.0]) for label, _ in CLASSES + [("other", "")])
    for name, ns in zip(names[first:last], nanos[first:last]):
        label = next((label for label, rx in CLASSES if re.search(rx, name)), "other")
        totals[label][0] += 1
        totals[label][1] += ns
    whole = sum(nanos[first:last])
    print(f"\nper step, mean of {steps}: {(last - first) / steps:.0f} kernels, {whole / steps / 1e6:.2f} ms\n")
    print("| kernels | launches per step | ms per step | share of kernel time |")
    print("| --- | --- | --- | --- |")
    for label, (count, ns) in totals.items():
        if count:
            print(f"| {label} | {count / steps:.0f} | {ns / steps / 1e6:.2f} | {100 * ns / whole:.1f}% |")


if __name__ == "__main__":
    main()
