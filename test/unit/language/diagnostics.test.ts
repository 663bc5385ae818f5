/**
 * Data-driven diagnostics: every fixture under fixtures/diagnostics/ states its expected
 * diagnostics inline (see helpers.ts for the marker syntax), and every code the
 * language emits appears in at least one fixture.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IssueCodes } from '../../../language/issue-codes';
import type { PipelineEstimator } from '../../../language/estimator';
import { actualOf, build, codeOf, expectedOf, makeServices } from './helpers';

const here = new URL('.', import.meta.url).pathname;
const dir = join(here, 'fixtures', 'diagnostics');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.sense')).sort();
const root = join(here, '..', '..', '..');

/** Codes no fixture can produce, and why. */
const NOT_EMITTED_BY_FIXTURES: Record<string, string> = {
  [IssueCodes.SyntaxError]: "syntax errors carry Langium's own codes (parsing-error, lexing-error); see the syntax test below",
  [IssueCodes.UnresolvedReference]: 'fallback for a reference kind without its own code; every reference kind of the grammar has one',
  [IssueCodes.MemoryLimit]: 'comes from the injected estimator; covered by the estimator test below',
  [IssueCodes.LatencyBudget]: 'comes from the injected estimator; covered by the estimator test below',
  [IssueCodes.EstimateFailed]: "comes from engine/'s estimator when it fails; the language only passes it through",
  [IssueCodes.DeviceProfile]: "comes from the language server's profile-applying estimator (extension/server/device-profiles.ts); covered by test/unit/extension/server-profiles.test.ts",
};

describe('diagnostic fixtures', () => {
  const services = makeServices();
  const seen = new Set<string>();

  it.each(fixtures)('%s has exactly the marked diagnostics', async (name) => {
    const text = readFileSync(join(dir, name), 'utf8');
    const doc = await build(services, text, name);
    const diagnostics = doc.diagnostics ?? [];
    for (const d of diagnostics) seen.add(codeOf(d));
    expect(actualOf(diagnostics)).toEqual(expectedOf(text));
  });

  it('covers every code the language emits', () => {
    const missing = Object.values(IssueCodes).filter((c) => !seen.has(c) && !(c in NOT_EMITTED_BY_FIXTURES));
    expect(missing).toEqual([]);
    for (const c of Object.keys(NOT_EMITTED_BY_FIXTURES)) expect(seen.has(c)).toBe(false);
  });
});

describe('diagnostics beyond the fixtures', () => {
  it('reports syntax errors with a range inside the document', async () => {
    const services = makeServices();
    const text = 'pipeline P { input audio { rate 16 kHz  window 1 s } shared e { dense } }\n';
    const doc = await build(services, text);
    const syntax = (doc.diagnostics ?? []).filter((d) => codeOf(d) === 'parsing-error');
    expect(syntax.length).toBe(1);
    expect(syntax[0].range.start).toEqual({ line: 0, character: 70 });
  });

  it('puts estimator issues on the layer at fault, the optimize line or the target', async () => {
    const estimator: PipelineEstimator = (spec) => ({
      endToEndLatencyMs: 120,
      energyPerInferenceMj: 1,
      layers: [],
      heads: [],
      issues: [
        { severity: 'error', code: IssueCodes.MemoryLimit, message: 'too big', layerId: `${spec.blocks[0].name}.2` },
        { severity: 'warning', code: IssueCodes.LatencyBudget, message: 'too slow' },
        { severity: 'warning', code: IssueCodes.MemoryLimit, message: 'whole pipeline' },
      ],
    });
    const services = makeServices(estimator);
    const text = [
      'pipeline P {',
      '  input audio { rate 16 kHz  window 1 s }',
      '  shared encoder { flatten  dense 8 relu }',
      '  target snapdragon800',
      '  optimize energy 1 within 1 ms',
      '}',
      '',
    ].join('\n');
    const doc = await build(services, text);
    expect(actualOf(doc.diagnostics ?? [])).toEqual(
      ['error memory-limit 3:29-3:41', 'warning latency-budget 5:3-5:32', 'warning memory-limit 4:3-4:23'].sort(),
    );
  });

  it('keeps the samples and the design example free of errors and warnings other than missing weights', async () => {
    const services = makeServices();
    const files = ['samples/deepear/deepear.sense', 'samples/deepx/alexnet.sense', 'samples/watch/activity.sense', 'test/unit/language/fixtures/design-example.sense'];
    for (const f of files) {
      const doc = await build(services, readFileSync(join(root, f), 'utf8'), f.replace(/\//g, '_'));
      const codes = (doc.diagnostics ?? []).map(codeOf);
      expect(codes.filter((c) => c !== IssueCodes.MissingWeightsFile), f).toEqual([]);
    }
  });
});
