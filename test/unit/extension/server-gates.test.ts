/**
 * Gated heads in the studio's requests (extension/server/studio.ts): the view state of the
 * gated DeepEar fixture carries each gate as an edge, the gated heads' firing probability and
 * the expected latency beside the all-open one; the `expect` edit (Write observed rate) replaces
 * the rate of the line or adds the line, against the version it names. Figures are checked against the fixture's
 * own `expect` line and the engine's estimate of the same text, not against the view's output.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DocumentState, URI } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { LSPErrorCodes } from 'vscode-languageserver/node';
import { engineEstimator, estimatePipeline } from '../../../engine/estimate';
import { applyEdits } from '../../../engine/source-edits';
import { MeasuredProfiles } from '../../../extension/server/device-profiles';
import { StudioRequests } from '../../../extension/server/studio';
import { createSenseServices } from '../../../language/sense-module';
import { checkViewState, ViewStateSchema } from '../../../webview/protocol';
import { refusal } from '../../support/refusal';

const root = resolve(import.meta.dirname, '../../..');
const fixturePath = join(root, 'test/unit/export/fixtures/deepear-gated.sense');
const gated = readFileSync(fixturePath, 'utf8');
// At the fixture's own place, so its relative weights line resolves; nothing is written there.
const uri = URI.file(fixturePath).toString();

let services: ReturnType<typeof createSenseServices>;
let studio: StudioRequests;

beforeAll(() => {
  const profiles = new MeasuredProfiles();
  services = createSenseServices({ ...NodeFileSystem }, { fileExists: (path) => existsSync(path), estimator: profiles.estimator(engineEstimator) });
  // The view state and source edits never reach the worker pool.
  const jobs = { run: () => Promise.reject(new Error('no analysis job is expected in this test')) };
  studio = new StudioRequests({ services, profiles, jobs: jobs as unknown as ConstructorParameters<typeof StudioRequests>[0]['jobs'] });
});

/** Puts `text` at `version` into the server's workspace, as a didChange does, and builds it. */
async function open(text: string, version: number): Promise<void> {
  const { workspace } = services.shared;
  const parsed = URI.parse(uri);
  if (workspace.LangiumDocuments.hasDocument(parsed)) workspace.LangiumDocuments.deleteDocument(parsed);
  workspace.LangiumDocuments.addDocument(workspace.LangiumDocumentFactory.fromTextDocument(TextDocument.create(uri, 'sense', version, text)));
  await workspace.DocumentBuilder.build(workspace.LangiumDocuments.all.filter((d) => d.state < DocumentState.Validated).toArray(), { validation: true });
}

describe('gated heads in the studio', () => {
  it('the view state carries each gate as an edge, the firing probability and the expected latency', async () => {
    await open(gated, 1);
    const r = await studio.viewState({ textDocument: { uri, version: 1 } });
    const state = r.state!;
    expect(ViewStateSchema.safeParse(state).success).toBe(true);
    expect(checkViewState(state)).toEqual([]);
    // One gate edge per gated head, from ambient's decision (ambient.2) to the head's first layer.
    const gates = state.edges.filter((e) => e.gate);
    expect(gates.map((e) => [e.source, e.target]).sort()).toEqual([
      ['ambient.2', 'emotion.1'],
      ['ambient.2', 'speaker.1'],
      ['ambient.2', 'stress.1'],
    ]);
    // The fixture's `expect ambient voicing 30%`.
    for (const e of gates) expect(e.gate).toEqual({ label: 'voicing', expectedRate: 0.3 });
    // A gated head runs on 30% of the windows; ungated blocks carry no gate.
    const speaker = state.blocks.find((b) => b.name === 'speaker')!;
    expect(speaker.gate).toEqual({ head: 'ambient', label: 'voicing', expectedRate: 0.3 });
    expect(speaker.firingProbability).toBeCloseTo(0.3, 12);
    expect(state.blocks.find((b) => b.name === 'ambient')!.gate).toBeUndefined();
    expect(state.blocks.find((b) => b.name === 'ambient')!.firingProbability).toBeUndefined();
    // The tensor edges are unchanged: speaker.1 still reads encoder.3.
    expect(state.edges.find((e) => !e.gate && e.target === 'speaker.1')?.source).toBe('encoder.3');
    // The expected latency, strictly below the all-open makespan when the speech heads run on 30% of the windows.
    const estimate = estimatePipeline((await studio.pipelineSpec({ textDocument: { uri, version: 1 }, allowErrors: true })).spec);
    expect(state.totals.expectedLatencyMs).toBe(estimate.expectedLatencyMs);
    expect(state.totals.endToEndLatencyMs).toBe(estimate.endToEndLatencyMs);
    expect(state.totals.expectedLatencyMs!).toBeLessThan(state.totals.endToEndLatencyMs);
  });

  it('a pipeline without gates has no gate edge and no expected latency', async () => {
    const ungated = gated.replace(/ when ambient is voicing/g, '').replace(/\n\s*expect ambient voicing 30%/, '');
    await open(ungated, 2);
    const state = (await studio.viewState({ textDocument: { uri, version: 2 } })).state!;
    expect(state.edges.some((e) => e.gate)).toBe(false);
    expect(state.totals.expectedLatencyMs).toBeUndefined();
    expect(state.blocks.every((b) => b.firingProbability === undefined)).toBe(true);
  });
});


describe('Write observed rate (the expect edit)', () => {
  const line = '  expect ambient voicing 30%\n';

  it('replaces the rate of the expect line, and the new text lowers to the new rate', async () => {
    expect(gated).toContain(line);
    await open(gated, 10);
    const r = await studio.sourceEdit({ textDocument: { uri, version: 10 }, edit: { kind: 'expect', head: 'ambient', label: 'voicing', fraction: 0.425 } });
    const next = applyEdits(gated, r.edits);
    expect(next).toBe(gated.replace(line, '  expect ambient voicing 42.5%\n'));
    // The rate the language reads back, and the gated heads' firing with it.
    await open(next, 11);
    const state = (await studio.viewState({ textDocument: { uri, version: 11 } })).state!;
    expect(state.blocks.find((b) => b.name === 'speaker')!.gate).toEqual({ head: 'ambient', label: 'voicing', expectedRate: 0.425 });
    expect(state.blocks.find((b) => b.name === 'speaker')!.firingProbability).toBeCloseTo(0.425, 12);
    // The same rate again writes nothing.
    expect((await studio.sourceEdit({ textDocument: { uri, version: 11 }, edit: { kind: 'expect', head: 'ambient', label: 'voicing', fraction: 0.425 } })).edits).toEqual([]);
    // An edit asked against the version the text has left is refused as stale (the host redraws and asks again).
    expect((await refusal(studio.sourceEdit({ textDocument: { uri, version: 10 }, edit: { kind: 'expect', head: 'ambient', label: 'voicing', fraction: 0.3 } }))).code).toBe(LSPErrorCodes.ContentModified);
  });

  it('adds the line after the weights line when there is none (the fixture as written)', async () => {
    const without = gated.replace(line, '');
    await open(without, 20);
    const r = await studio.sourceEdit({ textDocument: { uri, version: 20 }, edit: { kind: 'expect', head: 'ambient', label: 'voicing', fraction: 0.3 } });
    expect(applyEdits(without, r.edits)).toBe(gated);
  });

  it('refuses an unknown label and a rate that would take the head past 100 %', async () => {
    await open(gated, 30);
    const unknown = await refusal(studio.sourceEdit({ textDocument: { uri, version: 30 }, edit: { kind: 'expect', head: 'ambient', label: 'speech', fraction: 0.3 } }));
    expect(unknown.message).toBe("senseStudio/sourceEdit: Head 'ambient' has no label 'speech'; its labels are music, traffic, voicing, other.");
    const withMusic = gated.replace(line, `${line}  expect ambient music 60%\n`);
    await open(withMusic, 31);
    const over = await refusal(studio.sourceEdit({ textDocument: { uri, version: 31 }, edit: { kind: 'expect', head: 'ambient', label: 'voicing', fraction: 0.5 } }));
    expect(over.message).toMatch(/expect lines of 'ambient' would add up to 110 %/);
  });
});
