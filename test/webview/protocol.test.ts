/**
 * The protocol's validators against hostile and malformed input: wrong types, unknown
 * and prototype-polluting keys, huge strings and lists, throwing objects. Nothing may
 * throw and nothing invalid may pass.
 */
import { describe, expect, it } from 'vitest';
import fixture from '../../webview/mock/deepear-state.json';
import { MAX_STRING_LENGTH, PROTOCOL_VERSION, checkViewState, parseFromWebview, parseToWebview, type ViewState } from '../../webview/protocol';

const state = fixture.state as ViewState;
const ok = (body: unknown, extra: object = {}) => ({ messageId: 1, body, ...extra });

describe('parseFromWebview', () => {
  it('accepts every message the webview sends', () => {
    const bodies = [
      { type: 'ready', protocolVersion: PROTOCOL_VERSION },
      { type: 'reveal', layerId: 'encoder.2' },
      { type: 'chooseTarget', device: 'nrf52840' },
      { type: 'reveal', layerId: 'encoder' },
      { type: 'requestSpectrum', layerId: 'encoder.2' },
      { type: 'previewCompression', layerId: 'encoder.2', method: { kind: 'svd', criterion: 'rank', rank: 64 } },
      { type: 'applyCompression', layerId: 'encoder.2', method: { kind: 'svd', criterion: 'energy', fraction: 0.9 }, documentVersion: 3 },
      { type: 'applyCompression', layerId: 'encoder.3', method: { kind: 'sparse', atoms: 128, nonzeros: 8 }, documentVersion: 3 },
      { type: 'applyCompression', layerId: 'encoder.3', method: { kind: 'int8' }, documentVersion: 3 },
      { type: 'removeCompression', layerId: 'encoder.2', documentVersion: 3 },
      { type: 'place', targets: ['encoder', 'ambient.1'], processor: 'dsp', documentVersion: 3 },
      { type: 'autoPartition', alpha: 0.7, beta: 0.3 },
      { type: 'runClip', path: 'samples/deepear/clips/music-01.wav' },
      { type: 'runClip' },
      { type: 'evaluateFolder', path: 'samples/deepear/clips' },
      { type: 'evaluateFolder', path: 'data/deepear' },
      { type: 'runClip', path: 'data/..clips/x..y.wav' },
      { type: 'runClip', path: './data/a b/music-0000.wav' },
      { type: 'exportBundle' },
      { type: 'toggleCollapse', block: 'ambient', collapsed: true },
    ];
    for (const body of bodies) {
      const r = parseFromWebview(ok(body));
      expect(r.ok, JSON.stringify(body) + (r.ok ? '' : r.error)).toBe(true);
      if (r.ok) expect(r.message.body).toEqual(body);
    }
  });

  it.each([
    ['not an object', 'reveal'],
    ['null', null],
    ['an array', [1, 2]],
    ['no body', { messageId: 1 }],
    ['an unknown type', ok({ type: 'deleteEverything' })],
    ['a numeric layer id', ok({ type: 'reveal', layerId: 42 })],
    ['a layer id with a path', ok({ type: 'reveal', layerId: '../../etc/passwd' })],
    ['a huge layer id', ok({ type: 'reveal', layerId: 'a'.repeat(1_000_000) })],
    ['a huge clip path', ok({ type: 'runClip', path: 'x'.repeat(MAX_STRING_LENGTH + 1) })],
    ['an absolute clip path', ok({ type: 'runClip', path: '/etc/passwd' })],
    ['an absolute folder path', ok({ type: 'evaluateFolder', path: '/home' })],
    ['a clip path that climbs out', ok({ type: 'runClip', path: '../outside.wav' })],
    ['a clip path that climbs out midway', ok({ type: 'runClip', path: 'data/../../outside.wav' })],
    ['a folder path that climbs out with backslashes', ok({ type: 'evaluateFolder', path: 'data\\..\\..\\x' })],
    ['a folder path that is only ..', ok({ type: 'evaluateFolder', path: '..' })],
    ['a Windows drive path', ok({ type: 'runClip', path: 'C:\\Windows\\x.wav' })],
    ['a drive-relative Windows path', ok({ type: 'runClip', path: 'c:x.wav' })],
    ['a UNC path', ok({ type: 'runClip', path: '\\\\server\\share\\x.wav' })],
    ['a path with a NUL byte', ok({ type: 'runClip', path: 'data/x.wav\u0000.txt' })],
    ['an empty clip path', ok({ type: 'runClip', path: '' })],
    ['a chooseTarget without a device', ok({ type: 'chooseTarget' })],
    ['a chooseTarget naming a path', ok({ type: 'chooseTarget', device: '../../etc/passwd' })],
    ['a chooseTarget with a huge name', ok({ type: 'chooseTarget', device: 'd'.repeat(1_000_000) })],
    ['a chooseTarget with an extra key', ok({ type: 'chooseTarget', device: 'nrf52840', file: '/etc/passwd' })],
    ['a negative rank', ok({ type: 'applyCompression', layerId: 'encoder.2', method: { kind: 'svd', criterion: 'rank', rank: -1 }, documentVersion: 3 })],
    ['a fractional rank', ok({ type: 'applyCompression', layerId: 'encoder.2', method: { kind: 'svd', criterion: 'rank', rank: 2.5 }, documentVersion: 3 })],
    ['an energy above 1', ok({ type: 'applyCompression', layerId: 'encoder.2', method: { kind: 'svd', criterion: 'energy', fraction: 1.5 }, documentVersion: 3 })],
    ['NaN alpha', ok({ type: 'autoPartition', alpha: Number.NaN, beta: 0.3 })],
    ['Infinity beta', ok({ type: 'autoPartition', alpha: 0.1, beta: Number.POSITIVE_INFINITY })],
    ['an empty place', ok({ type: 'place', targets: [], processor: 'dsp', documentVersion: 3 })],
    ['an apply without the document version', ok({ type: 'applyCompression', layerId: 'encoder.2', method: { kind: 'int8' } })],
    ['a remove without the document version', ok({ type: 'removeCompression', layerId: 'encoder.2' })],
    ['a place without the document version', ok({ type: 'place', targets: ['encoder'], processor: 'dsp' })],
    ['a negative document version', ok({ type: 'removeCompression', layerId: 'encoder.2', documentVersion: -1 })],
    ['a fractional document version', ok({ type: 'place', targets: ['encoder'], processor: 'dsp', documentVersion: 2.5 })],
    ['a document version as a string', ok({ type: 'applyCompression', layerId: 'encoder.2', method: { kind: 'int8' }, documentVersion: '3' })],
    ['a NaN document version', ok({ type: 'applyCompression', layerId: 'encoder.2', method: { kind: 'int8' }, documentVersion: Number.NaN })],
    ['an infinite document version', ok({ type: 'place', targets: ['encoder'], processor: 'dsp', documentVersion: Number.POSITIVE_INFINITY })],
    ['a document version past 2^53', ok({ type: 'removeCompression', layerId: 'encoder.2', documentVersion: 2 ** 53 + 2 })],
    ['a document version on a message that takes none', ok({ type: 'previewCompression', layerId: 'encoder.2', method: { kind: 'int8' }, documentVersion: 3 })],
    ['a string message id', { messageId: '1', body: { type: 'exportBundle' } }],
    ['a negative message id', { messageId: -5, body: { type: 'exportBundle' } }],
    ['an extra key in the body', ok({ type: 'exportBundle', command: 'rm -rf /' })],
    ['an extra key in the envelope', { messageId: 1, body: { type: 'exportBundle' }, evil: true }],
    ['an extra key in the method', ok({ type: 'applyCompression', layerId: 'encoder.2', method: { kind: 'int8', bits: 2 }, documentVersion: 3 })],
  ])('refuses %s', (_name, raw) => {
    const r = parseFromWebview(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(/^invalid message from the webview/);
      expect(r.error.length).toBeLessThan(700);
    }
  });

  it('refuses prototype-pollution keys and never pollutes Object.prototype', () => {
    const hostile = [
      JSON.parse('{"messageId":1,"body":{"type":"exportBundle","__proto__":{"polluted":true}}}'),
      JSON.parse('{"messageId":1,"__proto__":{"polluted":true},"body":{"type":"exportBundle"}}'),
      JSON.parse('{"messageId":1,"body":{"type":"reveal","layerId":"encoder.2","constructor":{"prototype":{"polluted":true}}}}'),
      JSON.parse('{"messageId":1,"body":{"type":"applyCompression","layerId":"encoder.2","method":{"kind":"int8","__proto__":{"polluted":true}}}}'),
    ];
    for (const raw of hostile) expect(parseFromWebview(raw).ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('returns a fresh object, not the one received', () => {
    const raw = ok({ type: 'reveal', layerId: 'encoder.2' });
    const r = parseFromWebview(raw);
    expect(r.ok && r.message !== raw && r.message.body !== raw.body).toBe(true);
  });

  it('does not throw on objects whose getters throw or on proxies', () => {
    const throwing = { messageId: 1, get body(): never { throw new Error('boom'); } };
    const proxy = new Proxy({}, { get() { throw new Error('trap'); }, ownKeys() { throw new Error('trap'); } });
    expect(() => parseFromWebview(throwing)).not.toThrow();
    expect(parseFromWebview(throwing).ok).toBe(false);
    expect(() => parseFromWebview(proxy)).not.toThrow();
    expect(parseFromWebview(proxy).ok).toBe(false);
  });

  it('handles deeply nested garbage quickly', () => {
    let deep: unknown = { type: 'exportBundle' };
    for (let i = 0; i < 10_000; i++) deep = { body: deep };
    expect(parseFromWebview({ messageId: 1, body: deep }).ok).toBe(false);
    expect(parseFromWebview({ messageId: 1, body: { type: 'place', targets: new Array(1_000_000).fill('a'), processor: 'dsp' } }).ok).toBe(false);
  });
});

describe('parseToWebview', () => {
  it('accepts the fixture state in init and update', () => {
    expect(checkViewState(state)).toEqual([]);
    expect(parseToWebview(ok({ type: 'init', protocolVersion: PROTOCOL_VERSION, state })).ok).toBe(true);
    expect(parseToWebview(ok({ type: 'update', documentVersion: 2, state: { ...state, documentVersion: 2 } })).ok).toBe(true);
    expect(parseToWebview(ok({ type: 'init', protocolVersion: PROTOCOL_VERSION, state: null, reason: 'no pipeline' })).ok).toBe(true);
  });

  it('refuses states whose references do not resolve', () => {
    const badEdge = { ...state, edges: [...state.edges, { id: 'x', source: 'encoder.9', target: 'ambient.1', shape: [3] }] };
    const badProcessor = { ...state, layers: state.layers.map((l, i) => (i === 0 ? { ...l, processor: 'npu' } : l)) };
    const badBlock = { ...state, layers: state.layers.map((l, i) => (i === 0 ? { ...l, block: 'nowhere' } : l)) };
    for (const s of [badEdge, badProcessor, badBlock]) {
      const r = parseToWebview(ok({ type: 'update', documentVersion: 3, state: s }));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(/inconsistent state/);
    }
  });

  it('accepts a read-only model view with its devices and refused nodes', () => {
    const readOnly = { ...state, readOnly: { source: 'models/m.onnx', devices: ['snapdragon800', 'nrf52840'] } };
    expect(parseToWebview(ok({ type: 'update', documentVersion: 1, state: readOnly })).ok).toBe(true);
  });

  it('refuses malformed states and bodies', () => {
    const cases = [
      ok({ type: 'update', documentVersion: 1, state: { ...state, layers: 'many' } }),
      ok({ type: 'update', documentVersion: 1, state: { ...state, totals: { ...state.totals, endToEndLatencyMs: -1 } } }),
      ok({ type: 'update', documentVersion: 1, state: { ...state, target: { name: 'x', processors: [] } } }),
      ok({ type: 'spectrum', layerId: 'encoder.2', singularValues: [1, Number.NaN], matrixShape: [2, 2], breakEvenRank: 1 }),
      ok({ type: 'select', layerId: '<img src=x onerror=alert(1)>' }),
      ok({ type: 'error', message: 'x'.repeat(MAX_STRING_LENGTH + 1) }),
      // A read-only model's view: devices must be identifiers, refusals well-formed.
      ok({ type: 'update', documentVersion: 1, state: { ...state, readOnly: { source: 'm.onnx', devices: ['<script>'] } } }),
      ok({ type: 'update', documentVersion: 1, state: { ...state, readOnly: { source: 'm.onnx', devices: 'nrf52840' } } }),
      { messageId: 1 },
      'init',
    ];
    for (const c of cases) expect(parseToWebview(c).ok).toBe(false);
  });
});
