/** One Chromium harness per vitest file, kept apart from harness.ts so scripts run by tsx need no vitest. */
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { startHarness, type Harness } from './harness';

/**
 * Starts one harness for the calling test file (in beforeAll, after creating `shotsDir`)
 * and closes it in afterAll; returns a getter for it.
 */
export function useHarness(shotsDir: string): () => Harness {
  let harness: Harness | undefined;
  beforeAll(async () => {
    mkdirSync(shotsDir, { recursive: true });
    harness = await startHarness();
  });
  afterAll(async () => {
    await harness?.close();
  });
  return () => {
    if (!harness) throw new Error('the Chromium harness did not start (see beforeAll)');
    return harness;
  };
}
