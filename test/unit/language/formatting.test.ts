/**
 * Formatting: fixtures/format/NAME.input.sense formats to NAME.expected.sense, formatting
 * is idempotent, the samples are already in canonical form, long lists are filled to
 * MAX_LINE_WIDTH canonically (any layout of the same tokens gives the same text, which
 * lowers to the same pipeline), and a document with syntax errors is left alone. Also
 * through the LSP service (one whole-document edit).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_WIDTH, formatSenseDocument } from '../../../language/sense-formatter';
import { lowerDevice, lowerPipeline } from '../../../language/lower';
import { mulberry32 } from '../../../engine/compress/random';
import { build, makeServices } from './helpers';

const here = new URL('.', import.meta.url).pathname;
const dir = join(here, 'fixtures', 'format');
const root = join(here, '..', '..', '..');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.input.sense'))
  .map((f) => f.replace('.input.sense', ''));
const samples = readdirSync(join(root, 'samples'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => readdirSync(join(root, 'samples', d.name)).filter((f) => f.endsWith('.sense')).map((f) => `samples/${d.name}/${f}`));

/** `s01, s02, ...`: n speaker labels. */
function speakers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
}

/** Each code line's width, end-of-line comments removed. */
function codeWidths(text: string): number[] {
  return text.split('\n').map((l) => l.replace(/\s*\/\/.*$/, '').length);
}

describe('formatter', () => {
  const services = makeServices();

  it.each(cases)('%s formats to its expected text, and that text is stable', async (name) => {
    const input = readFileSync(join(dir, `${name}.input.sense`), 'utf8');
    const expected = readFileSync(join(dir, `${name}.expected.sense`), 'utf8');
    const formatted = formatSenseDocument(await build(services, input));
    expect(formatted).toBe(expected);
    expect(formatSenseDocument(await build(services, expected))).toBe(expected);
  });

  it('finds the samples', () => {
    expect(samples).toEqual(expect.arrayContaining(['samples/deepear/deepear.sense', 'samples/deepx/alexnet.sense', 'samples/watch/activity.sense']));
  });

  it.each(samples)('%s is in canonical form, with no code line wider than MAX_LINE_WIDTH', async (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    expect(formatSenseDocument(await build(services, text))).toBe(text);
    expect(Math.max(...codeWidths(text))).toBeLessThanOrEqual(MAX_LINE_WIDTH);
  });

  it('keeps the design example except for its hand-aligned spaces', async () => {
    const text = readFileSync(join(here, 'fixtures', 'design-example.sense'), 'utf8');
    const formatted = formatSenseDocument(await build(services, text))!;
    expect(formatted).toBe(text.replace('memory 8 MB   power', 'memory 8 MB  power'));
  });

  it('expands a one-line block that would be wider than 100 columns, then fills its long list', async () => {
    const labels = speakers(23);
    const text = `pipeline P {\n  head speaker { dense 23 softmax  labels [${labels.join(', ')}] }\n}\n`;
    const formatted = formatSenseDocument(await build(services, text))!;
    // `    labels [` is 12 columns and each `sNN, ` 5 more: s01..s17 end the first line at column 96.
    const wrapped = `    labels [${labels.slice(0, 17).join(', ')},\n      ${labels.slice(17).join(', ')}]`;
    expect(formatted).toBe(`pipeline P {\n  head speaker {\n    dense 23 softmax\n${wrapped}\n  }\n}\n`);
    expect(formatted.split('\n')[3]).toHaveLength(96);
  });

  it('keeps a list that fits on one line, up to exactly MAX_LINE_WIDTH columns', async () => {
    const short = 'pipeline P {\n  head h {\n    dense 4 softmax\n    labels [music, traffic, voicing, other]\n  }\n}\n';
    expect(formatSenseDocument(await build(services, short))).toBe(short);
    // `    labels [` + 17 x `sNN, ` + `ab]`: 100 columns with a 2-letter last item, 101 with 3.
    const at100 = `pipeline P {\n  head h {\n    labels [${speakers(17).join(', ')}, ab]\n  }\n}\n`;
    expect(at100.split('\n')[2]).toHaveLength(MAX_LINE_WIDTH);
    expect(formatSenseDocument(await build(services, at100))).toBe(at100);
    const at101 = at100.replace('ab]', 'abc]');
    expect(formatSenseDocument(await build(services, at101))).toBe(at101.replace(', abc]', ',\n      abc]'));
  });

  it('reflows any layout of a long list to the same canonical text', async () => {
    const labels = speakers(40);
    const layouts = [
      labels.join(', '),
      labels.join(',\n'),
      labels.join('\n,  '),
      labels.map((l, i) => (i % 7 === 6 ? `${l},\n        ` : `${l}, `)).join('').replace(/,\s*$/, ''),
    ];
    const results = new Set<string>();
    for (const list of layouts) {
      const text = `pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  head h {\n    labels [\n${list}\n]\n  }\n}\n`;
      const formatted = formatSenseDocument(await build(services, text))!;
      results.add(formatted);
      expect(formatSenseDocument(await build(services, formatted))).toBe(formatted);
    }
    expect(results.size).toBe(1);
    const [only] = results;
    const lines = only.split('\n');
    expect(lines[3]).toMatch(/^ {4}labels \[s01, s02, .*s17,$/);
    // Continuation lines are 6 columns in: 19 x `sNN, ` make exactly 100 columns.
    expect(lines[4]).toMatch(/^ {6}s18, .*s36,$/);
    expect(lines[4]).toHaveLength(MAX_LINE_WIDTH);
    expect(lines[5]).toBe('      s37, s38, s39, s40]');
    expect(Math.max(...codeWidths(only))).toBeLessThanOrEqual(MAX_LINE_WIDTH);
    // The tokens, in order, are those of the first layout.
    expect(only.replace(/\s+/g, ' ')).toBe(`pipeline P { input audio { rate 16 kHz window 1 s } head h { labels [${labels.join(', ')}] } } `);
  });

  it('fills the lists without brackets too, never splitting an item', async () => {
    const refs = Array.from({ length: 9 }, (_, i) => `encoder.fc${i + 1}`);
    const text = [
      'pipeline P {',
      '  input inertial { rate 50 Hz  window 2 s }',
      '  features {',
      '    stats mean, std, min, max, median, rms, energy, range, skew, kurtosis, zcr, mean, std, min, max, median',
      '  }',
      `  place features, ${refs.join(', ')} on dsp`,
      '}',
      'device D {',
      '  processor dsp {',
      '    supports dense, conv1d, conv2d, maxpool, avgpool, batchnorm, dropout, flatten, gru, lstm, features, relu',
      '  }',
      '}',
      '',
    ].join('\n');
    const formatted = formatSenseDocument(await build(services, text))!;
    expect(formatted).toContain('    stats mean, std, min, max, median, rms, energy, range, skew, kurtosis, zcr, mean, std, min, max,\n      median\n');
    // The last item carries the rest of the statement: `encoder.fc9 on dsp` stays together.
    expect(formatted).toContain(`  place features, ${refs.slice(0, 6).join(', ')},\n    ${refs.slice(6).join(', ')} on dsp\n`);
    expect(formatted).toContain('    supports dense, conv1d, conv2d, maxpool, avgpool, batchnorm, dropout, flatten, gru, lstm,\n      features, relu\n');
    expect(Math.max(...codeWidths(formatted))).toBeLessThanOrEqual(MAX_LINE_WIDTH);
    expect(formatSenseDocument(await build(services, formatted))).toBe(formatted);
  });

  it('keeps comments inside a long list: a line comment breaks the line, a block comment moves with the next item', async () => {
    const labels = speakers(30);
    const list = `${labels.slice(0, 3).join(', ')}, // the first three\n${labels.slice(3, 19).join(', ')}, /* note */ ${labels.slice(19).join(', ')}`;
    const text = `pipeline P {\n  head h {\n    labels [${list}] // end\n  }\n  place a,\n  /* own */ b, c on cpu\n}\n`;
    const formatted = formatSenseDocument(await build(services, text))!;
    expect(formatted).toBe(
      [
        'pipeline P {',
        '  head h {',
        // The comment keeps its source column (one space after `s03,` there).
        '    labels [s01, s02, s03, // the first three',
        `      ${labels.slice(3, 19).join(', ')},`,
        // `s19, /* note */ s20,` would reach column 101; on a filled line `// end` goes two spaces after the code.
        `      /* note */ ${labels.slice(19).join(', ')}]  // end`,
        '  }',
        '  place a,',
        '    /* own */ b, c on cpu',
        '}',
        '',
      ].join('\n'),
    );
    expect(formatSenseDocument(await build(services, formatted))).toBe(formatted);
  });

  it('is idempotent and canonical on seeded random layouts of long lists with comments', async () => {
    const random = mulberry32(2024);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    let relaidChecked = 0;
    for (let n = 0; n < 300; n++) {
      const count = 1 + Math.floor(random() * 40);
      const withComments = n % 2 === 0;
      let list = '';
      for (let k = 0; k < count; k++) {
        list += pick(['a', 'speaker_long_name', 's01', 'q'.repeat(1 + Math.floor(random() * 30))]);
        if (withComments && random() < 0.08) list += pick([' /* c */', ' // lc\n', '\n/* own */\n', ' /* two\nlines */ ', '\n/* own */ ']);
        if (k < count - 1) list += pick(withComments ? [', ', ',\n', ', /* tr */\n'] : [', ', ',', ' ,', ',\n', '\n, ', ',    ']);
      }
      const text = `pipeline P {\n  input audio { rate 16 kHz  window 1 s }\n  head h {${pick(['  ', '\n'])}labels [${list}]${withComments ? pick(['', ' // t', ' '.repeat(60) + '// far']) : ''}\n  }\n  place ${list} on cpu\n}\n`;
      const formatted = formatSenseDocument(await build(services, text))!;
      expect(formatted, text).toBeDefined();
      expect(formatSenseDocument(await build(services, formatted)), text).toBe(formatted);
      // Only an item that cannot fit even at the start of a continuation line may pass the width.
      for (const line of formatted.split('\n')) {
        const code = line.replace(/\s*\/\/.*$/, '');
        if (code.length > MAX_LINE_WIDTH) expect(code, formatted).toMatch(/q{25,}/);
      }
      if (!/\/[*/]/.test(text)) {
        relaidChecked++;
        const relaid = formatted.replace(/, /g, () => pick([', ', ',\n', '\n,', ',   '])).replace(/\n {4,6}(?=[a-z])/g, () => pick(['\n', ' ', '\n   ']));
        expect(formatSenseDocument(await build(services, relaid)), relaid).toBe(formatted);
      }
    }
    expect(relaidChecked).toBeGreaterThanOrEqual(150);
  });

  it('wraps the deepear speaker labels and lowers the result to the same pipeline', async () => {
    const original = readFileSync(join(root, 'samples', 'deepear', 'deepear.sense'), 'utf8');
    // The sample as it was before lists wrapped: the speaker labels on one 126-column line.
    const oneLine = original.replace(/labels \[s01,[^\]]*\]/, (m) => m.replace(/\s+/g, ' '));
    expect(Math.max(...codeWidths(oneLine))).toBeGreaterThan(MAX_LINE_WIDTH);
    const before = await build(services, oneLine);
    const formatted = formatSenseDocument(before)!;
    expect(formatted).toBe(original);
    const after = await build(services, formatted);
    const lowered = (doc: typeof before): string => {
      const specs = doc.parseResult.value.pipelines.map((p) => lowerPipeline(p, (d) => lowerDevice(d).spec).spec);
      // Source ranges move with the lines; everything else must be equal.
      return JSON.stringify(specs, (_key, value: unknown) => (value && typeof value === 'object' && 'start' in value && 'end' in value ? undefined : value));
    };
    expect(lowered(after)).toBe(lowered(before));
    expect(lowered(after)).toContain('"s23"');
    expect(after.parseResult.value.pipelines[0].blocks.flatMap((b) => (b.$type === 'Head' ? b.labels.flatMap((l) => l.values) : []))).toHaveLength(4 + 5 + 2 + 23);
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
