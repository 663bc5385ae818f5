/**
 * Seeded mutators of the fuzz harness: byte-level ones for binary files (WAV,
 * safetensors, ONNX) and text ones for `.sense` and CSV, which mutate tokens so most
 * mutants still get past the lexer and reach the checks and the engine behind it. Every
 * mutator draws only from the `Rng` it is given, so a case is reproduced by its seed.
 */
import { mulberry32, type Rng } from '../../../engine/compress/random';

/** The generator of one case: a fixed mix of the run seed and the case number. */
export function caseRng(seed: number): Rng {
  // Two rounds of mulberry32 decorrelate neighbouring seeds (case n and n + 1 of a run).
  return mulberry32(Math.floor(mulberry32(seed >>> 0)() * 2 ** 32) ^ seed);
}

/** An integer in [0, n). */
export function below(random: Rng, n: number): number {
  return Math.floor(random() * n);
}

/** One element of `items`. */
export function pick<T>(random: Rng, items: readonly T[]): T {
  return items[below(random, items.length)];
}

/** Numbers at the edges of every parser and shape rule: zero, negative, huge, not-a-number, fractional, overflowing. */
export const EXTREME_NUMBERS = ['0', '-1', '1', '0.0', '-0', '1e308', '1e-308', '9e99', 'NaN', 'Infinity', '2147483647', '4294967296', '9007199254740993', '1000000000', '0.5', '-1e9', '00', '1.', '.5', '1e', '3.4e38', '65536'];

/** Text that leaves ASCII: accents, CJK, an emoji with a surrogate pair, a lone surrogate, combining marks, a BOM, NUL, bidi control and a bare carriage return. */
export const UNICODE = ['é', '名前', '😀', '\ud800', 'e\u0301', '\ufeff', '\u0000', '\u202e', '\r', '\u2028', 'ß', 'Ω'];

/** 32-bit little-endian values that break length and count fields of binary headers. */
const EXTREME_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0, 8, 0x10000];

/**
 * 1 to 4 mutations of `bytes`: bit flips, extreme bytes, an overwritten 32-bit or
 * 64-bit field (lengths, counts, rates), truncation, a deleted, duplicated or moved
 * range, inserted random bytes, or a splice with `donor` (another valid file).
 */
export function mutateBytes(bytes: Uint8Array, random: Rng, donor?: Uint8Array): Uint8Array {
  let b: Uint8Array = Uint8Array.from(bytes);
  const steps = 1 + below(random, 4);
  for (let s = 0; s < steps; s++) {
    const at = b.length === 0 ? 0 : below(random, b.length);
    // Most structure lives in headers: half the point mutations aim at the first 64 bytes.
    const head = b.length === 0 ? 0 : below(random, Math.min(b.length, 64));
    const where = random() < 0.5 ? head : at;
    switch (below(random, 9)) {
      case 0:
        if (b.length > 0) b[where] ^= 1 << below(random, 8);
        break;
      case 1:
        if (b.length > 0) b[where] = pick(random, [0, 0xff, 0x7f, 0x80, 0x7b, 0x22, 0x2c]);
        break;
      case 2:
        if (where + 4 <= b.length) new DataView(b.buffer).setUint32(where, pick(random, EXTREME_U32), true);
        break;
      case 3:
        if (where + 8 <= b.length) new DataView(b.buffer).setBigUint64(where, pick(random, [0n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 53n + 1n, 1n << 40n]), true);
        break;
      case 4:
        b = b.slice(0, at);
        break;
      case 5: {
        const len = 1 + below(random, Math.max(1, Math.min(256, b.length - at)));
        b = concat(b.subarray(0, at), b.subarray(at + len));
        break;
      }
      case 6: {
        const len = 1 + below(random, 64);
        b = concat(b.subarray(0, at), b.subarray(at, at + len), b.subarray(at));
        break;
      }
      case 7: {
        const extra = Uint8Array.from({ length: 1 + below(random, 16) }, () => below(random, 256));
        b = concat(b.subarray(0, where), extra, b.subarray(where));
        break;
      }
      default: {
        if (!donor || donor.length === 0) break;
        const from = below(random, donor.length);
        b = concat(b.subarray(0, at), donor.subarray(from, from + 1 + below(random, 512)));
      }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The tokens the text mutators work on: strings, comments, names, numbers with exponents, arrows, blanks, any other character. */
export const TOKEN = /"[^"]*"|\/\/[^\n]*|[_a-zA-Z]\w*|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|<->|->|\s+|./gu;

/**
 * 1 to 4 token-level mutations of `text`: delete, duplicate, swap or truncate tokens,
 * insert a random character or a token from elsewhere (or from `donor`), replace a number
 * by an extreme one, insert non-ASCII text, repeat a token into a very long line, or
 * nest many brackets.
 */
export function mutateText(text: string, random: Rng, donor?: string): string {
  const tokens = text.match(TOKEN) ?? [];
  const other = donor?.match(TOKEN) ?? tokens;
  const steps = 1 + below(random, 4);
  for (let s = 0; s < steps && tokens.length > 0; s++) {
    const i = below(random, tokens.length);
    switch (below(random, 11)) {
      case 0:
        tokens.splice(i, 1);
        break;
      case 1:
        tokens.splice(i, 0, tokens[i]);
        break;
      case 2: {
        const j = below(random, tokens.length);
        [tokens[i], tokens[j]] = [tokens[j], tokens[i]];
        break;
      }
      case 3:
        tokens.splice(i);
        break;
      case 4:
        tokens.splice(i, 0, String.fromCharCode(below(random, 128)));
        break;
      case 5:
        tokens.splice(i, 0, ' ' + pick(random, other) + ' ');
        break;
      case 6:
      case 7: {
        // Numbers are where the engine's arithmetic starts: replace one by an extreme value.
        const numbers = tokens.flatMap((t, k) => (/^-?\d/.test(t) ? [k] : []));
        if (numbers.length > 0) tokens[pick(random, numbers)] = pick(random, EXTREME_NUMBERS);
        break;
      }
      case 8:
        tokens.splice(i, 0, pick(random, UNICODE));
        break;
      case 9:
        tokens.splice(i, 0, Array.from({ length: 100 + below(random, 1500) }, () => tokens[i]).join(' '));
        break;
      default: {
        const depth = 50 + below(random, 1000);
        const [open, close] = pick(random, [['{', '}'], ['[', ']'], ['(', ')']]);
        tokens.splice(i, 0, open.repeat(depth) + (random() < 0.5 ? close.repeat(depth) : ''));
      }
    }
  }
  return tokens.join('');
}

/**
 * Replaces 1 to 3 numbers of `text` by extreme or plausible values (a power of two, a
 * small integer, a fraction) and leaves every other token alone: most such mutants
 * still check, so they reach the engine with figures its authors did not pick.
 */
export function mutateNumbers(text: string, random: Rng): string {
  const tokens = text.match(TOKEN) ?? [];
  const numbers = tokens.flatMap((t, k) => (/^-?\d/.test(t) ? [k] : []));
  if (numbers.length === 0) return text;
  const steps = 1 + below(random, 3);
  for (let s = 0; s < steps; s++) {
    const value = pick(random, [
      () => pick(random, EXTREME_NUMBERS),
      () => String(2 ** below(random, 40)),
      () => String(1 + below(random, 9)),
      () => (random() * 10).toFixed(below(random, 4)),
    ])();
    tokens[pick(random, numbers)] = value;
  }
  return tokens.join('');
}
