/**
 * The language server's measured device profiles (extension/server/device-profiles.ts):
 * a bad `senseStudio/deviceProfiles` payload is ignored with a logged message, the
 * injected estimator with a profile gives the numbers `sense estimate --profile` prints
 * for the same file (the CLI is the reference here, a separate path through the engine),
 * and after a notification the documents are rebuilt so CodeLens, hover and the fit
 * warnings change, and change back when the profiles are removed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { URI, type LangiumDocument } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../cli/main';
import { formatDeviceProfile, PROFILE_KIND, PROFILE_SCHEMA_VERSION, type DeviceProfile } from '../../../runtime/device-profile';
import { engineEstimator } from '../../../engine/estimate';
import {
  DEVICE_PROFILES_NOTIFICATION,
  MAX_NOTIFIED_PROFILES,
  MeasuredProfiles,
  deviceProfilesPayload,
  parseDeviceProfilesPayload,
  receiveDeviceProfiles,
} from '../../../extension/server/device-profiles';
import type * as ast from '../../../language/generated/ast';
import type { PipelineEstimateSummary } from '../../../language/estimator';
import { buildDocument, createSenseServices } from '../../../language/sense-module';

const root = resolve(import.meta.dirname, '../../..');
const deepear = readFileSync(join(root, 'samples/deepear/deepear.sense'), 'utf8');

/** A fitted profile of the Snapdragon 800's DSP (the sample places encoder, ambient and stress there). */
const DSP: DeviceProfile = {
  schemaVersion: PROFILE_SCHEMA_VERSION,
  kind: PROFILE_KIND,
  device: 'snapdragon800',
  processor: 'dsp',
  measuredAt: '2026-02-01T00:00:00.000Z',
  machine: { cpu: 'Qualcomm Hexagon (test)', runtime: 'onnxruntime-web 1.23.0 (wasm)' },
  computeMacsPerS: 2.5e8,
  bandwidthBytesPerS: 3e9,
  overheadMs: 0.04,
  frontendMacsPerS: 1e8,
  dispatchMs: 0.3,
  samples: [{ op: 'encoder.2', macs: 65536, bytes: 264192, measuredMs: 0.5 }],
};

/** A DSP so slow that the sample's 100 ms budget is missed. */
const SLOW: DeviceProfile = { ...DSP, computeMacsPerS: 5e6, bandwidthBytesPerS: 5e7 };

let work: string;
let sensePath: string;
let dspPath: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'sense-server-profiles-'));
  sensePath = join(work, 'deepear.sense');
  writeFileSync(sensePath, deepear);
  dspPath = join(work, 'dsp.json');
  writeFileSync(dspPath, formatDeviceProfile(DSP));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Services as the server composes them: the engine's estimator wrapped by the profile store. */
function serverServices(): { services: ReturnType<typeof createSenseServices>; store: MeasuredProfiles; logs: string[] } {
  const store = new MeasuredProfiles();
  // NodeFileSystem: a rebuild re-reads documents that have no open editor from disk, as the server does.
  const services = createSenseServices({ ...NodeFileSystem }, { estimator: store.estimator(engineEstimator) });
  return { services, store, logs: [] };
}

async function lensTitles(services: ReturnType<typeof createSenseServices>, doc: LangiumDocument): Promise<string[]> {
  const lenses = (await services.Sense.lsp.CodeLensProvider!.provideCodeLens(doc, { textDocument: { uri: doc.uri.toString() } })) ?? [];
  return lenses.map((l) => l.command!.title);
}

function estimateOf(services: ReturnType<typeof createSenseServices>, doc: LangiumDocument<ast.Model>): PipelineEstimateSummary {
  return [...services.Sense.lowering.Lowering.document(doc.parseResult.value).estimates.values()][0];
}

function codesOf(doc: LangiumDocument): string[] {
  return (doc.diagnostics ?? []).map((d) => String(d.code ?? (d.data as { code?: string } | undefined)?.code));
}

describe('the senseStudio/deviceProfiles payload', () => {
  it('accepts what the extension sends and keeps the order', () => {
    const payload = deviceProfilesPayload([
      { source: 'dsp.json', profile: DSP },
      { source: 'slow.json', profile: SLOW },
    ]);
    // Through JSON, as the IPC channel carries it.
    const r = parseDeviceProfilesPayload(JSON.parse(JSON.stringify(payload)));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.profiles.map((p) => [p.source, p.profile.computeMacsPerS])).toEqual([['dsp.json', 2.5e8], ['slow.json', 5e6]]);
    expect(parseDeviceProfilesPayload({ profiles: [] })).toEqual({ ok: true, profiles: [] });
  });

  const bad: [string, unknown, RegExp][] = [
    ['nothing', undefined, /senseStudio\/deviceProfiles: the payload is not/],
    ['null', null, /the payload is not/],
    ['a string', 'dsp.json', /the payload is not/],
    ['paths instead of profiles', { profiles: ['dsp.json'] }, /profiles\.0/],
    ['an empty source', { profiles: [{ source: '', profile: DSP }] }, /profiles\.0\.source/],
    ['a non-string source', { profiles: [{ source: 7, profile: DSP }] }, /profiles\.0\.source/],
    ['too many profiles', { profiles: Array.from({ length: MAX_NOTIFIED_PROFILES + 1 }, () => ({ source: 'a.json', profile: DSP })) }, /profiles/],
    ['another kind', { profiles: [{ source: 'x.json', profile: { ...DSP, kind: 'sense-bundle' } }] }, /profiles\[0\] \(x\.json\): kind must be 'sense-device-profile'/],
    ['a negative overhead', { profiles: [{ source: 'ok.json', profile: DSP }, { source: 'neg.json', profile: { ...DSP, overheadMs: -1 } }] }, /profiles\[1\] \(neg\.json\): overheadMs must be non-negative/],
    ['a string figure', { profiles: [{ source: 's.json', profile: { ...DSP, computeMacsPerS: '1 GMAC/s' } }] }, /computeMacsPerS must be a number/],
    ['a newer schema', { profiles: [{ source: 'n.json', profile: { ...DSP, schemaVersion: 99 } }] }, /schema version 99 is newer/],
    ['a profile that is null', { profiles: [{ source: 'z.json', profile: null }] }, /top level must be an object/],
  ];
  for (const [what, payload, message] of bad) {
    it(`refuses ${what} with a message, without throwing`, () => {
      const r = parseDeviceProfilesPayload(payload);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(message);
    });
  }

  it('ignores a bad notification: logged, the profiles in use stay, nothing rebuilt', async () => {
    const { services, store, logs } = serverServices();
    store.set([{ source: 'dsp.json', profile: DSP }]);
    const taken = await receiveDeviceProfiles({ profiles: [{ source: 'x.json', profile: { kind: 'nope' } }] }, { services, store, log: (m) => logs.push(m) });
    expect(taken).toBe(false);
    expect(store.get().map((p) => p.source)).toEqual(['dsp.json']);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^Ignored measured device profiles: .*x\.json.*kind must be/);
    expect(DEVICE_PROFILES_NOTIFICATION).toBe('senseStudio/deviceProfiles');
  });
});

describe('the server estimator with a measured profile', () => {
  it('gives the numbers of `sense estimate --profile` for the DeepEar sample', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['estimate', sensePath, '--profile', dspPath, '--json'], { out: (l) => out.push(l), err: (l) => err.push(l) });
    expect(code, err.join('\n')).toBe(0);
    const cli = JSON.parse(out.join('\n')) as {
      endToEndLatencyMs: number;
      energyPerInferenceMj: number;
      batteryLifeHours: number;
      layers: { layer: string; processor: string; latencyMs: number; energyMj: number }[];
      heads: { head: string; latencyMs: number; energyMj: number }[];
    };
    const catalog = JSON.parse((await runCli(['estimate', sensePath, '--json'])).out) as typeof cli;

    const { services, store } = serverServices();
    store.set([{ source: 'dsp.json', profile: DSP }]);
    const doc = await buildDocument(services, deepear, URI.file(sensePath).toString());
    const s = estimateOf(services, doc);
    expect(s.endToEndLatencyMs).toBeCloseTo(cli.endToEndLatencyMs, 9);
    expect(s.energyPerInferenceMj).toBeCloseTo(cli.energyPerInferenceMj, 9);
    expect(s.batteryLifeHours!).toBeCloseTo(cli.batteryLifeHours, 6);
    expect(s.layers.map((l) => l.layerId)).toEqual(cli.layers.map((l) => l.layer));
    for (const l of cli.layers) {
      const ours = s.layers.find((x) => x.layerId === l.layer)!;
      expect(ours.processor, l.layer).toBe(l.processor);
      expect(ours.latencyMs, l.layer).toBeCloseTo(l.latencyMs, 9);
      expect(ours.energyMj, l.layer).toBeCloseTo(l.energyMj, 9);
    }
    for (const h of cli.heads) {
      const ours = s.heads.find((x) => x.head === h.head)!;
      expect(ours.latencyMs, h.head).toBeCloseTo(h.latencyMs, 9);
      expect(ours.energyMj, h.head).toBeCloseTo(h.energyMj, 9);
    }
    // The profile did change the figures (else the comparison above proves nothing).
    expect(Math.abs(s.endToEndLatencyMs - catalog.endToEndLatencyMs)).toBeGreaterThan(0.01);
    expect(s.measuredProfiles).toEqual([{ source: 'dsp.json', processor: 'dsp' }]);
  });

  it('applies a profile only to pipelines on its device, and reports one that cannot apply', async () => {
    const { services, store } = serverServices();
    store.set([{ source: 'host.json', profile: { ...DSP, device: 'host', processor: 'cpu' } }]);
    const doc = await buildDocument(services, deepear, URI.file(join(work, 'other-device.sense')).toString());
    const s = estimateOf(services, doc);
    expect(s.measuredProfiles).toBeUndefined();
    const plain = engineEstimator([...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()][0].spec!);
    expect(s.endToEndLatencyMs).toBe(plain.endToEndLatencyMs);

    store.set([{ source: 'npu.json', profile: { ...DSP, processor: 'npu' } }]);
    services.Sense.lowering.Lowering.invalidate();
    const npu = estimateOf(services, doc);
    expect(npu.measuredProfiles).toBeUndefined();
    expect(npu.issues.find((i) => i.code === 'device-profile')?.message).toMatch(/npu\.json: device snapdragon800 has no processor 'npu'/);
  });
});

describe('a notification rebuilds the documents', () => {
  it('changes CodeLens, hover and the latency-budget warning, and removing the profiles restores them', async () => {
    const { services, store, logs } = serverServices();
    const doc = await buildDocument(services, deepear, URI.file(sensePath).toString());
    const before = await lensTitles(services, doc);
    expect(before.join('\n')).not.toMatch(/measured/);
    expect(codesOf(doc)).not.toContain('latency-budget');

    const host = { services, store, log: (m: string) => logs.push(m) };
    expect(await receiveDeviceProfiles(JSON.parse(JSON.stringify(deviceProfilesPayload([{ source: 'slow.json', profile: SLOW }]))), host)).toBe(true);
    const slow = await lensTitles(services, doc);
    expect(slow).toHaveLength(before.length);
    const s = estimateOf(services, doc);
    const ambient = slow.find((t) => t.startsWith('ambient:'))!;
    const head = s.heads.find((h) => h.head === 'ambient')!;
    // Independent formatting of the new figure, and the profile named.
    expect(ambient).toContain(`${head.latencyMs < 10 ? head.latencyMs.toFixed(2) : head.latencyMs < 100 ? head.latencyMs.toFixed(1) : head.latencyMs.toFixed(0)} ms`);
    expect(ambient).toMatch(/\(measured profile: slow\.json\)$/);
    expect(slow[0]).toMatch(/^end-to-end .*\(measured profile: slow\.json\)$/);
    expect(ambient).not.toBe(before.find((t) => t.startsWith('ambient:')));
    // The fit warning follows: the slow DSP misses the 100 ms budget.
    expect(s.endToEndLatencyMs).toBeGreaterThan(100);
    expect(codesOf(doc)).toContain('latency-budget');
    expect(logs.at(-1)).toBe('Measured device profiles: slow.json (snapdragon800.dsp).');

    // Hover: a dsp layer's latency names the profile, a cpu layer's does not.
    const hover = (text: string): string => {
      const offset = deepear.indexOf(text);
      const position = doc.textDocument.positionAt(offset + 1);
      const h = services.Sense.lsp.HoverProvider!.getHoverContent(doc, { textDocument: { uri: doc.uri.toString() }, position }) as { contents: { value: string } } | undefined;
      return h?.contents.value ?? '';
    };
    expect(hover('dense 256 relu')).toMatch(/\| latency \| [\d.]+ \S+ \(measured profile: slow\.json\) \|/);
    const emotionLayer = deepear.slice(deepear.indexOf('head emotion'));
    const emotionOffset = deepear.indexOf('head emotion') + emotionLayer.indexOf('dense 128 relu');
    const cpuHover = services.Sense.lsp.HoverProvider!.getHoverContent(doc, { textDocument: { uri: doc.uri.toString() }, position: doc.textDocument.positionAt(emotionOffset + 1) }) as { contents: { value: string } };
    expect(cpuHover.contents.value).toMatch(/\| processor \| cpu/);
    expect(cpuHover.contents.value).toMatch(/\| latency \| [\d.]+ \S+ \|/);
    expect(cpuHover.contents.value).not.toMatch(/measured/);

    expect(await receiveDeviceProfiles({ profiles: [] }, host)).toBe(true);
    expect(await lensTitles(services, doc)).toEqual(before);
    expect(codesOf(doc)).not.toContain('latency-budget');
    expect(logs.at(-1)).toMatch(/none; estimates use the catalog figures/);
  });
});

describe('the processor hover with a measured profile', () => {
  function processorHover(services: ReturnType<typeof createSenseServices>, doc: LangiumDocument, processor: 'dsp' | 'cpu'): string {
    const line = processor === 'dsp' ? 'place encoder, ambient, stress on dsp' : 'place emotion, speaker on cpu';
    const offset = deepear.indexOf(line) + line.length - 1;
    const h = services.Sense.lsp.HoverProvider!.getHoverContent(doc, { textDocument: { uri: doc.uri.toString() }, position: doc.textDocument.positionAt(offset) }) as { contents: { value: string } } | undefined;
    return h?.contents.value ?? '';
  }

  it('adds the measured figures next to the catalog ones, and without profiles is the hover of a plain estimator', async () => {
    const uri = URI.file(join(work, 'processor-hover.sense')).toString();
    const { services, store } = serverServices();
    const doc = await buildDocument(services, deepear, uri);
    const catalogDsp = processorHover(services, doc, 'dsp');
    const catalogCpu = processorHover(services, doc, 'cpu');
    expect(catalogDsp).toMatch(/^\*\*processor dsp\*\* of snapdragon800/);
    expect(catalogDsp).toMatch(/\| compute \| /);
    expect(catalogDsp).not.toMatch(/Measured/);

    // Without profiles, byte-identical to the hover with engine/'s estimator alone and with no estimator.
    for (const estimator of [engineEstimator, undefined]) {
      const plain = createSenseServices({ ...NodeFileSystem }, estimator ? { estimator } : {});
      const plainDoc = await buildDocument(plain, deepear, uri);
      expect(processorHover(plain, plainDoc, 'dsp')).toBe(catalogDsp);
      expect(processorHover(plain, plainDoc, 'cpu')).toBe(catalogCpu);
    }

    const host = { services, store, log: () => undefined };
    expect(await receiveDeviceProfiles({ profiles: [{ source: 'dsp.json', profile: DSP }] }, host)).toBe(true);
    const measured = processorHover(services, doc, 'dsp');
    // The DSP profile's figures written out by hand: 2.5e8 MAC/s, 3e9 B/s, 0.04 ms, 1e8 MAC/s, 0.3 ms.
    const line = 'Measured (profile dsp.json): `compute 0.250 GMAC/s  bandwidth 3.000 GB/s  overhead 40.00 us  frontend 0.100 GMAC/s  dispatch 300.0 us`';
    expect(measured.split('\n')).toContain(line);
    // The catalog's figures stay; the measured line is the only addition.
    expect(measured.replace(`\n\n${line}`, '')).toBe(catalogDsp);
    expect(processorHover(services, doc, 'cpu')).toBe(catalogCpu);

    // The last fitted profile of the processor wins; an unfitted one cannot apply; other devices' profiles never show.
    const later: DeviceProfile = { ...DSP, computeMacsPerS: 1.234e9, bandwidthBytesPerS: 9.9e9, overheadMs: 0.0025 };
    const { frontendMacsPerS: _f, dispatchMs: _d, ...laterV1 } = later;
    store.set([
      { source: 'dsp.json', profile: DSP },
      { source: 'later.json', profile: laterV1 },
      { source: 'unfitted.json', profile: { ...DSP, fitted: false, computeMacsPerS: 0, bandwidthBytesPerS: 0, overheadMs: 0 } },
      { source: 'host.json', profile: { ...DSP, device: 'host', processor: 'dsp' } },
    ]);
    const laterLine = 'Measured (profile later.json): `compute 1.234 GMAC/s  bandwidth 9.900 GB/s  overhead 2.50 us`';
    const laterHover = processorHover(services, doc, 'dsp');
    expect(laterHover.split('\n').filter((l) => l.startsWith('Measured'))).toEqual([laterLine]);
    expect(laterHover.replace(`\n\n${laterLine}`, '')).toBe(catalogDsp);
    store.set([{ source: 'host.json', profile: { ...DSP, device: 'host', processor: 'dsp' } }]);
    expect(processorHover(services, doc, 'dsp')).toBe(catalogDsp);

    expect(await receiveDeviceProfiles({ profiles: [] }, host)).toBe(true);
    expect(processorHover(services, doc, 'dsp')).toBe(catalogDsp);
  });
});

async function runCli(args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: () => undefined });
  return { code, out: out.join('\n') };
}
