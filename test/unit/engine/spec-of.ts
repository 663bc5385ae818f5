/** Test helpers: lowers inline `.sense` text to checked pipelines, failing on any error diagnostic; a small watch-like device; a relative comparison. */
import { expect } from 'vitest';
import { buildDocument, createSenseServices } from '../../../language/sense-module';
import type { PipelineSpec } from '../../../language/pipeline-model';

const services = createSenseServices();
let counter = 0;

/** Parses and lowers `text`; returns its pipeline named `name` (or its only one). Throws listing the errors. */
export async function specOf(text: string, name?: string): Promise<PipelineSpec> {
  const doc = await buildDocument(services, text, `file:///engine-test-${counter++}.sense`);
  const errors = (doc.diagnostics ?? []).filter((d) => d.severity === 1);
  if (errors.length > 0) throw new Error(`test pipeline has errors:\n${errors.map((d) => `${d.range.start.line + 1}: ${d.message}`).join('\n')}`);
  const specs = [...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()].map((p) => p.spec).filter((s): s is PipelineSpec => !!s);
  const spec = name ? specs.find((s) => s.name === name) : specs[0];
  if (!spec) throw new Error(`no pipeline ${name ?? ''} in test text`);
  return spec;
}

/**
 * An inertial pipeline (stats + normalize front end, one shared dense layer, one head) on
 * a one-processor device (1 GMAC/s, 100 mW): small enough for hand arithmetic.
 */
export const ONE_PROCESSOR = `
  pipeline P {
    input inertial { rate 50 Hz  window 2 s  accelerometer [x, y, z] }
    features { stats mean, std  normalize }
    shared enc { dense 8 relu }
    head h from enc { dense 2 softmax }
    target T
  }
  device T {
    processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW }
  }`;

/** Expects `actual` within 1e-9 (relative, absolute below 1) of `expected`, naming `what`. */
export function close(actual: number, expected: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
}

/**
 * A watch-like device for the power-state model: one processor that sleeps between windows
 * (mcu: cheap wake-up, short tail), one that samples the sensor and so stays awake (dsp), one
 * that stays awake because its tail is longer than the gap (app), and a baseline.
 */
export const WATCH_DEVICE = `
  device Watch {
    processor dsp { compute 0.1 GMAC/s  memory 1 MB  power 20 mW  idle 2 mW  sleep 0.1 mW  sampling 3 mW }
    processor mcu { compute 1 GMAC/s  memory 8 MB  power 100 mW  idle 10 mW  sleep 0.5 mW  wake 0.2 mJ  wakelatency 2 ms  tail 50 ms }
    processor app { compute 1 GMAC/s  memory 8 MB  power 100 mW  idle 10 mW  sleep 0.5 mW  wake 0.2 mJ  tail 2 s }
    link dsp <-> mcu { bandwidth 1 GB/s }
    link dsp <-> app { bandwidth 1 GB/s }
    baseline 5 mW
    battery 300 mAh at 3.8 V
    default dsp
  }`;
