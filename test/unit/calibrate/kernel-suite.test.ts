/**
 * `sense calibrate --device host --quick`: the kernel suite runs through the bundle
 * runtime on this machine and writes a profile whose predictor prices pipelines it never
 * measured. Only load-proof properties are asserted (this machine is shared): the profile
 * reads back, every fitted coefficient is finite, each kind's prediction never falls as
 * MACs grow, the held-out error is recorded, and `sense estimate --profile` uses the
 * predictor. Bad invocations and bad profile files get clear errors, never a stack trace.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main';
import { kernelSuite, prefixText } from '../../../engine/calibrate/node-kernel-suite';
import { choosePipeline, lowerSenseText } from '../../../cli/load';
import { randomPipelines } from '../../bench/held-out-pipelines';
import { predictKernelMs } from '../../../engine/calibrate/kernel-predictor';
import { parseDeviceProfile, type DeviceProfile } from '../../../runtime/device-profile';

const root = resolve(import.meta.dirname, '../../..');
const deepear = join(root, 'samples/deepear/deepear.sense');
let work: string;
let profilePath: string;
let profile: DeviceProfile;
let suiteOut: string;

async function sense(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'sense-kernel-suite-'));
  profilePath = join(work, 'host.json');
  const r = await sense(['calibrate', '--device', 'host', '--quick', '--out', profilePath]);
  expect(r.err).not.toMatch(/internal error/);
  expect(r.code, r.err).toBe(0);
  suiteOut = r.out;
  profile = parseDeviceProfile(readFileSync(profilePath, 'utf8'), profilePath);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the kernel suite', () => {
  it('covers every layer kind the runtime can bundle and every front-end step kind', () => {
    const text = kernelSuite(false).map((c) => c.text).join('\n');
    for (const word of ['dense', 'conv1d', 'maxpool', 'avgpool', 'avgpool global', 'batchnorm', 'gru', 'lstm', 'relu', 'tanh', 'sigmoid', 'softmax']) expect(text).toContain(word);
    for (const step of ['silence', 'frames', 'logmel', 'mfcc', 'deltas', 'normalize', 'stats', 'stack', 'raw']) expect(text).toContain(`    ${step}`);
    expect(kernelSuite(true).length).toBeLessThan(kernelSuite(false).length);
  });

  it('lowers without errors: every suite pipeline, every front-end prefix, and the held-out generator', async () => {
    const texts = kernelSuite(false).flatMap((c) => [c.text, ...(c.steps ?? []).map((_, k) => prefixText(c, k))]);
    texts.push(...randomPipelines(30, 2026).map((p) => p.text));
    for (const [i, text] of texts.entries()) {
      const spec = choosePipeline(await lowerSenseText(`case${i}.sense`, text)).spec;
      expect(spec.target.name).toBe('host');
    }
  });

  it('writes a profile whose predictor has finite coefficients, grows with MACs and records its held-out error', () => {
    const k = profile.kernelPredictor!;
    expect(profile.device).toBe('host');
    expect(Object.keys(k.kinds)).toEqual(expect.arrayContaining(['dense', 'conv1d', 'features/spectral']));
    for (const [kind, m] of Object.entries(k.kinds)) {
      for (const v of [m.overheadMs, m.msPerMac, m.msPerByte, ...m.correctionLogFactor, ...m.correctionLog2Bytes]) expect(Number.isFinite(v), kind).toBe(true);
      let last = 0;
      for (let macs = 1; macs < 1e9; macs *= 4) {
        const ms = predictKernelMs(m, macs, m.maxBytes);
        expect(ms, kind).toBeGreaterThanOrEqual(last);
        last = ms;
      }
    }
    expect(k.heldOut.kernels).toBeGreaterThan(0);
    expect(Number.isFinite(k.heldOut.medianAbsErrorPct)).toBe(true);
    expect(suiteOut).toMatch(/held-out kernels: ±[\d.]+% on held-out kernels \(median of \d+/);
    expect(suiteOut).toMatch(/suite took [\d.]+ s/);
    expect(profile.dispatchMs).toBeGreaterThanOrEqual(0);
  });

  it('prices a pipeline it never measured, and says how sure it is', async () => {
    const plain = JSON.parse((await sense(['estimate', deepear, '--target', 'host', '--json'])).out) as { endToEndLatencyMs: number };
    const r = await sense(['estimate', deepear, '--target', 'host', '--profile', profilePath, '--json']);
    expect(r.code, r.err).toBe(0);
    const calibrated = JSON.parse(r.out) as { endToEndLatencyMs: number };
    expect(calibrated.endToEndLatencyMs).toBeGreaterThan(0);
    expect(calibrated.endToEndLatencyMs).not.toBeCloseTo(plain.endToEndLatencyMs, 6);
    expect(r.err).toMatch(/note: cpu: kernel predictor ±[\d.]+% on held-out kernels/);
    const text = await sense(['estimate', deepear, '--target', 'host', '--profile', profilePath]);
    expect(text.out).toMatch(/^latency accuracy\s+cpu: kernel predictor ±[\d.]+% on held-out kernels \(median of \d+/m);
    // The quick suite measures no LSTM: an LSTM layer is priced by the roofline and says so.
    const lstm = join(work, 'lstm.sense');
    writeFileSync(lstm, 'pipeline L {\n  input inertial { rate 50 Hz  window 2 s  accelerometer [x, y, z] }\n  features {\n    raw\n  }\n  head h {\n    lstm 32\n    dense 4 softmax\n  }\n  target host\n}\n');
    const outside = await sense(['estimate', lstm, '--profile', profilePath]);
    expect(outside.code, outside.err).toBe(0);
    expect(outside.err).toMatch(/note: h\.1 \(lstm\) on cpu: the kernel suite measured no lstm kernel; priced by the fitted roofline/);
  });
});

describe('bad invocations and bad profiles', () => {
  it('gives clear errors, never an internal error', async () => {
    const dir = join(work, 'a-folder.json');
    mkdirSync(dir);
    const huge = join(work, 'huge.json');
    writeFileSync(huge, '');
    truncateSync(huge, 65 * 1024 * 1024);
    const other = join(work, 'other.json');
    writeFileSync(other, JSON.stringify({ ...profile, device: 'snapdragon800' }));
    const nan = join(work, 'nan.json');
    writeFileSync(nan, readFileSync(profilePath, 'utf8').replace(/"msPerMac": [^,]+,/, '"msPerMac": NaN,'));
    const cases: [string[], RegExp][] = [
      [['calibrate'], /name the device to calibrate \(--device host\) or a \.sense file/],
      [['calibrate', '--device', 'snapdragon800'], /the kernel suite measures this machine, so it calibrates device 'host', not 'snapdragon800'/],
      [['calibrate', deepear, '--quick'], /--quick belongs to the kernel suite/],
      [['calibrate', '--device', 'host', '--from', profilePath], /--pipeline and --from need a \.sense file/],
      [['estimate', deepear, '--target', 'host', '--profile', dir], /a-folder\.json is a directory/],
      [['estimate', deepear, '--target', 'host', '--profile', huge], /huge\.json: \d+ bytes is larger than the \d+-byte limit/],
      [['estimate', deepear, '--profile', profilePath], /kernel predictor was measured on device host, not snapdragon800; estimate with --target host/],
      [['estimate', deepear, '--target', 'host', '--profile', nan], /nan\.json: not valid JSON/],
    ];
    for (const [args, message] of cases) {
      const r = await sense(args);
      expect(r.code, args.join(' ')).toBeGreaterThan(0);
      expect(r.err, args.join(' ')).not.toMatch(/internal error|\n\s+at /);
      expect(r.err, args.join(' ')).toMatch(message);
    }
    // A profile measured on host, relabelled for another device, applies to that device only.
    const r = await sense(['estimate', deepear, '--target', 'host', '--profile', other]);
    expect(r.code).toBeGreaterThan(0);
    expect(r.err).toMatch(/other\.json: the profile's kernel predictor was measured on device snapdragon800, not host/);
  });
});
