/**
 * The server's relink of stale references (extension/server/stale-links.ts): a document
 * left with a reference that failed to resolve, to a name the index now holds, is rebuilt
 * once and resolves; a reference that is wrong for good costs one rebuild, not a loop.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocumentState, URI, type LangiumDocument } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { afterAll, describe, expect, it } from 'vitest';
import { relinkStaleReferences } from '../../../extension/server/stale-links';
import { createSenseServices } from '../../../language/sense-module';

const work = mkdtempSync(join(tmpdir(), 'stale-links-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PIPELINE = (target: string): string => `pipeline P {
  input audio { rate 16 kHz  window 1 s }
  shared encoder { flatten  dense 8 relu }
  head out from encoder { dense 2 softmax  labels [a, b] }
  target ${target}
}
`;

/** Builds the document of `file` (written with `text`) on its own, as a build that links only it does. */
async function buildAlone(services: ReturnType<typeof createSenseServices>, file: string, text: string): Promise<LangiumDocument> {
  writeFileSync(join(work, file), text);
  const doc = await services.shared.workspace.LangiumDocuments.getOrCreateDocument(URI.file(join(work, file)));
  await services.shared.workspace.DocumentBuilder.build([doc], { validation: true });
  return doc;
}

function unresolved(doc: LangiumDocument): string[] {
  return doc.references.filter((r) => r.error !== undefined).map((r) => r.$refText);
}

/** Resolves once every queued write of the workspace lock (the relink among them) is done. */
async function settled(services: ReturnType<typeof createSenseServices>): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 20));
    await services.shared.workspace.WorkspaceLock.read(() => undefined);
  }
}

describe('relinkStaleReferences', () => {
  it('relinks a document whose target was declared after it was linked', async () => {
    const services = createSenseServices({ ...NodeFileSystem });
    const a = await buildAlone(services, 'a.sense', PIPELINE('lab'));
    expect(unresolved(a)).toEqual(['lab']);
    // Without the relink, building the device's file alone leaves a.sense stale (what a cancelled build can leave).
    const control = createSenseServices({ ...NodeFileSystem });
    const a0 = await buildAlone(control, 'a0.sense', PIPELINE('lab0'));
    await buildAlone(control, 'lab0.sense', 'device lab0 { processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW } }\n');
    await settled(control);
    expect(unresolved(a0)).toEqual(['lab0']);

    const watch = relinkStaleReferences(services.shared);
    await buildAlone(services, 'lab.sense', 'device lab { processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW } }\n');
    await settled(services);
    const relinked = services.shared.workspace.LangiumDocuments.getDocument(a.uri)!;
    expect(unresolved(relinked)).toEqual([]);
    expect(relinked.state).toBe(DocumentState.Validated);
    watch.dispose();
  });

  it('retries a reference that stays wrong once per version, not in a loop', async () => {
    const services = createSenseServices({ ...NodeFileSystem });
    let builds = 0;
    services.shared.workspace.DocumentBuilder.onBuildPhase(DocumentState.Validated, () => void builds++);
    const watch = relinkStaleReferences(services.shared);
    // 'P' names the pipeline itself: in the index, but no device, so the target stays unresolved.
    const doc = await buildAlone(services, 'wrong.sense', PIPELINE('P'));
    await settled(services);
    expect(unresolved(services.shared.workspace.LangiumDocuments.getDocument(doc.uri)!)).toEqual(['P']);
    // The pipeline's name is in the index, so the document is stale once: one build, one relink, then no more.
    expect(builds).toBe(2);
    watch.dispose();
  });

  it('a pipeline lowered while its target was unresolved lowers again once it is relinked', async () => {
    const services = createSenseServices({ ...NodeFileSystem });
    const a = await buildAlone(services, 'late.sense', PIPELINE('late'));
    const lowering = services.Sense.lowering.Lowering;
    const pipelineOf = (doc: LangiumDocument) => [...lowering.document(doc.parseResult.value as never).pipelines.values()][0];
    expect(pipelineOf(a).spec).toBeUndefined();
    await buildAlone(services, 'latedev.sense', 'device late { processor cpu { compute 1 GMAC/s  memory 64 MB  power 100 mW } }\n');
    // The relink Langium does when a named device appears: same text, so the same AST.
    await services.shared.workspace.DocumentBuilder.update([a.uri], []);
    const relinked = services.shared.workspace.LangiumDocuments.getDocument(a.uri)!;
    expect(relinked.parseResult.value).toBe(a.parseResult.value);
    expect(unresolved(relinked)).toEqual([]);
    expect(pipelineOf(relinked).spec?.target.name).toBe('late');
  });
});
