/**
 * The benchmark's Python environment: a venv under .cache/bench-venv with PyTorch from the Python
 * package index. PyPI's Linux `torch` wheel is the CUDA build; even on CPU its libraries
 * (libtorch_cpu.so needs libcudart and libcupti, libtorch_cuda.so is always loaded) need the
 * nvidia-* runtime wheels, so `torch` is installed with its dependencies (~5 GB on disk) — the
 * CPU-only wheels live on a separate index that these machines cannot reach. Triton (only used
 * by torch.compile) is part of that set; the benchmark runs eager mode.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The newest PyTorch on the package index when the benchmark was written. */
export const TORCH_VERSION = '2.15.0';

function sh(cmd: string, args: readonly string[]): { ok: boolean; out: string } {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ok: res.status === 0, out: `${res.stdout ?? ''}${res.stderr ?? ''}` };
}

/**
 * Creates (once) the venv with torch and returns its python. Idempotent: a stamp file records
 * the installed version.
 * @throws Error naming the failed step and the tail of its output.
 */
export function ensureTorchVenv(root: string): string {
  const venv = path.join(root, '.cache', 'bench-venv');
  const python = path.join(venv, 'bin', 'python');
  const stamp = path.join(venv, '.agp-torch');
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === TORCH_VERSION) return python;
  const step = (name: string, cmd: string, args: readonly string[]): void => {
    process.stdout.write(`bench:throughput: ${name}\n`);
    const res = sh(cmd, args);
    if (!res.ok) {
      throw new Error(
        `${name} failed: ${cmd} ${args.join(' ')}\n${res.out.trim().split('\n').slice(-15).join('\n')}`,
      );
    }
  };
  if (!fs.existsSync(python)) step(`creating ${venv}`, 'python3', ['-m', 'venv', venv]);
  step(`installing torch==${TORCH_VERSION} into ${venv} (several GB, once)`, python, [
    '-m',
    'pip',
    'install',
    '--disable-pip-version-check',
    `torch==${TORCH_VERSION}`,
  ]);
  step('checking that torch imports', python, ['-c', 'import torch; torch.ones(1).sum().item()']);
  fs.writeFileSync(stamp, TORCH_VERSION);
  return python;
}
