/**
 * `sense estimate` on `svd energy N%`: with the weights file at hand the rank comes from
 * the layer's real spectrum (checked against numpy's), without it from the data-free
 * estimate, with a note saying so.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sense } from '../../support/sense-cli';
import { runPython } from '../../support/python';

describe('sense estimate with svd energy lines', () => {
  it('takes the rank from the trained weights when they exist, else estimates it and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sense-ranks-'));
    const file = join(dir, 'deepear.sense');
    const text = readFileSync('samples/deepear/deepear.sense', 'utf8').replace('  place encoder, ambient, stress on dsp', '  compress encoder.2 svd energy 90%\n  place encoder, ambient, stress on dsp');
    writeFileSync(file, text);

    const without = await sense('estimate', file, '--json');
    expect(without.code).toBe(0);
    expect(without.err).toMatch(/no weights file: the ranks of encoder\.2 are data-free estimates/);
    expect(JSON.parse(without.out).layers.find((l: { layer: string }) => l.layer === 'encoder.2').rankEstimated).toBe(true);

    copyFileSync('samples/deepear/deepear.safetensors', join(dir, 'deepear.safetensors'));
    const withWeights = await sense('estimate', file, '--json');
    expect(withWeights.code).toBe(0);
    const layer = JSON.parse(withWeights.out).layers.find((l: { layer: string }) => l.layer === 'encoder.2');
    expect(layer.rankEstimated).toBe(false);

    // numpy: the smallest k whose retained energy reaches 90 % of the same weight matrix.
    const expected = runPython<number>(
      `
import json, struct, sys, numpy as np
path = json.load(sys.stdin)
raw = open(path, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
t = header['encoder.2.weight']
a, b = t['data_offsets']
W = np.frombuffer(raw[8 + n + a:8 + n + b], dtype='<f4').reshape(t['shape']).astype(np.float64)
s = np.linalg.svd(W, compute_uv=False)
e = np.cumsum(s ** 2) / np.sum(s ** 2)
print(int(np.searchsorted(e, 0.9 - 1e-12) + 1))
`,
      join(dir, 'deepear.safetensors'),
    );
    expect(layer.rank).toBe(expected);
  });
});
