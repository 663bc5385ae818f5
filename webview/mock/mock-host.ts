/**
 * A mock VS Code host for the graph editor: loaded before dist/webview.js on
 * webview/mock/index.html, it defines `acquireVsCodeApi()` and answers the webview's
 * messages the way the extension will, from the DeepEar fixture (shapes from the real
 * language; latency and energy from the mock formula of mock-model.ts, not the engine).
 * Apply and place change the state and send an `update` with a new document version,
 * as the extension does after writing the `.sense` text.
 *
 * Tests drive it through `window.senseMock`: `posted` (every message the webview sent),
 * `send(body)` / `sendRaw(anything)` (messages from the "host"), `fixture`, `setState`.
 * `?manual` in the page URL stops it from answering `ready` (the benchmark posts `init`).
 */
import '../zod-csp';
import fixtureJson from './deepear-state.json';
import { PROTOCOL_VERSION, type FromWebviewMessage, type ToWebviewBody, type ViewState } from '../protocol';
import { largeFixture, previewCost, recompute, syntheticSpectrum, weightMatrix, type MockFixture } from './mock-model';

/** The test-facing API of the mock host. */
export interface SenseMock {
  posted: FromWebviewMessage[];
  fixture: MockFixture;
  state: ViewState;
  send(body: ToWebviewBody, inReplyTo?: number): void;
  sendRaw(data: unknown): void;
  /** Replaces the fixture (state, device) the mock answers from; does not send anything. */
  setFixture(fixture: MockFixture): void;
  /**
   * Makes {@link largeFixture}'s pipeline of `layerCount` layers in the page and makes it the
   * fixture, so a test of a large graph does not send megabytes through the driver.
   * `expanded` marks every block expanded, as the host does for blocks the user opened.
   */
  useLargeFixture(layerCount: number, prefix: string, expanded?: boolean): ViewState;
  /** Milliseconds the mock waits before replying (a host round trip). */
  delayMs: number;
  webviewState: unknown;
}

declare global {
  interface Window {
    senseMock: SenseMock;
  }
}

const manual = new URLSearchParams(location.search).has('manual');
let nextId = 1;

const mock: SenseMock = {
  posted: [],
  fixture: structuredClone(fixtureJson) as MockFixture,
  state: structuredClone((fixtureJson as MockFixture).state),
  delayMs: 2,
  webviewState: undefined,
  send(body, inReplyTo) {
    window.postMessage({ messageId: nextId++, ...(inReplyTo === undefined ? {} : { inReplyTo }), body }, '*');
  },
  sendRaw(data) {
    window.postMessage(data, '*');
  },
  setFixture(fixture) {
    mock.fixture = fixture;
    mock.state = fixture.state;
  },
  useLargeFixture(layerCount, prefix, expanded = false) {
    const fixture = largeFixture(layerCount, prefix);
    if (expanded) for (const b of fixture.state.blocks) b.collapsed = false;
    mock.setFixture(fixture);
    return fixture.state;
  },
};
window.senseMock = mock;

function later(fn: () => void): void {
  setTimeout(fn, mock.delayMs);
}

function commit(next: ViewState): void {
  mock.state = recompute({ ...next, documentVersion: mock.state.documentVersion + 1 }, mock.fixture.device, mock.fixture.dense);
  mock.send({ type: 'update', documentVersion: mock.state.documentVersion, state: mock.state });
}

function answer(message: FromWebviewMessage): void {
  const body = message.body;
  const reply = (b: ToWebviewBody): void => later(() => mock.send(b, message.messageId));
  const layer = 'layerId' in body ? mock.state.layers.find((l) => l.id === body.layerId) : undefined;
  switch (body.type) {
    case 'ready':
      if (!manual) reply({ type: 'init', protocolVersion: PROTOCOL_VERSION, state: mock.state });
      return;
    case 'requestSpectrum': {
      if (mock.fixture.weightsError) return reply({ type: 'error', message: mock.fixture.weightsError });
      const matrix = layer && weightMatrix(layer);
      if (!layer || !matrix) return reply({ type: 'error', message: `${body.layerId} has no weight matrix to factorise.` });
      const [out, inp] = matrix;
      return reply({
        type: 'spectrum', layerId: layer.id, singularValues: syntheticSpectrum(layer.id, Math.min(out, inp)), matrixShape: [out, inp],
        breakEvenRank: Math.floor((out * inp) / (out + inp)),
      });
    }
    case 'previewCompression': {
      if (!layer) return reply({ type: 'error', message: `no layer ${body.layerId}` });
      if (mock.fixture.weightsError) return reply({ type: 'error', message: mock.fixture.weightsError });
      const p = previewCost(mock.fixture, layer, body.method);
      return reply({ type: 'compressionPreview', layerId: layer.id, method: body.method, before: p.before, after: p.after, estimatedError: p.error, retainedEnergy: p.retained });
    }
    case 'applyCompression':
    case 'removeCompression': {
      if (!layer) return reply({ type: 'error', message: `no layer ${body.layerId}` });
      if (body.documentVersion !== mock.state.documentVersion) return reply({ type: 'error', message: `stale: made against version ${body.documentVersion}, the text is at ${mock.state.documentVersion}` });
      const compression = body.type === 'applyCompression' ? body.method : undefined;
      return later(() => commit({ ...mock.state, layers: mock.state.layers.map((l) => (l.id === layer.id ? { ...l, compression } : l)) }));
    }
    case 'place': {
      // As the extension host does: an edit made against an older graph writes nothing.
      if (body.documentVersion !== mock.state.documentVersion) return reply({ type: 'error', message: `stale: made against version ${body.documentVersion}, the text is at ${mock.state.documentVersion}` });
      const targets = new Set(body.targets);
      return later(() => commit({ ...mock.state, layers: mock.state.layers.map((l) => (targets.has(l.id) || targets.has(l.block) ? { ...l, processor: body.processor } : l)) }));
    }
    case 'autoPartition': {
      // Mock optimizer: energy-weighted runs everything on the lowest-power processor
      // that has the memory, latency-weighted on the fastest.
      const byPower = [...mock.fixture.device.processors].sort((a, b) => (body.alpha >= body.beta ? a.activePowerMw - b.activePowerMw : b.computeMacsPerS - a.computeMacsPerS));
      later(() => mock.send({ type: 'busy', task: 'Auto-partition', active: true }));
      return later(() => {
        commit({ ...mock.state, optimize: { alpha: body.alpha, beta: body.beta }, layers: mock.state.layers.map((l) => ({ ...l, processor: byPower[0].name })) });
        mock.send({ type: 'busy', task: 'Auto-partition', active: false });
      });
    }
    case 'runClip':
    case 'evaluateFolder': {
      const heads = mock.state.blocks.filter((b) => b.kind === 'head');
      const folder = body.type === 'evaluateFolder';
      const run = (shift: number) => ({
        measuredLatencyMs: 1.1 + shift,
        windows: folder ? 120 : 1,
        heads: heads.map((h, hi) => {
          const labels = h.labels ?? Array.from({ length: mock.state.layers.filter((l) => l.block === h.name).at(-1)?.outputShape[0] ?? 2 }, (_, i) => `class${i}`);
          const raw = labels.map((_, i) => Math.exp(-((i + hi) % labels.length) * (1.2 - shift)));
          const sum = raw.reduce((a, b) => a + b, 0);
          return folder
            ? { head: h.name, labels, accuracy: 0.9 - shift, confusion: labels.map((_, i) => labels.map((__, j) => (i === j ? 9 : (i + j) % 3 === 0 ? 1 : 0))) }
            : { head: h.name, labels, probabilities: raw.map((r) => r / sum) };
        }),
      });
      const compressed = mock.state.layers.some((l) => l.compression);
      return reply({ type: 'runResult', input: { kind: folder ? 'folder' : 'clip', path: body.path ?? mock.state.samples?.clips[0] ?? 'clip.wav' }, after: run(0), ...(compressed ? { before: run(0.05) } : {}) });
    }
    case 'exportBundle':
      later(() => mock.send({ type: 'busy', task: 'Export', active: true }));
      return later(() => mock.send({ type: 'busy', task: 'Export', active: false }));
    case 'reveal':
    case 'toggleCollapse':
      return;
  }
}

window.acquireVsCodeApi = () => ({
  postMessage(message: unknown) {
    // The mock validates like the host must; it records the message either way.
    const m = message as FromWebviewMessage;
    mock.posted.push(structuredClone(m));
    answer(m);
  },
  getState: () => mock.webviewState,
  setState: (s: unknown) => {
    mock.webviewState = s;
  },
});
