/**
 * Fuzzing through the real engine, the in-test share of `npm run fuzz` (scripts/fuzz.ts):
 * a few thousand seeded mutants of the sample `.sense` files, WAV clips, inertial CSVs,
 * PNG and JPEG images, safetensors and ONNX files, each pushed through check (with the
 * engine's estimator), estimate, partition, compress and export, or through decoding, the
 * feature front end and the partitions on ONNX Runtime (see ./targets). No case may crash or break a
 * property, and each target must get a share of its mutants past every stage, so the
 * run cannot pass by rejecting everything at the first check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFuzzContext, generate, releaseFuzzContext, runInput, type FuzzContext, type TargetName } from './targets';

/** Cases per target and the seed of the first; `SENSE_FUZZ_SCALE` multiplies the counts (e.g. 0.1 for a quick look). */
const SCALE = Number(process.env.SENSE_FUZZ_SCALE ?? 1);
const PLAN: { target: TargetName; cases: number; firstSeed: number; minAccepted: number }[] = [
  { target: 'sense', cases: 300, firstSeed: 1_000_000, minAccepted: 0.05 },
  { target: 'wav', cases: 700, firstSeed: 2_000_000, minAccepted: 0.05 },
  { target: 'csv', cases: 700, firstSeed: 3_000_000, minAccepted: 0.03 },
  { target: 'image', cases: 300, firstSeed: 6_000_000, minAccepted: 0.05 },
  { target: 'safetensors', cases: 800, firstSeed: 4_000_000, minAccepted: 0.02 },
  { target: 'onnx', cases: 300, firstSeed: 5_000_000, minAccepted: 0.05 },
];

let ctx: FuzzContext;

beforeAll(async () => {
  ctx = await createFuzzContext();
}, 60_000);

afterAll(async () => {
  if (ctx) await releaseFuzzContext(ctx);
});

describe('fuzzing through the real engine', () => {
  it('every image seed is read by every image pipeline, so mutants start from accepted files', async () => {
    const formats = new Set<string>();
    for (const [i, bytes] of ctx.imageSeeds.entries()) {
      for (let k = 0; k < ctx.imageRunners.length; k++) {
        const seed = ctx.imageRunners.length * i + k;
        expect(await runInput(ctx, { target: 'image', seed, name: `seed-${i}`, bytes }), `image seed ${i}`).toBe('accepted');
      }
      formats.add(bytes[0] === 0x89 ? 'png' : 'jpeg');
    }
    expect([...formats].sort()).toEqual(['jpeg', 'png']);
  }, 60_000);

  it.each(PLAN)('$target: $cases mutants never crash the product', async ({ target, cases, firstSeed, minAccepted }) => {
    const n = Math.max(1, Math.round(cases * SCALE));
    let accepted = 0;
    for (let seed = firstSeed; seed < firstSeed + n; seed++) {
      const input = generate(ctx, target, seed);
      try {
        if ((await runInput(ctx, input)) === 'accepted') accepted++;
      } catch (e) {
        throw new Error(`fuzz case ${target} seed ${seed} failed (replay: npm run fuzz -- --target ${target} --seed ${seed} --cases 1): ${(e as Error).message}`);
      }
    }
    expect(accepted / n, `share of ${target} mutants that every stage accepted`).toBeGreaterThanOrEqual(minAccepted);
  }, 300_000);
});
