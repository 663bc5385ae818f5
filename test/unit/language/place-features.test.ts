/**
 * `place features on PROCESSOR`: the feature front end's placement in the language. It
 * lowers to the `features` placement key the engine schedules by, mixes with layer
 * targets in any order, is checked against the processor's `supports` list, warns on a
 * conflicting second line and on a pipeline without a front end, formats canonically,
 * and completion offers it after `place`.
 */
import { describe, expect, it } from 'vitest';
import { formatSenseDocument } from '../../../language/sense-formatter';
import type { PipelineSpec } from '../../../language/pipeline-model';
import { build, codeOf, makeServices, type Services } from './helpers';

const PIPELINE = (place: string, target = 'snapdragon800'): string => `pipeline P {
  input audio { rate 16 kHz  window 1 s }
  features {
    frames 25 ms hop 10 ms
    logmel 40 bands
  }
  shared enc { flatten  dense 16 relu }
  head h from enc { dense 3 softmax }
  target ${target}
${place}
}
`;

async function lower(services: Services, text: string): Promise<{ spec?: PipelineSpec; diagnostics: { code: string; severity: number; message: string; line: number }[] }> {
  const doc = await build(services, text);
  const lowering = [...services.Sense.lowering.Lowering.document(doc.parseResult.value).pipelines.values()][0];
  return {
    ...(lowering?.spec ? { spec: lowering.spec } : {}),
    diagnostics: (doc.diagnostics ?? []).map((d) => ({ code: codeOf(d), severity: d.severity ?? 1, message: typeof d.message === 'string' ? d.message : d.message.value, line: d.range.start.line + 1 })),
  };
}

describe('place features', () => {
  const services = makeServices();

  it('lowers to the features placement key, alone or among layer targets', async () => {
    const alone = await lower(services, PIPELINE('  place features on dsp'));
    expect(alone.diagnostics.filter((d) => d.severity === 1)).toEqual([]);
    expect(alone.spec!.placement).toEqual({ features: 'dsp' });
    const mixed = await lower(services, PIPELINE('  place enc, features, h on dsp'));
    expect(mixed.diagnostics.filter((d) => d.severity === 1)).toEqual([]);
    expect(mixed.spec!.placement).toEqual({ 'enc.1': 'dsp', 'enc.2': 'dsp', features: 'dsp', 'h.1': 'dsp' });
  });

  it('is an unsupported-op error on a processor whose supports list lacks features', async () => {
    const r = await lower(services, PIPELINE('  place features on gpu'));
    const errors = r.diagnostics.filter((d) => d.severity === 1);
    expect(errors.map((d) => d.code)).toEqual(['unsupported-op']);
    expect(errors[0].message).toMatch(/gpu on snapdragon800 cannot run the feature front end; it supports dense.*add 'features' to its supports line/);
    expect(errors[0].line).toBe(10);
  });

  it('warns on a conflicting second line (the later wins) and on a pipeline without a front end', async () => {
    const twice = await lower(services, PIPELINE('  place features on dsp\n  place features on cpu'));
    expect(twice.diagnostics.filter((d) => d.code === 'conflicting-place').map((d) => d.line)).toEqual([11]);
    expect(twice.spec!.placement.features).toBe('cpu');
    const image = await lower(
      services,
      'pipeline I {\n  input image { size 8 x 8  channels 1 }\n  shared c { flatten  dense 2 softmax }\n  target tegrak1\n  place features on gpu\n}\n',
    );
    expect(image.diagnostics.filter((d) => d.code === 'conflicting-place').map((d) => d.message)).toEqual([expect.stringMatching(/has no feature front end to place/)]);
    expect(image.spec!.placement.features).toBeUndefined();
  });

  it('formats canonically', async () => {
    const formatted = formatSenseDocument(await build(services, PIPELINE('    place   features ,enc   on dsp')));
    expect(formatted).toBe(PIPELINE('  place features, enc on dsp'));
  });

  it('completion offers features after place', async () => {
    const text = PIPELINE('  place ');
    const doc = await build(services, text);
    const offset = text.indexOf('  place ') + '  place '.length;
    const position = doc.textDocument.positionAt(offset);
    const list = await services.Sense.lsp.CompletionProvider!.getCompletion(doc, { textDocument: { uri: doc.textDocument.uri }, position });
    const labels = (list?.items ?? []).map((i) => i.label);
    expect(labels).toContain('features');
    expect(labels).toContain('enc');
  });
});
