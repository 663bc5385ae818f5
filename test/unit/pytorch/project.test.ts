/**
 * `sense export --pytorch`: the project trains under `torchrun --nproc_per_node 2` (gloo),
 * its weights load back into sense, and the model and the torch/torchaudio front end equal
 * what `sense run --json` and `sense features --json` compute on the same clips. Runs
 * Debian's /usr/bin/python3 (python3-torch, -torchaudio, -scipy, -numpy) and /usr/bin/torchrun;
 * a missing tool fails the test with its name.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../language/polyfills';
import { loadPipeline, UsageError } from '../../../cli/load';
import { run as exportCommand } from '../../../cli/commands/export';
import { run as featuresCommand } from '../../../cli/commands/features';
import { run as runCommand } from '../../../cli/commands/run';
import { PYTHON_SOURCES } from '../../../engine/pytorch/python-sources.generated';
import { pytorchProject } from '../../../engine/pytorch/project';
import { parseSafetensors } from '../../../engine/weights/safetensors';
import { checkWeights } from '../../../engine/weights/weights';
import { useTrainingBackend } from '../../../engine/train/backend';
import { readLabelledData } from '../../../engine/train/node-data';
import { trainPipeline } from '../../../engine/train/trainer';
import { mixAtSnr } from '../../../engine/train/signal';
import { readWavFile } from '../../../runtime/node-files';
import { toMonoAt } from '../../../runtime/resample';
import { PYTHON, runPython } from '../../support/python';
import { cli, maxScaledDiff, missingTools, runPredict, TORCHRUN } from './helpers';

const DATA = 'samples/data/deepear';

const CASES = [
  { name: 'the DeepEar sample (flatten, dense, four heads)', sense: 'samples/deepear/deepear.sense', weights: 'deepear.safetensors', deterministic: true },
  // Dropout masks and batchnorm's per-process batch statistics make this one differ from sense train by design.
  { name: 'a conv1d + batchnorm + pools + GRU pipeline on MFCC with deltas', sense: 'test/unit/pytorch/fixtures/convgru.sense', weights: 'convgru.safetensors', deterministic: false },
];

/** A few clips: two per label of the ambient and stress heads. */
function fewClips(dir: string): string[] {
  const clips: string[] = [];
  for (const head of ['ambient', 'stress']) {
    for (const label of readdirSync(join(DATA, head))) {
      mkdirSync(join(dir, head, label), { recursive: true });
      for (const f of readdirSync(join(DATA, head, label)).filter((n) => n.endsWith('.wav')).slice(0, 2)) {
        copyFileSync(join(DATA, head, label, f), join(dir, head, label, f));
        clips.push(join(dir, head, label, f));
      }
    }
  }
  return clips;
}

describe('sense export --pytorch', () => {
  it('has the Python tools it runs', () => {
    expect(missingTools() ?? 'all present').toBe('all present');
  });

  it('embeds the Python files as they are in engine/pytorch/python (node scripts/pytorch-sources.mjs)', () => {
    const dir = 'engine/pytorch/python';
    const files = readdirSync(dir).filter((f) => f.endsWith('.py') || f.endsWith('.md')).sort();
    expect(Object.keys(PYTHON_SOURCES).sort()).toEqual(files);
    for (const f of files) expect(PYTHON_SOURCES[f], f).toBe(readFileSync(join(dir, f), 'utf8'));
  });

  it('refuses a pipeline it cannot train, and a block named like a torch.nn.Module attribute, naming them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-pytorch-bad-'));
    try {
      const bad = join(dir, 'bad.sense');
      writeFileSync(
        bad,
        `pipeline Bad {
  input audio { rate 16 kHz  window 1 s }
  features { frames 25 ms hop 10 ms  logmel 8 bands }
  shared forward { flatten  dense 4 relu }
  head out from forward { dense 2 sigmoid }
  target snapdragon800
}
`,
      );
      const { spec } = await loadPipeline(bad);
      expect(() => pytorchProject(spec)).toThrow(/pipeline Bad:[\s\S]*head out ends in sigmoid[\s\S]*block 'forward' would shadow/);
      // Through the CLI both are usage errors (a message, exit 1, no stack trace), as is a project path that is a file.
      const ctx = { out: () => {}, err: () => {} };
      const refused = exportCommand([bad, '--pytorch', join(dir, 'p')], ctx);
      await expect(refused).rejects.toBeInstanceOf(UsageError);
      await expect(refused).rejects.toThrow(/cannot write a PyTorch project for pipeline Bad/);
      const file = join(dir, 'taken');
      writeFileSync(file, 'x');
      const onFile = exportCommand(['samples/deepear/deepear.sense', '--pytorch', file], ctx);
      await expect(onFile).rejects.toBeInstanceOf(UsageError);
      await expect(onFile).rejects.toThrow(`${file} exists and is not a folder`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the file and the fix for bad data, without a Python traceback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-pytorch-data-'));
    try {
      const project = join(dir, 'project');
      await cli(exportCommand, ['samples/deepear/deepear.sense', '--pytorch', project]);
      const clip = readdirSync(join(DATA, 'ambient', 'music'))[0];
      mkdirSync(join(dir, 'data', 'ambient', 'jazz'), { recursive: true });
      copyFileSync(join(DATA, 'ambient', 'music', clip), join(dir, 'data', 'ambient', 'jazz', clip));
      const wrongLabel = spawnSync(PYTHON, [join(project, 'train.py'), '--data', join(dir, 'data'), '--out', join(dir, 'w.safetensors')], { encoding: 'utf8', timeout: 300_000 });
      expect(wrongLabel.status).toBe(1);
      expect(wrongLabel.stderr).toMatch(/^error: .*ambient: folder 'jazz' is not a label of head ambient \(labels: music, traffic, voicing, other\)/m);
      expect(wrongLabel.stderr).not.toMatch(/Traceback/);
      const truncated = join(dir, 'short.wav');
      writeFileSync(truncated, readFileSync(join(DATA, 'ambient', 'music', clip)).subarray(0, 1000));
      const r = spawnSync(PYTHON, [join(project, 'predict.py'), truncated], { encoding: 'utf8', timeout: 300_000 });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`error: ${truncated}: chunk 'data' declares`);
      expect(r.stderr).not.toMatch(/Traceback/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);

  for (const c of CASES) {
    describe(c.name, () => {
      const dir = mkdtempSync(join(tmpdir(), 'sense-pytorch-'));
      const project = join(dir, 'project');
      const data = join(dir, 'data');
      const trained = join(dir, c.weights);
      const senseCopy = join(dir, basename(c.sense));
      let clips: string[] = [];
      let trainLog = '';

      beforeAll(async () => {
        const missing = missingTools();
        if (missing) throw new Error(missing);
        await cli(exportCommand, [c.sense, '--pytorch', project]);
        clips = fewClips(data);
        // Debian's torchrun 1.13 on Python 3.11 fails on its default --redirects (Std('0') is
        // no longer found by iterating the IntFlag), so stdout is redirected and teed.
        const r = spawnSync(TORCHRUN, ['--nproc_per_node', '2', '--redirects', '1', '--tee', '1', join(project, 'train.py'), '--data', data, '--epochs', '1', '--val', '0.25', '--out', trained], {
          cwd: dir,
          encoding: 'utf8',
          timeout: 600_000,
          env: { ...process.env, OMP_NUM_THREADS: '1' },
        });
        trainLog = `${r.stdout}\n${r.stderr}`;
        if (r.status !== 0) throw new Error(`torchrun failed (exit ${r.status}):\n${trainLog.slice(-3000)}`);
        copyFileSync(c.sense, senseCopy);
      }, 900_000);

      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('trains one epoch under torchrun --nproc_per_node 2 and writes weights that load back into the pipeline', async () => {
        expect(trainLog).toMatch(/2 process\(es\), backend gloo/);
        const record = JSON.parse(readFileSync(join(dir, c.weights.replace('.safetensors', '.training.json')), 'utf8')) as { epochs: { run: number }; backend: string; secondsPerEpoch: number[] };
        expect(record.epochs.run).toBe(1);
        expect(record.backend).toMatch(/DistributedDataParallel \(gloo, 2 processes\)/);
        const { spec } = await loadPipeline(senseCopy);
        const weights = parseSafetensors(readFileSync(trained), trained).tensors;
        expect(checkWeights(spec, weights, trained).warnings).toEqual([]);
        // Training moved every trainable tensor of the blocks the clips reach away from the
        // initial weights the project ships; heads without clips (DeepEar's emotion and speaker)
        // get zero gradients, which leave Adam's step at zero, so they keep them exactly.
        const initial = parseSafetensors(readFileSync(join(project, 'initial.safetensors')), 'initial').tensors;
        for (const [name, t] of weights) {
          if (/\.(mean|var|std)$/.test(name)) continue;
          const diff = maxScaledDiff(t.data, initial.get(name)!.data);
          if (/^(emotion|speaker)\./.test(name)) expect(diff, name).toBe(0);
          else expect(diff, name).toBeGreaterThan(1e-6);
        }
      });

      if (c.deterministic)
        it("trains as sense train does: one process and two give sense train's first epoch (split, start, normalisation, loss, Adam)", async () => {
          const alone = join(dir, 'alone.safetensors');
          const r = spawnSync(PYTHON, [join(project, 'train.py'), '--data', data, '--epochs', '1', '--val', '0.25', '--threads', '1', '--out', alone], { encoding: 'utf8', timeout: 600_000 });
          if (r.status !== 0) throw new Error(`train.py failed: ${r.stderr}`);
          const { spec } = await loadPipeline(senseCopy);
          await useTrainingBackend(spec);
          const ours = await trainPipeline(spec, readLabelledData(spec, data).examples, { epochs: 1, seed: 1, batchSize: 32, learningRate: 0.001, valFraction: 0.25, patience: 5 });
          const record = JSON.parse(readFileSync(join(dir, 'alone.training.json'), 'utf8')) as { trainWindows: number; valWindows: number; history: { valLoss: number }[] };
          expect([record.trainWindows, record.valWindows]).toEqual([ours.trainWindows, ours.valWindows]);
          expect(Math.abs(record.history[0].valLoss - ours.history[0].valLoss) / ours.history[0].valLoss).toBeLessThan(1e-4);
          // Adam's first step is lr * g / (|g| + 1e-7): where float rounding moves a gradient that
          // is itself near 1e-7 the step can differ by a fraction of lr (1e-3); everywhere else the
          // two trainers agree to float32 rounding. A different split, start, normalisation or head
          // weighting moves far more than one element in a thousand. Differences are relative above 1
          // (the log-mel means are about -10).
          for (const file of [alone, trained]) {
            const theirs = parseSafetensors(readFileSync(file), file).tensors;
            for (const [name, t] of ours.weights) {
              const d = Float64Array.from(t.data, (v, i) => Math.abs(v - theirs.get(name)!.data[i]) / Math.max(1, Math.abs(v))).sort();
              // The normalisation statistics sum features that two FFTs computed: a few float32 ulps apart.
              if (name.startsWith('features.')) expect(d[d.length - 1], `${basename(file)} ${name}`).toBeLessThan(1e-5);
              else expect(d[Math.floor(d.length * 0.999)], `${basename(file)} ${name}: 99.9th percentile of the difference`).toBeLessThan(1e-6);
              expect(d[d.length - 1], `${basename(file)} ${name}: largest difference`).toBeLessThan(5e-4);
            }
          }
        }, 600_000);

      if (c.deterministic)
        it("mixes noise as sense train's mixAtSnr does, and trains an epoch with --noise-dir and --snr", () => {
          const noiseDir = join(DATA, 'ambient', 'traffic');
          const noiseClip = join(noiseDir, readdirSync(noiseDir).filter((f) => f.endsWith('.wav'))[0]);
          const py = runPython<number[][]>(
            `import json, sys\nsys.path.insert(0, ${JSON.stringify(project)})\nfrom sense_data import mono_at, mix_at_snr\na = json.load(sys.stdin)\nclean, noise = mono_at(a['clean'], 16000), mono_at(a['noise'], 16000)[:5000]\nprint(json.dumps([mix_at_snr(clean, noise, s).tolist() for s in (0, 20)]))`,
            { clean: clips[0], noise: noiseClip },
          );
          const clean = toMonoAt(readWavFile(clips[0]), 16000);
          const noise = toMonoAt(readWavFile(noiseClip), 16000).subarray(0, 5000);
          [0, 20].forEach((snr, k) => expect(maxScaledDiff(py[k], mixAtSnr(clean, noise, snr)), `${snr} dB`).toBeLessThan(1e-6));
          const out = join(dir, 'noisy.safetensors');
          const r = spawnSync(PYTHON, [join(project, 'train.py'), '--data', data, '--epochs', '1', '--val', '0', '--noise-dir', noiseDir, '--snr', '0,10', '--noise-heads', 'stress', '--out', out], { encoding: 'utf8', timeout: 600_000 });
          if (r.status !== 0) throw new Error(`train.py --noise-dir failed: ${r.stderr}`);
          expect(r.stdout).toMatch(/noise: \d+ clips from .*traffic, mixed into stress at 0, 10 dB/);
          const record = JSON.parse(readFileSync(join(dir, 'noisy.training.json'), 'utf8')) as { noise: { snrDb: number[]; heads: string[] } };
          expect(record.noise).toMatchObject({ snrDb: [0, 10], heads: ['stress'] });
        }, 600_000);

      it("equals sense run --json's probabilities on the same clips within 1e-4", async () => {
        const some = [clips[0], clips[clips.length - 1]];
        const ours = JSON.parse(await cli(runCommand, [senseCopy, ...some, '--json'])) as { clips: { heads: Record<string, { probabilities: Record<string, number> }> }[] };
        const py = runPredict(project, trained, some, false);
        some.forEach((_, k) => {
          for (const [head, probs] of Object.entries(py.clips[k].heads)) {
            const labels = py.clips[k].labels[head];
            const sense = labels.map((l) => ours.clips[k].heads[head].probabilities[l]);
            expect(maxScaledDiff(probs, sense), `${head} on clip ${k}`).toBeLessThan(1e-4);
          }
        });
      });

      it('has a front end equal to sense features --json on every window of a clip within 1e-4 (relative above 1)', async () => {
        const clip = clips[1];
        const py = runPredict(project, trained, [clip], true).clips[0];
        for (let w = 0; w < py.windows.length; w++) {
          const ours = JSON.parse(await cli(featuresCommand, [senseCopy, clip, '--window', String(w), '--json'])) as { data: number[]; silent: boolean };
          expect(maxScaledDiff(py.windows[w].features!, ours.data), `window ${w}`).toBeLessThan(1e-4);
          expect(py.windows[w].silent).toBe(ours.silent);
        }
      });
    });
  }
});
