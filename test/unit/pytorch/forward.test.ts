/**
 * The PyTorch project's model and front end against `sense run --json` and `sense features
 * --json`, without training: pipelines with the feature steps and layers the training tests
 * do not reach (explicit FFT size, fmin/fmax, a deltas step, frame stacking, LSTM, strided
 * and global pools, every inertial statistic, magnitude and barometer axes, CSV time
 * interpolation), on the project's initial weights, and the watch sample on its committed
 * weights. Needs Debian's /usr/bin/python3 with python3-torch, -torchaudio, -scipy, -numpy.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../../language/polyfills';
import { run as exportCommand } from '../../../cli/commands/export';
import { run as featuresCommand } from '../../../cli/commands/features';
import { run as runCommand } from '../../../cli/commands/run';
import { cli, maxScaledDiff, missingTools, runPredict } from './helpers';

const CASES = [
  { sense: 'test/unit/pytorch/fixtures/stack-lstm.sense', weights: 'stack-lstm.safetensors', clips: 'samples/data/deepear/ambient/traffic', committed: false },
  { sense: 'test/unit/pytorch/fixtures/inertial-stats.sense', weights: 'inertial-stats.safetensors', clips: 'samples/data/watch/activity/walking', committed: false },
  { sense: 'samples/watch/activity.sense', weights: 'activity.safetensors', clips: 'samples/data/watch/activity/cycling', committed: true },
];

describe('the PyTorch project equals sense on the same clips', () => {
  for (const c of CASES) {
    describe(`${basename(c.sense)} (${c.committed ? 'committed weights' : "the project's initial weights"})`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'sense-pytorch-fwd-'));
      const project = join(dir, 'project');
      const senseCopy = join(dir, basename(c.sense));
      const weights = join(dir, c.weights);
      const clips = readdirSync(c.clips).filter((f) => /\.(wav|csv)$/.test(f)).slice(0, 2).map((f) => join(c.clips, f));

      beforeAll(async () => {
        const missing = missingTools();
        if (missing) throw new Error(missing);
        await cli(exportCommand, [c.sense, '--pytorch', project]);
        copyFileSync(c.sense, senseCopy);
        copyFileSync(c.committed ? join(c.sense, '..', c.weights) : join(project, 'initial.safetensors'), weights);
      }, 120_000);

      afterAll(() => rmSync(dir, { recursive: true, force: true }));

      it('gives the probabilities of sense run --json within 1e-4', async () => {
        const ours = JSON.parse(await cli(runCommand, [senseCopy, ...clips, '--json'])) as { clips: { heads: Record<string, { probabilities: Record<string, number> }> }[] };
        const py = runPredict(project, weights, clips, false);
        clips.forEach((_, k) => {
          for (const [head, probs] of Object.entries(py.clips[k].heads)) {
            const sense = py.clips[k].labels[head].map((l) => ours.clips[k].heads[head].probabilities[l]);
            expect(maxScaledDiff(probs, sense), `${head} on ${clips[k]}`).toBeLessThan(1e-4);
          }
        });
      });

      it('computes the features of sense features --json on every window within 1e-4 (relative above 1)', async () => {
        const py = runPredict(project, weights, [clips[0]], true).clips[0];
        expect(py.windows.length).toBeGreaterThan(0);
        for (let w = 0; w < py.windows.length; w++) {
          const ours = JSON.parse(await cli(featuresCommand, [senseCopy, clips[0], '--window', String(w), '--json'])) as { data: number[]; windows: number };
          expect(ours.windows).toBe(py.windows.length);
          expect(maxScaledDiff(py.windows[w].features!, ours.data), `window ${w}`).toBeLessThan(1e-4);
        }
      });
    });
  }
});
