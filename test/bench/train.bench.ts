/**
 * Training time per epoch of the DeepEar sample (samples/deepear/deepear.sense, as written,
 * and with the 256-wide encoder proposed for committed weights) on the committed synthetic
 * clips (samples/data/deepear, 68 one-second windows), with `sense train`'s trainer on tfjs's
 * wasm backend, batch 32, Adam. Reference measured in the same run: PyTorch (Debian's
 * python3-torch, CPU, one thread) training the same multi-head MLP on as many random
 * windows. Prints medians per epoch and per 1000 windows, and the ratio to PyTorch.
 * Next to them, the project `sense export --pytorch` writes, trained on the same clips with
 * the same epoch (training steps plus the evaluation of the training set, no held-out set):
 * alone on one thread, and under `torchrun --nproc_per_node 2` with one thread per process;
 * its times are train.py's own `secondsPerEpoch`, so process start-up is not counted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import '../../language/polyfills';
import { loadPipeline } from '../../cli/load';
import { useTrainingBackend } from '../../engine/train/backend';
import { readLabelledData } from '../../engine/train/node-data';
import { trainPipeline } from '../../engine/train/trainer';
import { writePytorchProject } from '../../engine/pytorch/node-project';
import { pytorchProject } from '../../engine/pytorch/project';
import type { PipelineSpec } from '../../language/pipeline-model';
import { PYTHON } from '../support/python';
import { report } from './util';

const EPOCHS = 3;

function torchEpochMs(spec: PipelineSpec, windows: number): number {
  const heads = spec.blocks.filter((b) => b.kind === 'head').map((b) => ({ hidden: b.layers[0].units, out: b.outputShape[0] }));
  const enc = spec.blocks.find((b) => b.name === 'encoder')!.layers.filter((l) => l.kind === 'dense').map((l) => l.units);
  const script = `
import json, time, torch
torch.set_num_threads(1); torch.manual_seed(0)
enc, heads, n, d = ${JSON.stringify(enc)}, ${JSON.stringify(heads)}, ${windows}, ${spec.features.outputShape.reduce((a, b) => a * b, 1)}
layers, w = [], d
for u in enc: layers += [torch.nn.Linear(w, u), torch.nn.ReLU()]; w = u
body = torch.nn.Sequential(*layers)
hs = torch.nn.ModuleList([torch.nn.Sequential(torch.nn.Linear(w, h['hidden']), torch.nn.ReLU(), torch.nn.Linear(h['hidden'], h['out'])) for h in heads])
params = list(body.parameters()) + list(hs.parameters())
opt = torch.optim.Adam(params, 1e-3)
X = torch.randn(n, d); ys = [torch.randint(0, h['out'], (n,)) for h in heads]
times = []
for e in range(${EPOCHS}):
    t = time.perf_counter()
    perm = torch.randperm(n)
    for s in range(0, n, 32):
        idx = perm[s:s + 32]; opt.zero_grad(); z = body(X[idx])
        loss = sum(torch.nn.functional.cross_entropy(h(z), y[idx]) for h, y in zip(hs, ys))
        loss.backward(); opt.step()
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps(sorted(times)[len(times) // 2]))
`;
  const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
  if (r.status !== 0) throw new Error(`torch reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as number;
}

/** Median epoch of the exported PyTorch project on the sample clips, alone or under torchrun with `processes` processes. */
function projectEpochMs(spec: PipelineSpec, processes: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'sense-pytorch-bench-'));
  try {
    writePytorchProject(dir, pytorchProject(spec));
    const train = [join(dir, 'train.py'), '--data', 'samples/data/deepear', '--epochs', String(EPOCHS), '--patience', String(EPOCHS), '--val', '0', '--threads', '1', '--out', join(dir, 'w.safetensors')];
    // Debian's torchrun 1.13 on Python 3.11 fails on its default --redirects; see README "Train with PyTorch".
    const [cmd, args] = processes === 1 ? [PYTHON, train] : ['/usr/bin/torchrun', ['--nproc_per_node', String(processes), '--redirects', '1', '--tee', '1', ...train]];
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } });
    if (r.status !== 0) throw new Error(`PyTorch project failed: ${r.stderr}${r.stdout}`);
    const secs = (JSON.parse(readFileSync(join(dir, 'w.training.json'), 'utf8')) as { secondsPerEpoch: number[] }).secondsPerEpoch.sort((a, b) => a - b);
    return secs[Math.floor(secs.length / 2)] * 1000;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function bench(label: string, path: string): Promise<void> {
  const { spec } = await loadPipeline(path);
  await useTrainingBackend(spec);
  const data = readLabelledData(spec, 'samples/data/deepear');
  const r = await trainPipeline(spec, data.examples, { epochs: EPOCHS, seed: 1, batchSize: 32, learningRate: 0.001, valFraction: 0, patience: EPOCHS });
  const times = r.history.map((h) => h.seconds * 1000).sort((a, b) => a - b);
  const ours = times[Math.floor(times.length / 2)];
  const torch = torchEpochMs(spec, r.trainWindows);
  const params = spec.blocks.flatMap((b) => b.layers).reduce((a, l) => a + l.params, 0);
  report(`${label}: ${(params / 1e6).toFixed(2)} M params, epoch of ${r.trainWindows} windows`, ours, `= ${((ours * 1000) / r.trainWindows / 1000).toFixed(1)} s per 1000 windows; torch CPU 1 thread ${torch.toFixed(1)} ms, ratio ${(ours / torch).toFixed(2)}x`);
  for (const processes of [1, 2]) {
    const ms = projectEpochMs(spec, processes);
    report(`  sense export --pytorch project, ${processes === 1 ? 'python, 1 thread' : `torchrun ${processes} processes x 1 thread`}`, ms, `sense train / project = ${(ours / ms).toFixed(2)}x`);
  }
}

/** Runs the benchmark. */
export async function run(): Promise<void> {
  await bench('DeepEar sample, tfjs wasm', 'samples/deepear/deepear.sense');
  const small = join(tmpdir(), `deepear-256-${process.pid}.sense`);
  writeFileSync(small, readFileSync('test/unit/train/fixtures/deepear-small.sense', 'utf8'));
  await bench('DeepEar encoder 256 (proposed), tfjs wasm', small);
}
