/**
 * Auto-Partition, Auto-Compress and device profiles in the studio's pure host logic: the
 * one edit each command writes is applied to the text, and the result is re-parsed and
 * re-estimated with the language and the engine (not compared against our own output).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILE_KIND, PROFILE_SCHEMA_VERSION, formatDeviceProfile, type DeviceProfile } from '../../../runtime/device-profile';
import { estimatePipeline } from '../../../engine/estimate';
import { AUTO_PARTITION_TIME_LIMIT_MS, minimalEdit, optimalityNote, planAutoCompress, planAutoPartition } from '../../../extension/auto-plans';
import { largePipeline } from '../partition/random-pipelines';
import { calibratePipeline } from '../../../engine/calibrate/node-calibrate';
import { loadPipelineWeights } from '../../../engine/weights/node-weights';
import { calibrationTable, hostTargetText, loadProfiles, withoutPlaceLines } from '../../../extension/calibration-report';
import { applyEdits, buildViewState, placementEdits } from '../../../extension/graph-model';
import { TestAnalyzer, type AnalysedPipeline } from './analysis';
import { readFileSync } from 'node:fs';

const root = join(import.meta.dirname, '../../..');
const deepearPath = join(root, 'samples/deepear/deepear.sense');
const deepear = readFileSync(deepearPath, 'utf8');
const analyzer = new TestAnalyzer();
let n = 0;

async function analyse(text: string, a: TestAnalyzer = analyzer): Promise<{ p: AnalysedPipeline; diagnostics: { severity?: number; message: string; code?: string | number }[] }> {
  // Next to the sample, so its weights line resolves; a fresh name per call.
  const r = await a.analyse(text, `file://${join(root, 'samples/deepear', `auto-plans-${n++}.sense`)}`);
  return { p: r.pipelines[0], diagnostics: r.diagnostics };
}

function problems(diagnostics: { severity?: number; message: string; code?: string | number }[]): string[] {
  return diagnostics.filter((d) => d.severity === 1 || d.severity === 2).map((d) => d.message);
}

/** Every line of `text` that is not a `place` line, in order. */
function nonPlaceLines(text: string): string[] {
  return text.split('\n').filter((l) => !/^\s*place\b/.test(l));
}

describe('minimalEdit', () => {
  it('is one replacement that reproduces the new text, also with CRLF line ends', () => {
    const cases: [string, string][] = [
      ['abc\ndef\nghi\n', 'abc\nXY\nghi\n'],
      ['abc\r\ndef\r\n', 'abc\r\ndef\r\nplace x on y\r\n'],
      ['a\r\nb\r\nc', 'a\r\nc'],
      ['same', 'same'],
      ['', 'new'],
      ['old', ''],
    ];
    for (const [a, b] of cases) {
      const edits = minimalEdit(a, b);
      expect(edits.length).toBe(a === b ? 0 : 1);
      expect(applyEdits(a, edits)).toBe(b);
    }
  });
});

describe('planAutoPartition', () => {
  it('writes the optimal place lines of DeepEar as one edit; the re-parsed file estimates as the plan says', async () => {
    const { p } = await analyse(deepear);
    const plan = planAutoPartition(deepear, p.node, p.spec!, {});
    expect(plan.result.optimize).toMatchObject({ energyWeight: 0.7, latencyWeight: 0.3 });
    expect(plan.edits).toHaveLength(1);
    const next = applyEdits(deepear, plan.edits);
    expect(next).toBe(plan.newText);
    // Only place lines change; comments and every other line stay.
    expect(nonPlaceLines(next)).toEqual(nonPlaceLines(deepear));
    const after = await analyse(next);
    expect(problems(after.diagnostics)).toEqual([]);
    for (const [unit, processor] of Object.entries(plan.result.placement)) {
      if (unit === 'features') expect(after.p.estimate!.features!.processor).toBe(processor);
      else expect(after.p.spec!.placement[unit] ?? after.p.spec!.target.defaultProcessor).toBe(processor);
    }
    // The file's own estimate: before is the old file, after the new one.
    expect(plan.before.endToEndLatencyMs).toBeCloseTo(p.estimate!.endToEndLatencyMs, 9);
    expect(plan.before.energyPerInferenceMj).toBeCloseTo(p.estimate!.energyPerInferenceMj, 9);
    expect(after.p.estimate!.endToEndLatencyMs).toBeCloseTo(plan.after.endToEndLatencyMs, 9);
    expect(after.p.estimate!.energyPerInferenceMj).toBeCloseTo(plan.after.energyPerInferenceMj, 9);
    expect(after.p.estimate!.objective).toBeCloseTo(plan.after.objective, 9);
    expect(plan.after.objective).toBeLessThanOrEqual(plan.before.objective);
    // The DeepEar sample's hand placement is not optimal at 0.7/0.3: the estimate moves.
    expect(plan.after.endToEndLatencyMs).not.toBeCloseTo(plan.before.endToEndLatencyMs, 3);
    // Running it again on the result changes nothing.
    const again = planAutoPartition(next, after.p.node, after.p.spec!, {});
    expect(again.edits).toEqual([]);
  });

  it('stops a hard search at its time limit, writes the best plan found and says it is not proven optimal', async () => {
    // The partition benchmark's weak case (memory binds on a long trunk): not proven within the node limit.
    const text = largePipeline(176, 4, 6, 16);
    const { p } = await analyse(text);
    const plan = planAutoPartition(text, p.node, p.spec!, {}, false, 0);
    expect(plan.result.exact).toBe(false);
    expect(plan.result.stoppedBy).toBe('time-limit');
    const after = await analyse(applyEdits(text, plan.edits));
    expect(problems(after.diagnostics)).toEqual([]);
    expect(after.p.estimate!.objective).toBeCloseTo(plan.after.objective, 9);
    expect(optimalityNote(plan.result, 2049)).toBe(`best plan found in 2.0 s; not proven optimal (the search stopped at its ${AUTO_PARTITION_TIME_LIMIT_MS} ms time limit)`);
    expect(optimalityNote({ exact: false, stoppedBy: 'node-limit', nodes: 500001 }, 870)).toBe('best plan found in 870 ms; not proven optimal (the search stopped at its node limit (500001 nodes))');
    // A proven plan gets no note; the studio's default limit leaves the samples exact.
    const { p: d } = await analyse(deepear);
    const exact = planAutoPartition(deepear, d.node, d.spec!, {});
    expect(exact.result.exact).toBe(true);
    expect(optimalityNote(exact.result, 5)).toBe('');
  });

  it('moves the feature front end with `place features` when energy alone counts, and the graph shows it', async () => {
    const { p } = await analyse(deepear);
    const plan = planAutoPartition(deepear, p.node, p.spec!, { energyWeight: 1, latencyWeight: 0 });
    const featuresProcessor = plan.result.placement.features;
    expect(featuresProcessor).not.toBe(p.spec!.target.defaultProcessor);
    expect(plan.statements[0]).toMatch(new RegExp(`^place features, .* on ${featuresProcessor}$`));
    const after = await analyse(plan.newText);
    expect(problems(after.diagnostics)).toEqual([]);
    const state = buildViewState({ spec: after.p.spec!, estimate: after.p.estimate!, documentVersion: 1 });
    expect(state.features.processor).toBe(featuresProcessor);
    // Objective weights are the ones asked for, not the file's: the objective is the window's energy.
    expect(plan.after.objective).toBeCloseTo(estimatePipeline({ ...p.spec!, placement: plan.result.placement }).windowEnergyMj, 9);
    // Every other placement costs at least as much energy: the all-on-one-processor ones.
    for (const proc of p.spec!.target.processors) {
      if (!proc.supports || proc.supports.includes('dense')) {
        const all: Record<string, string> = { features: proc.name };
        for (const b of p.spec!.blocks) for (const l of b.layers) all[l.id] = proc.name;
        const e = estimatePipeline({ ...p.spec!, placement: all });
        expect(plan.after.objective).toBeLessThanOrEqual(e.windowEnergyMj + 1e-12);
      }
    }
  });
});

describe('placementEdits with place features', () => {
  it('keeps `features` on its line when other targets move, and moves it when asked', async () => {
    const text = deepear.replace('place encoder, ambient, stress on dsp', 'place features, encoder, ambient, stress on dsp');
    const { p, diagnostics } = await analyse(text);
    expect(problems(diagnostics)).toEqual([]);
    expect(p.outline.placements[0].features).toBe(true);
    const moved = applyEdits(text, placementEdits(text, p.outline, p.spec!, ['encoder'], 'cpu'));
    expect(moved).toContain('place features, ambient, stress on dsp');
    const a1 = await analyse(moved);
    expect(problems(a1.diagnostics)).toEqual([]);
    expect(a1.p.estimate!.features!.processor).toBe('dsp');
    expect(a1.p.spec!.placement['encoder.2']).toBe('cpu');

    const front = applyEdits(text, placementEdits(text, p.outline, p.spec!, ['features'], 'cpu'));
    expect(front).toContain('place encoder, ambient, stress on dsp');
    expect(front).toContain('place features on cpu');
    const a2 = await analyse(front);
    expect(problems(a2.diagnostics)).toEqual([]);
    expect(a2.p.estimate!.features!.processor).toBe('cpu');
  });
});

describe('planAutoCompress', () => {
  it('meets a latency target with compress lines written as one edit; the re-parsed file meets it', async () => {
    const { p } = await analyse(deepear);
    const limit = p.estimate!.endToEndLatencyMs * 0.8;
    const plan = planAutoCompress(deepear, p.node, p.spec!, { kind: 'within', latencyMs: limit });
    expect(plan.result.feasible).toBe(true);
    expect(plan.edits).toHaveLength(1);
    const next = applyEdits(deepear, plan.edits);
    for (const line of plan.result.lines) expect(next).toContain(line);
    const after = await analyse(next);
    expect(problems(after.diagnostics)).toEqual([]);
    expect(after.p.estimate!.endToEndLatencyMs).toBeLessThanOrEqual(limit);
    expect(after.p.spec!.blocks.flatMap((b) => b.layers).filter((l) => l.compression).length).toBe(plan.result.lines.length);
  });

  it('writes nothing for an unreachable target and still reports the closest plan', async () => {
    const { p } = await analyse(deepear);
    const plan = planAutoCompress(deepear, p.node, p.spec!, { kind: 'energy', energyMj: 1e-6 });
    expect(plan.result.feasible).toBe(false);
    expect(plan.edits).toEqual([]);
    expect(plan.result.after.metric).toBeGreaterThan(1e-6);
    expect(plan.result.after.metric).toBeLessThan(plan.result.before.metric);
  });
});

describe('device profiles', () => {
  const profile: DeviceProfile = {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    kind: PROFILE_KIND,
    device: 'host',
    processor: 'cpu',
    measuredAt: '2026-01-01T00:00:00Z',
    machine: { cpu: 'test cpu', runtime: 'onnxruntime-node 1.30.0' },
    computeMacsPerS: 1e9,
    bandwidthBytesPerS: 1e12,
    overheadMs: 0.5,
    samples: [],
  };

  it('applies a listed profile to pipelines on its device only; a bad file is an error naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-profiles-'));
    writeFileSync(join(dir, 'host.json'), formatDeviceProfile(profile));
    writeFileSync(join(dir, 'bad.json'), '{"kind": "something else"}');
    const { profiles, errors } = await loadProfiles(['host.json', 'bad.json', 'missing.json', 3], dir);
    expect(profiles.map((x) => x.source)).toEqual(['host.json']);
    expect(errors).toHaveLength(3);
    expect(errors[0]).toContain('bad.json');
    expect(errors[1]).toContain('missing.json');

    const measured = new TestAnalyzer(profiles);
    // The sample's place lines name the Snapdragon's dsp, which host does not have.
    const onHost = nonPlaceLines(deepear.replace('target snapdragon800', 'target host')).join('\n');
    const plain = await analyse(onHost);
    expect(problems(plain.diagnostics)).toEqual([]);
    const withProfile = await analyse(onHost, measured);
    expect(withProfile.p.profiles).toEqual(['host.json']);
    // A dense layer on the fitted roofline: overhead + MACs / compute (bandwidth is huge here).
    const layer = withProfile.p.estimate!.layers.find((l) => l.layerId === 'ambient.1')!;
    expect(layer.latencyMs).toBeCloseTo(0.5 + (layer.macs / 1e9) * 1000, 6);
    expect(withProfile.p.estimate!.endToEndLatencyMs).not.toBeCloseTo(plain.p.estimate!.endToEndLatencyMs, 3);
    // On another device the profile does nothing.
    const other = await analyse(deepear, measured);
    expect(other.p.profiles).toBeUndefined();
    expect(other.p.estimate!.endToEndLatencyMs).toBe((await analyse(deepear)).p.estimate!.endToEndLatencyMs);
  });

  it('prints the estimated-versus-measured table with relative errors', () => {
    const lines = calibrationTable({
      profile: { ...profile, runs: 30 },
      rows: [{ id: 'encoder.2', kind: 'dense', macs: 1_000_000, bytes: 4_000_000, measuredMs: 2, beforeMs: 3, afterMs: 2.2 }],
      endToEnd: { measuredMs: 4, beforeMs: 2, afterMs: 4.4 },
    });
    expect(lines[0]).toContain('host.cpu on test cpu');
    const row = lines.find((l) => l.startsWith('encoder.2'))!;
    expect(row).toMatch(/2\.0000\s+3\.0000\s+\+50\.0%\s+2\.2000\s+\+10\.0%/);
    expect(lines.find((l) => l.startsWith('end to end'))).toContain('before 2.0000 ms (-50.0%)');
  });

  it('retargets the document to host for Calibrate Host, and the calibration runs on it with onnxruntime-node', async () => {
    const { p } = await analyse(deepear);
    const retargeted = hostTargetText(deepear, p.outline);
    const first = await analyse(retargeted);
    const hostText = withoutPlaceLines(retargeted, first.p.node);
    expect(hostText).not.toMatch(/^\s*place\b/m);
    expect(hostText).toContain('target host     // built-in device');
    const onHost = await analyse(hostText);
    expect(problems(onHost.diagnostics)).toEqual([]);
    expect(onHost.p.spec!.target.name).toBe('host');
    expect(onHost.p.spec!.blocks.flatMap((b) => b.layers).map((l) => l.id)).toEqual(p.spec!.blocks.flatMap((b) => b.layers).map((l) => l.id));
    const ort = (await import('onnxruntime-node')) as unknown as Parameters<typeof calibratePipeline>[2]['ort'];
    const { weights } = loadPipelineWeights(p.spec!, deepearPath);
    const result = await calibratePipeline(onHost.p.spec!, weights, { ort, runtime: 'onnxruntime-node', runs: 3, warmupRuns: 1 });
    expect(result.profile).toMatchObject({ device: 'host', processor: 'cpu' });
    const table = calibrationTable(result);
    for (const id of ['encoder.2', 'ambient.1', 'speaker.2']) expect(table.some((l) => l.startsWith(id))).toBe(true);
    expect(result.profile.computeMacsPerS).toBeGreaterThan(0);
  }, 60_000);
});
