#!/usr/bin/env python3
"""Writes a C module with about 50,000 relocations: many small functions that
read ordinary globals, call each other and libc, and bump per-CPU counters."""
import sys

out = sys.argv[1]
functions = int(sys.argv[2]) if len(sys.argv) > 2 else 2500
lines = ["#include <percpu/linux.h>", "#include <string.h>"]
for i in range(64):
    lines.append(f"DEFINE_PER_CPU(long, big_pcpu{i});")
    lines.append(f"long big_data{i} = {i};")
lines.append("long big_f0(long x) { return x; }")
for f in range(1, functions):
    body = [f"long s = big_f{f - 1}(x);"]
    for k in range(4):
        j = (f * 7 + k * 13) % 64
        body.append(f"s += big_data{j};")
        body.append(f"this_cpu_add(big_pcpu{(j + k) % 64}, 1);")
    body.append("if (s == 42) memset(&s, 0, sizeof(s));")
    body.append("return s;")
    lines.append(f"long big_f{f}(long x) {{ {' '.join(body)} }}")
open(out, "w").write("\n".join(lines) + "\n")
