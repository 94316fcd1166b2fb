#!/usr/bin/env python3
"""Throughput model of synchronous data-parallel training on N machines (docs/scaling.md).

One step on P machines = compute (t_c, measured on one machine at batch b per machine)
+ gradient reduction (not overlapped with the backward pass, as descent does today):

  ring allreduce (Horovod, DDP, MPI_Allreduce for large messages):
      2 (P-1)/P * G / B  +  2 (P-1) * alpha
  descent's deterministic reduction (allgather, then every rank adds all P parts in rank order):
      (P-1) * G / B  +  (P-1) * alpha  +  P * n * s
  a deterministic reduce-scatter (alltoall of 1/P slices, each rank adds its slice's P parts in
  rank order, allgather of the summed slices): the bytes of a ring allreduce, and n adds:
      2 (P-1)/P * G / B  +  2 (P-1) * alpha  +  n * s

G: gradient bytes, n: gradient values, B: effective bandwidth (80 % of the line rate over TCP),
alpha: per-message latency, s: time to add one value into the sum (measured).

  /usr/bin/python3 bench/scaling_model.py [--tc-mlp MS] [--tc-lenet MS] [--alpha US] [--batch B]
"""
import argparse

p = argparse.ArgumentParser()
p.add_argument("--tc-mlp", type=float, default=0.726, help="MLP compute ms per step, batch 128 per machine (measured idle, both cores of the 2-core machine)")
p.add_argument("--tc-lenet", type=float, default=9.29, help="LeNet compute ms per step, batch 128 per machine (measured idle, both cores)")
p.add_argument("--alpha", type=float, default=25.0, help="latency per message, µs")
p.add_argument("--add-ns", type=float, default=0.097, help="ns per value added in the rank-order sum (measured: 19.7 µs for 2 × 101,770)")
p.add_argument("--batch", type=int, default=128, help="batch per machine (compute scales linearly from 128)")
p.add_argument("--efficiency", type=float, default=0.8, help="fraction of the line rate TCP delivers")
a = p.parse_args()

models = [("MLP 784-128-10", 101_770, a.tc_mlp * a.batch / 128), ("LeNet-5", 61_706, a.tc_lenet * a.batch / 128)]
links = [("10 GbE", 10e9), ("25 GbE", 25e9), ("100 GbE", 100e9)]
machines = [1, 2, 4, 8, 16, 32, 64]
batch = a.batch

for name, n, tc in models:
    G = 4 * n  # float32 bytes
    print(f"\n{name}: {n:,} parameters, gradient {G/1e3:.0f} KB, compute {tc:.3g} ms per step at batch {batch} per machine")
    print("| link | reduction | " + " | ".join(f"P={P}" for P in machines) + " |")
    print("|---|---|" + "---|" * len(machines))
    for lname, bits in links:
        B = a.efficiency * bits / 8  # bytes/s
        for rname in ("ring allreduce", "allgather + ordered sum", "ordered reduce-scatter"):
            cells = []
            for P in machines:
                if P == 1:
                    comm = 0.0
                elif rname == "ring allreduce":
                    comm = 2 * (P - 1) / P * G / B + 2 * (P - 1) * a.alpha * 1e-6
                elif rname == "ordered reduce-scatter":
                    comm = 2 * (P - 1) / P * G / B + 2 * (P - 1) * a.alpha * 1e-6 + n * a.add_ns * 1e-9
                else:
                    comm = (P - 1) * G / B + (P - 1) * a.alpha * 1e-6 + P * n * a.add_ns * 1e-9
                step = tc * 1e-3 + comm
                speedup = P * tc * 1e-3 / step
                cells.append(f"{speedup:.1f}× ({100*speedup/P:.0f}%)")
            print(f"| {lname} | {rname} | " + " | ".join(cells) + " |")
