/**
 * `sense calibrate` of an image pipeline: the measured window is an image tensor (what
 * runtime/image.ts gives), and the layers ONNX Runtime rewrites for its NCHWc layout on
 * x86 (conv2d, maxpool) are still measured as their own layers.
 */
import { describe, expect, it } from 'vitest';
import { calibratePipeline } from '../../../engine/calibrate/node-calibrate';
import { initWeights } from '../../../engine/weights/init';
import { ortNode, specOf } from '../export/helpers';

describe('calibrating an image pipeline', () => {
  it('measures every conv2d, maxpool and dense layer and fits the processor', async () => {
    const spec = await specOf(`pipeline TinyImage {
      input image { size 16 x 16  channels 3 }
      shared trunk { conv2d 8 kernel 3 relu  maxpool 2  conv2d 8 kernel 3 relu  flatten }
      head scene from trunk { dense 16 relu  dense 3 softmax  labels [indoor, outdoor, night] }
      target host
    }`);
    const result = await calibratePipeline(spec, initWeights(spec, 1), { ort: await ortNode(), runtime: 'onnxruntime-node', runs: 3, warmupRuns: 1 });
    expect(result.rows.filter((r) => r.kind !== 'outside ops').map((r) => r.id)).toEqual(['trunk.1', 'trunk.2', 'trunk.3', 'scene.1', 'scene.2']);
    for (const r of result.rows) expect(r.measuredMs, r.id).toBeGreaterThanOrEqual(0);
    // The first conv2d by hand: 8 filters of 3 x 3 x 3 over the 14 x 14 valid positions, and its relu's 8 x 14 x 14.
    expect(result.rows[0].macs).toBe(8 * 14 * 14 * 27 + 8 * 14 * 14);
    expect(result.profile.computeMacsPerS).toBeGreaterThan(0);
    expect(Number.isFinite(result.profile.computeMacsPerS)).toBe(true);
    expect(result.endToEnd.measuredMs).toBeGreaterThan(0);
  }, 120_000);
});
