/**
 * Formatting: fixtures/format/NAME.input.sense formats to NAME.expected.sense, formatting
 * is idempotent, the samples are already in canonical form, and a document with syntax
 * errors is left alone. Also through the LSP service (one whole-document edit).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatSenseDocument } from '../../../language/sense-formatter';
import { build, makeServices } from './helpers';

const here = new URL('.', import.meta.url).pathname;
const dir = join(here, 'fixtures', 'format');
const root = join(here, '..', '..', '..');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.input.sense'))
  .map((f) => f.replace('.input.sense', ''));

describe('formatter', () => {
  const services = makeServices();

  it.each(cases)('%s formats to its expected text, and that text is stable', async (name) => {
    const input = readFileSync(join(dir, `${name}.input.sense`), 'utf8');
    const expected = readFileSync(join(dir, `${name}.expected.sense`), 'utf8');
    const formatted = formatSenseDocument(await build(services, input));
    expect(formatted).toBe(expected);
    expect(formatSenseDocument(await build(services, expected))).toBe(expected);
  });

  it.each(['samples/deepear/deepear.sense', 'samples/deepx/alexnet.sense', 'samples/watch/activity.sense'])('%s is in canonical form', async (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    expect(formatSenseDocument(await build(services, text))).toBe(text);
  });

  it('keeps the design example except for its hand-aligned spaces', async () => {
    const text = readFileSync(join(here, 'fixtures', 'design-example.sense'), 'utf8');
    const formatted = formatSenseDocument(await build(services, text))!;
    expect(formatted).toBe(text.replace('memory 8 MB   power', 'memory 8 MB  power'));
  });

  it('expands a one-line block that would be wider than 100 columns', async () => {
    const labels = Array.from({ length: 23 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`).join(', ');
    const text = `pipeline P {\n  head speaker { dense 23 softmax  labels [${labels}] }\n}\n`;
    const formatted = formatSenseDocument(await build(services, text))!;
    expect(formatted).toBe(`pipeline P {\n  head speaker {\n    dense 23 softmax\n    labels [${labels}]\n  }\n}\n`);
  });

  it('leaves a document with syntax errors alone', async () => {
    const doc = await build(services, 'pipeline P { shared e { dense } }\n');
    expect(formatSenseDocument(doc)).toBeUndefined();
    expect(await services.Sense.lsp.Formatter!.formatDocument(doc, { textDocument: { uri: doc.textDocument.uri }, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
  });

  it('returns one whole-document edit through the LSP service', async () => {
    const doc = await build(services, 'pipeline P {input audio{rate 16 kHz window 1 s}\n}');
    const edits = await services.Sense.lsp.Formatter!.formatDocument(doc, { textDocument: { uri: doc.textDocument.uri }, options: { tabSize: 2, insertSpaces: true } });
    expect(edits).toEqual([{ range: { start: { line: 0, character: 0 }, end: { line: 1, character: 1 } }, newText: 'pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n}\n' }]);
  });
});
