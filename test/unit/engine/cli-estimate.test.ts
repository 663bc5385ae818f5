/** `sense estimate` and `sense check` through the CLI entry point, on files written to a temp folder. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sense } from '../../support/sense-cli';

const dir = mkdtempSync(join(tmpdir(), 'sense-estimate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, 'small.sense');
writeFileSync(
  file,
  `pipeline Small {
  input image { size 1 x 100  channels 1  period 1 s }
  shared enc { flatten  dense 100 }
  head a from enc { dense 10 }
  target T
  place a on dsp
  optimize energy 1 within 1 ms
}
device T {
  processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
  processor dsp { compute 2 GMAC/s  memory 1 KB  power 50 mW }
  link cpu <-> dsp { bandwidth 1 MB/s  latency 1 ms }
  battery 1000 mAh at 3.7 V
}
`,
);

describe('sense estimate', () => {
  it('--json gives the documented fields with hand-checked numbers', async () => {
    const r = await sense('estimate', file, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    // enc 0.01 ms on cpu, 400 B at 1 MB/s + 1 ms, head 1000 MACs at 2 GMAC/s.
    const latency = 0.01 + 1.4 + 0.0005;
    expect(j.endToEndLatencyMs).toBeCloseTo(latency, 12);
    expect(j.energyPerInferenceMj).toBeCloseTo(100 * 0.01e-3 + 50 * 0.0005e-3, 12);
    expect(j.batteryLifeHours).toBeCloseTo(3700 / j.energyPerInferenceMj, 3);
    expect(j.processors.map((p: { name: string }) => p.name)).toEqual(['cpu', 'dsp']);
    expect(Object.keys(j.processors[0])).toEqual(expect.arrayContaining(['name', 'latencyMs', 'energyMj', 'memoryBytes', 'memoryLimitBytes']));
    expect(j.layers.map((l: { layer: string; processor: string }) => `${l.layer}@${l.processor}`)).toEqual(['enc.1@cpu', 'enc.2@cpu', 'a.1@dsp']);
    expect(Object.keys(j.layers[0])).toEqual(expect.arrayContaining(['block', 'layer', 'processor', 'macs', 'params', 'latencyMs', 'energyMj']));
    expect(r.err).toContain('memory-limit');
    expect(r.err).toContain('latency-budget');
  });

  it('prints tables and totals, and --target tries another device, dropping pins it cannot honour', async () => {
    const text = await sense('estimate', file);
    expect(text.out).toMatch(/processor\s+ops\s+busy ms/);
    expect(text.out).toMatch(/end-to-end latency\s+1\.41 ms \(budget 1 ms\)/);
    const other = await sense('estimate', file, '--target', 'tegrak1', '--json');
    expect(other.code).toBe(0);
    expect(other.err).toContain("tegrak1 has no processor 'dsp'");
    const j = JSON.parse(other.out);
    expect(j.target).toBe('tegrak1');
    expect(j.batteryLifeHours).toBeNull();
    const bad = await sense('estimate', file, '--target', 'nosuch');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("no device named 'nosuch'");
  });

  it('exits 1 when an op lands on a processor that cannot run it', async () => {
    const gru = join(dir, 'gru.sense');
    writeFileSync(
      gru,
      `pipeline G {
  input inertial { rate 50 Hz  window 1 s  accelerometer [x, y, z] }
  shared enc { gru 16 }
  target D
  place enc on gpu
}
device D {
  processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
  processor gpu { compute 9 GMAC/s  memory 64 MB  power 900 mW }
  link cpu <-> gpu { bandwidth 1 GB/s  latency 0.1 ms }
}
`,
    );
    expect((await sense('estimate', gru)).code).toBe(0);
    // The Adreno 330 of the Snapdragon 800 lists no gru.
    const r = await sense('estimate', gru, '--target', 'snapdragon800');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error unsupported-op: gpu on snapdragon800 cannot run enc\.1 \(gru\)/);
  });

  it('sense check reports the engine warnings', async () => {
    const r = await sense('check', file);
    expect(r.out).toMatch(/warning memory-limit/);
    expect(r.out).toMatch(/warning latency-budget/);
  });
});

describe('sense estimate with a gated head', () => {
  it('--json gives the expected latency and each head how often it runs; the text says so', async () => {
    const gated = join(dir, 'gated.sense');
    writeFileSync(
      gated,
      `pipeline Gated {
  input image { size 1 x 100  channels 1  period 1 s }
  shared enc { flatten  dense 100 }
  head a from enc { dense 2  labels [yes, no] }
  head b from enc when a is yes { dense 10 }
  target T
  expect a yes 40%
}
device T {
  processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
}
`,
    );
    const r = await sense('estimate', gated, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    // All on cpu at 1 GMAC/s: enc 10,000 MACs, a 200, b 1,000 (each ms = MACs / 1e6); b waits for a.
    const [enc, a, b] = [0.01, 0.0002, 0.001];
    expect(j.endToEndLatencyMs).toBeCloseTo(enc + a + b, 12);
    expect(j.expectedLatencyMs).toBeCloseTo(enc + a + 0.4 * b, 12);
    expect(j.energyPerInferenceMj).toBeCloseTo(100 * (enc + a + 0.4 * b) * 1e-3, 12);
    expect(j.heads.map((h: { head: string; firingProbability: number }) => [h.head, h.firingProbability])).toEqual([['a', 1], ['b', 0.4]]);
    const text = await sense('estimate', gated);
    expect(text.out).toContain('gated heads run on b 40% of windows');
  });
});
