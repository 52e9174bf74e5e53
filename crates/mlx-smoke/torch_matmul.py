"""cuBLAS reference for mlx-smoke's GPU figure: the same n x n x n matmul in
PyTorch (which calls cuBLAS), timed the same way (one warm-up, then `iters`
products, each waited for). Run right after mlx-smoke, in the same call.

    python3 crates/mlx-smoke/torch_matmul.py [n] [iters] [dtype]
"""
import sys
import time

import torch

n = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
iters = int(sys.argv[2]) if len(sys.argv) > 2 else 10
dtype = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[
    sys.argv[3] if len(sys.argv) > 3 else "bf16"
]
a = torch.randn(n, n, device="cuda").to(dtype)
b = torch.randn(n, n, device="cuda").to(dtype)
(a @ b)
torch.cuda.synchronize()
start = time.perf_counter()
for _ in range(iters):
    (a @ b)
    torch.cuda.synchronize()
seconds = time.perf_counter() - start
flops = 2 * n**3 * iters / seconds
print(f"torch {torch.__version__} matmul {n}x{n}x{n} {dtype} on {torch.cuda.get_device_name()}: "
      f"{flops / 1e12:.1f} TFLOP/s, {seconds / iters * 1e3:.3f} ms each")
