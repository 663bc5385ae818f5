/**
 * The comparison messages of the webview protocol (Compare with HEAD / with File): the host's
 * `comparison` overlay (and its null, which clears it) and the webview's `clearComparison`.
 * Valid ones pass unchanged; a non-finite delta, an unknown status, a bad layer id, unknown keys
 * on the strict side and an over-long list are refused without throwing.
 */
import { describe, expect, it } from 'vitest';
import { MAX_LIST_LENGTH, parseFromWebview, parseToWebview, type ComparisonView } from '../../webview/protocol';

const ok = (body: unknown) => ({ messageId: 1, body });

const layer = {
  id: 'encoder.2',
  status: 'changed',
  kind: 'dense',
  processorBefore: 'dsp',
  processorAfter: 'dsp',
  paramsDelta: 16 * (3920 + 256) - 3920 * 256,
  macsDelta: 16 * (3920 + 256) - 3920 * 256,
  weightBytesDelta: -3_746_816,
  latencyMsDelta: -1.25,
  energyMjDelta: -0.031,
  moved: false,
  compressionChanged: true,
} as const;

const comparison: ComparisonView = {
  against: 'deepear.sense at HEAD',
  layers: [layer, { ...layer, id: 'encoder.4', status: 'added', processorBefore: null, paramsDelta: 16_448, compressionChanged: false }],
  processors: [{ name: 'dsp', status: 'changed', memoryBytesDelta: -3_746_816, energyMjDelta: -0.031, latencyMsDelta: -1.25 }],
  total: { paramsDelta: -920_256, macsDelta: -920_256, weightBytesDelta: -3_681_024, memoryBytesDelta: -3_681_024, latencyMsDelta: -1.25, energyPerInferenceMjDelta: -0.031, batteryLifeHoursDelta: null },
  targetChanged: false,
  unchangedLayers: 9,
};

describe('comparison messages', () => {
  it('passes a comparison, its clearing and the webview clearing it', () => {
    const set = parseToWebview(ok({ type: 'comparison', comparison }));
    expect(set.ok, set.ok ? '' : set.error).toBe(true);
    if (set.ok) expect(set.message.body).toEqual({ type: 'comparison', comparison });
    const cleared = parseToWebview(ok({ type: 'comparison', comparison: null }));
    expect(cleared.ok).toBe(true);
    const fromWebview = parseFromWebview(ok({ type: 'clearComparison' }));
    expect(fromWebview.ok).toBe(true);
  });

  it('refuses non-finite deltas, unknown statuses, bad ids, extra keys and over-long lists without throwing', () => {
    const bad: unknown[] = [
      { ...comparison, layers: [{ ...layer, paramsDelta: Number.NaN }] },
      { ...comparison, layers: [{ ...layer, energyMjDelta: Number.POSITIVE_INFINITY }] },
      { ...comparison, layers: [{ ...layer, status: 'renamed' }] },
      { ...comparison, layers: [{ ...layer, id: '../etc' }] },
      { ...comparison, layers: [{ ...layer, processorAfter: 'a b' }] },
      { ...comparison, total: { ...comparison.total, latencyMsDelta: '1' } },
      { ...comparison, unchangedLayers: -1 },
      { ...comparison, against: 'x'.repeat(1001) },
      { ...comparison, layers: new Array(MAX_LIST_LENGTH + 1).fill(layer) },
      { ...comparison, layers: undefined },
    ];
    for (const c of bad) {
      const r = parseToWebview(ok({ type: 'comparison', comparison: c }));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/^invalid message from the host: /);
    }
    expect(parseFromWebview(ok({ type: 'clearComparison', all: true })).ok).toBe(false);
    expect(parseFromWebview(ok({ type: 'clearComparison', __proto__: { polluted: true }, constructor: 1 })).ok).toBe(false);
  });
});
