"""PyTorch reference for the throughput benchmark (run by run.ts in .cache/bench-venv).

Usage: python pytorch_dlrm.py '<Workload JSON>'  (see workload.ts)

The DLRM reference Criteo Kaggle model written the way PyTorch users write it: one
nn.EmbeddingBag(mode='sum', sparse=True) per table, bottom MLP 13-512-256-64-16 (ReLU),
pairwise dot interaction (strictly lower triangle, 16 + 351 = 367 wide), top MLP
367-512-256-1, BCE with logits, torch.optim.SGD over dense and sparse gradients. Times full
training steps on synthetic batches made before the clock starts; prints one
THROUGHPUT_RESULT line of JSON.
"""

import json
import math
import sys
import time

import torch
from torch import nn

NUM_DENSE = 13
NUM_TABLES = 26
DIM = 16
BOTTOM = [512, 256, 64, 16]
TOP = [512, 256, 1]
LR = 0.1
RESULT_PREFIX = "THROUGHPUT_RESULT "


def mlp(widths_in: int, widths: list[int], last_relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k, out in enumerate(widths):
        layers.append(nn.Linear(widths_in, out))
        if k < len(widths) - 1 or last_relu:
            layers.append(nn.ReLU())
        widths_in = out
    return nn.Sequential(*layers)


class Dlrm(nn.Module):
    """Sparse arch, dense arch, interaction arch, over arch (TorchRec's decomposition)."""

    def __init__(self, table_rows: int) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.EmbeddingBag(table_rows, DIM, mode="sum", sparse=True) for _ in range(NUM_TABLES)
        )
        bound = math.sqrt(1.0 / table_rows)
        for e in self.embeddings:
            nn.init.uniform_(e.weight, -bound, bound)
        self.bottom = mlp(NUM_DENSE, BOTTOM, last_relu=True)
        pairs = (NUM_TABLES + 1) * NUM_TABLES // 2
        self.top = mlp(DIM + pairs, TOP, last_relu=False)
        li, lj = torch.tril_indices(NUM_TABLES + 1, NUM_TABLES + 1, offset=-1)
        self.register_buffer("li", li, persistent=False)
        self.register_buffer("lj", lj, persistent=False)

    def forward(self, dense: torch.Tensor, sparse: list[torch.Tensor], offsets: torch.Tensor):
        x = self.bottom(dense)  # [B, D]
        ly = [e(idx, offsets) for e, idx in zip(self.embeddings, sparse)]  # F × [B, D]
        t = torch.stack([x, *ly], dim=1)  # [B, F+1, D]
        z = torch.bmm(t, t.transpose(1, 2))  # [B, F+1, F+1]
        r = torch.cat([x, z[:, self.li, self.lj]], dim=1)  # [B, D + (F+1)F/2]
        return self.top(r)  # [B, 1]


def synthetic_batch(size: int, table_rows: int, gen: torch.Generator):
    dense = torch.rand(size, NUM_DENSE, generator=gen)
    sparse = [torch.randint(0, table_rows, (size,), generator=gen) for _ in range(NUM_TABLES)]
    labels = (torch.rand(size, 1, generator=gen) < 0.25).float()
    return dense, sparse, torch.arange(size), labels


def main() -> None:
    w = json.loads(sys.argv[1])
    torch.set_num_threads(w["threads"])
    torch.set_num_interop_threads(1)
    torch.manual_seed(w["seed"])
    gen = torch.Generator().manual_seed(w["seed"])
    model = Dlrm(w["tableRows"])
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.BCEWithLogitsLoss()

    def step(batch) -> None:
        dense, sparse, offsets, labels = batch
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(dense, sparse, offsets), labels)
        loss.backward()
        opt.step()
        loss.item()  # the product syncs its loss every step too

    results = []
    for size in w["batches"]:
        batches = [synthetic_batch(size, w["tableRows"], gen) for _ in range(w["distinctBatches"])]
        for k in range(w["warmupSteps"]):
            step(batches[k % len(batches)])
        step_ms: list[float] = []
        cpu_start = time.process_time()
        start = time.perf_counter()
        while len(step_ms) < w["minSteps"] or time.perf_counter() - start < w["minSeconds"]:
            t0 = time.perf_counter()
            step(batches[len(step_ms) % len(batches)])
            step_ms.append((time.perf_counter() - t0) * 1000)
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        results.append(
            {
                "batch": size,
                "steps": len(step_ms),
                "seconds": seconds,
                "samplesPerSecond": len(step_ms) * size / seconds,
                "cpuSeconds": cpu_seconds,
                "stepMs": step_ms,
            }
        )
    info = {"backend": f"torch {torch.__version__}", "threads": torch.get_num_threads()}
    print(RESULT_PREFIX + json.dumps({**info, "results": results}), flush=True)


if __name__ == "__main__":
    main()
