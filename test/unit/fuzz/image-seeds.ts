/**
 * Seeds and structure-aware mutators of the fuzz harness's `image` target. The seeds are
 * small PNG and JPEG files generated here, so no binary is committed: PNG of every colour
 * type and bit depth (palettes with and without transparency, 16-bit, Adam7-interlaced)
 * by fast-png's encoder, baseline JPEG by jpeg-js's encoder, and the JPEG variants jpeg-js
 * cannot write (grey, 4:2:0 with restart markers, progressive with spectral selection and
 * successive approximation of DC) by ./jpeg-encoder. The mutators change one header field:
 * PNG IHDR width, height, bit depth, colour type, methods, chunk lengths, types and CRCs,
 * chunk order; JPEG SOF dimensions, precision, components and sampling, DQT, DHT counts
 * and symbols, SOS selectors and spectral bands, DRI, segment lengths.
 */
import { encode as encodePngFile } from 'fast-png';
import { encode as encodeJpegJs } from 'jpeg-js';
import type { Rng } from '../../../engine/compress/random';
import { below, pick } from './mutate';
import { encodeJpeg, type Plane } from './jpeg-encoder';

/** A smooth test picture: sample (x, y, c) of a gradient with a bump, 0..1. */
function picture(x: number, y: number, c: number, w: number, h: number): number {
  return 0.5 + 0.35 * Math.sin((x / w) * 3.1 + c) * Math.cos((y / h) * 2.3 - c) + 0.1 * ((x + 2 * y + c) % 3) / 3;
}

function samples(w: number, h: number, channels: number, maxValue: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < channels; c++) out.push(Math.round(picture(x, y, c, w, h) * maxValue));
  return out;
}

/** Packs samples of `depth` < 8 bits into bytes, rows padded to a byte, as PNG stores them. */
function pack(values: number[], w: number, h: number, channels: number, depth: number): Uint8Array {
  const rowBytes = Math.ceil((w * channels * depth) / 8);
  const out = new Uint8Array(rowBytes * h);
  for (let y = 0; y < h; y++)
    for (let i = 0; i < w * channels; i++) {
      const bit = i * depth;
      out[y * rowBytes + (bit >> 3)] |= values[y * w * channels + i] << (8 - depth - (bit & 7));
    }
  return out;
}

/** PNG seeds: grey 1/2/4/8/16-bit, grey+alpha 8/16, RGB 8/16, RGBA 8/16, palettes of 1/2/4/8 bits (the 4-bit one with alpha), and Adam7 versions of the 8 and 16-bit ones. */
export function pngSeeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const sizes = [
    [13, 11],
    [5, 7],
    [16, 3],
  ];
  let k = 0;
  for (const interlace of ['null', 'Adam7'] as const) {
    for (const channels of [1, 2, 3, 4]) {
      for (const depth of channels === 1 ? [1, 2, 4, 8, 16] : [8, 16]) {
        // fast-png's encoder writes a broken Adam7 image below 8 bits (PIL reads it as truncated).
        if (interlace === 'Adam7' && depth < 8) continue;
        const [w, h] = sizes[k++ % sizes.length];
        const values = samples(w, h, channels, 2 ** depth - 1);
        const data = depth === 16 ? Uint16Array.from(values) : depth === 8 ? Uint8Array.from(values) : pack(values, w, h, channels, depth);
        out.push(encodePngFile({ width: w, height: h, channels, depth: depth as 1 | 2 | 4 | 8 | 16, data }, { interlace }));
      }
    }
    for (const depth of interlace === 'Adam7' ? [8] : [1, 2, 4, 8]) {
      const [w, h] = sizes[k++ % sizes.length];
      const colours = 2 ** depth;
      const withAlpha = depth === 4;
      const palette = Array.from({ length: colours }, (_, i) => {
        const rgb = [(i * 73) % 256, (i * 151) % 256, (255 - i * 29) & 255];
        return withAlpha ? [...rgb, (i * 37) % 256] : rgb;
      });
      const indices = Array.from({ length: w * h }, (_, i) => (i * 7 + (i >> 3)) % colours);
      out.push(encodePngFile({ width: w, height: h, channels: 1, depth: depth as 1 | 2 | 4 | 8, data: depth === 8 ? Uint8Array.from(indices) : pack(indices, w, h, 1, depth), palette }, { interlace }));
    }
  }
  return out;
}

/** The Y, Cb and Cr planes (JFIF's BT.601 full range) of the test picture, chroma subsampled by `h` x `v` where the factors say so. */
function ycbcrPlanes(width: number, height: number, chroma: 1 | 2): Plane[] {
  const rgb = (x: number, y: number): number[] => [0, 1, 2].map((c) => picture(x, y, c, width, height) * 255);
  const plane = (f: (r: number, g: number, b: number) => number, step: number, h: number, v: number): Plane => {
    const w = Math.ceil(width / step);
    const ht = Math.ceil(height / step);
    const data = new Float64Array(w * ht);
    for (let y = 0; y < ht; y++)
      for (let x = 0; x < w; x++) {
        let sum = 0;
        let n = 0;
        for (let dy = 0; dy < step; dy++)
          for (let dx = 0; dx < step; dx++) {
            if (x * step + dx >= width || y * step + dy >= height) continue;
            const [r, g, b] = rgb(x * step + dx, y * step + dy);
            sum += f(r, g, b);
            n++;
          }
        data[y * w + x] = sum / n;
      }
    return { width: w, height: ht, data, h, v };
  };
  return [
    plane((r, g, b) => 0.299 * r + 0.587 * g + 0.114 * b, 1, chroma, chroma),
    plane((r, g, b) => 128 - 0.168736 * r - 0.331264 * g + 0.5 * b, chroma, 1, 1),
    plane((r, g, b) => 128 + 0.5 * r - 0.418688 * g - 0.081312 * b, chroma, 1, 1),
  ];
}

/** JPEG seeds: baseline 4:4:4 from jpeg-js; grey, 4:2:0 with restart markers, progressive grey and progressive 4:2:0 from {@link encodeJpeg}. */
export function jpegSeeds(): Uint8Array[] {
  const rgba = (w: number, h: number): Uint8Array => Uint8Array.from(samples(w, h, 4, 255).map((v, i) => (i % 4 === 3 ? 255 : v)));
  const grey = (w: number, h: number): Plane => {
    const [y] = ycbcrPlanes(w, h, 1);
    return { ...y, h: 1, v: 1 };
  };
  return [
    new Uint8Array(encodeJpegJs({ width: 13, height: 11, data: rgba(13, 11) }, 90).data),
    new Uint8Array(encodeJpegJs({ width: 8, height: 8, data: rgba(8, 8) }, 50).data),
    encodeJpeg(12, 9, [grey(12, 9)]),
    encodeJpeg(20, 18, ycbcrPlanes(20, 18, 2), { restartInterval: 1 }),
    encodeJpeg(17, 10, [grey(17, 10)], { progressive: true }),
    encodeJpeg(20, 18, ycbcrPlanes(20, 18, 2), { progressive: true }),
  ];
}

// ---------------------------------------------------------------------------------------
// Structure-aware mutations.

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface PngChunk {
  type: string;
  data: Uint8Array;
  /** A length field that lies, when set; otherwise the data's length is written. */
  length?: number;
  /** A wrong CRC, when set. */
  crc?: number;
}

function pngChunks(png: Uint8Array): PngChunk[] | undefined {
  const chunks: PngChunk[] = [];
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at + 12 <= png.length; ) {
    const length = view.getUint32(at);
    if (at + 12 + length > png.length) return undefined;
    chunks.push({ type: String.fromCharCode(...png.subarray(at + 4, at + 8)), data: png.slice(at + 8, at + 8 + length) });
    at += 12 + length;
  }
  return chunks;
}

function writePng(chunks: PngChunk[]): Uint8Array {
  const parts: number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  for (const c of chunks) {
    const body = Uint8Array.from([...[...c.type].map((ch) => ch.charCodeAt(0) & 0xff), ...c.data]);
    const u32 = (x: number): number[] => [(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
    parts.push(...u32(c.length ?? c.data.length), ...body, ...u32(c.crc ?? crc32(body)));
  }
  return Uint8Array.from(parts);
}

/** Values at the edges of 32-bit and 16-bit size fields. */
const DIMENSIONS = [0, 1, 2, 7, 8, 9, 255, 256, 4096, 5793, 65535, 65536, 2 ** 24, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];

/**
 * One header-field mutation of a PNG, with the CRCs recomputed (so the change reaches the
 * decoder's checks behind the CRC) unless the mutation is of a length or a CRC itself.
 */
export function mutatePng(png: Uint8Array, random: Rng): Uint8Array {
  const chunks = pngChunks(png);
  if (!chunks || chunks.length === 0 || chunks[0].type !== 'IHDR') return png;
  const ihdr = chunks[0].data;
  const view = new DataView(ihdr.buffer, ihdr.byteOffset, ihdr.byteLength);
  const c = pick(random, chunks);
  switch (below(random, 10)) {
    case 0:
      view.setUint32(random() < 0.5 ? 0 : 4, pick(random, DIMENSIONS) >>> 0);
      break;
    case 1:
      // Width and height together: a few hundred bytes declaring megapixels.
      view.setUint32(0, pick(random, [1000, 3000, 5000, 5792, 8192, 1, 65535]));
      view.setUint32(4, pick(random, [1000, 3000, 5000, 5792, 8192, 1, 512]));
      break;
    case 2:
      ihdr[8] = pick(random, [0, 1, 2, 3, 4, 5, 8, 12, 16, 32, 255]);
      break;
    case 3:
      ihdr[9] = pick(random, [0, 1, 2, 3, 4, 5, 6, 7, 8, 255]);
      break;
    case 4:
      ihdr[10 + below(random, 3)] = pick(random, [0, 1, 2, 255]);
      break;
    case 5:
      c.length = pick(random, [0, 1, c.data.length - 1, c.data.length + 1, 0x7fffffff, 0xffffffff]) >>> 0;
      break;
    case 6:
      c.crc = (crc32(Uint8Array.from([...[...c.type].map((ch) => ch.charCodeAt(0)), ...c.data])) ^ (1 << below(random, 32))) >>> 0;
      break;
    case 7: {
      // Chunk order and presence: drop, repeat or move one; or add a PLTE, tRNS or an empty IDAT.
      const i = below(random, chunks.length);
      const op = below(random, 4);
      if (op === 0) chunks.splice(i, 1);
      else if (op === 1) chunks.splice(i, 0, { ...chunks[i], data: chunks[i].data.slice() });
      else if (op === 2) chunks.splice(below(random, chunks.length), 0, ...chunks.splice(i, 1));
      else
        chunks.splice(
          1 + below(random, chunks.length - 1),
          0,
          pick(random, [
            { type: 'PLTE', data: Uint8Array.from({ length: pick(random, [0, 3, 6, 768, 771, 5]) }, (_, k) => k & 0xff) },
            { type: 'tRNS', data: Uint8Array.from({ length: pick(random, [0, 1, 2, 6, 256, 300]) }, (_, k) => (k * 7) & 0xff) },
            { type: 'IDAT', data: new Uint8Array(0) },
            { type: 'IEND', data: new Uint8Array(0) },
          ]),
        );
      break;
    }
    case 8: {
      // Inside the compressed data: a flipped bit or byte, with a correct CRC.
      const idats = chunks.filter((x) => x.type === 'IDAT' && x.data.length > 0);
      if (idats.length > 0) {
        const d = pick(random, idats).data;
        const at = below(random, d.length);
        if (random() < 0.5) d[at] ^= 1 << below(random, 8);
        else d[at] = pick(random, [0, 0xff, 4, 5]);
      }
      break;
    }
    default:
      c.type = pick(random, ['IHDR', 'PLTE', 'IDAT', 'IEND', 'tRNS', 'acTL', 'fdAT', 'iCCP', 'zzzz', 'idat']);
  }
  return writePng(chunks);
}

interface JpegSegment {
  marker: number;
  body: Uint8Array;
  /** A length field that lies, when set. */
  length?: number;
}

/** The marker segments of a JPEG up to and including the first SOS, and the bytes after it. */
function jpegSegments(jpg: Uint8Array): { segments: JpegSegment[]; rest: Uint8Array } | undefined {
  const segments: JpegSegment[] = [];
  let at = 2;
  while (at + 4 <= jpg.length && jpg[at] === 0xff) {
    const marker = jpg[at + 1];
    const length = (jpg[at + 2] << 8) | jpg[at + 3];
    if (length < 2 || at + 2 + length > jpg.length) return undefined;
    segments.push({ marker, body: jpg.slice(at + 4, at + 2 + length) });
    at += 2 + length;
    if (marker === 0xda) return { segments, rest: jpg.slice(at) };
  }
  return undefined;
}

function writeJpeg(segments: JpegSegment[], rest: Uint8Array): Uint8Array {
  const out: number[] = [0xff, 0xd8];
  for (const s of segments) {
    const length = s.length ?? s.body.length + 2;
    out.push(0xff, s.marker, (length >> 8) & 0xff, length & 0xff, ...s.body);
  }
  const head = Uint8Array.from(out);
  const all = new Uint8Array(head.length + rest.length);
  all.set(head);
  all.set(rest, head.length);
  return all;
}

/** One header-field mutation of a JPEG: SOF, DQT, DHT, SOS, DRI or a segment length. */
export function mutateJpeg(jpg: Uint8Array, random: Rng): Uint8Array {
  const parsed = jpegSegments(jpg);
  if (!parsed) return jpg;
  const { segments, rest } = parsed;
  const of = (marker: number[]): JpegSegment[] => segments.filter((s) => marker.includes(s.marker));
  const sof = of([0xc0, 0xc1, 0xc2])[0];
  const byte = (s: JpegSegment | undefined, at: number, values: number[]): void => {
    if (s && at < s.body.length) s.body[at] = pick(random, values);
  };
  const u16 = (s: JpegSegment | undefined, at: number, value: number): void => {
    if (s && at + 1 < s.body.length) [s.body[at], s.body[at + 1]] = [(value >> 8) & 0xff, value & 0xff];
  };
  switch (below(random, 10)) {
    case 0:
      u16(sof, random() < 0.5 ? 1 : 3, pick(random, DIMENSIONS));
      break;
    case 1:
      // A few hundred bytes declaring megapixels.
      u16(sof, 1, pick(random, [1000, 3000, 5000, 5792, 8192, 65535]));
      u16(sof, 3, pick(random, [1000, 3000, 5000, 5792, 8192, 65535]));
      break;
    case 2:
      byte(sof, pick(random, [0, 5]), [0, 1, 2, 3, 4, 8, 12, 16, 255]);
      break;
    case 3:
      // A component's id, sampling factors or quantisation table.
      if (sof) byte(sof, 6 + 3 * below(random, Math.max(1, sof.body[5] ?? 1)) + below(random, 3), [0, 1, 2, 3, 4, 0x00, 0x11, 0x12, 0x21, 0x22, 0x44, 0x41, 0x0f, 0xff]);
      break;
    case 4: {
      // A Huffman table: its class and id, one code count, or one symbol.
      const dht = of([0xc4]);
      if (dht.length === 0) break;
      const s = pick(random, dht);
      const k = below(random, 3);
      if (k === 0) byte(s, 0, [0x00, 0x01, 0x10, 0x11, 0x04, 0x14, 0x20, 0xff]);
      else if (k === 1) byte(s, 1 + below(random, 16), [0, 1, 2, 16, 100, 255]);
      else if (s.body.length > 17) s.body[17 + below(random, s.body.length - 17)] = pick(random, [0x00, 0xf0, 0x0f, 0x1b, 0x10, 0xff, 12, 16]);
      break;
    }
    case 5: {
      const dqt = of([0xdb])[0];
      if (dqt && random() < 0.5) byte(dqt, 0, [0x00, 0x01, 0x04, 0x10, 0x13, 0xff]);
      else if (dqt) byte(dqt, 1 + below(random, 64), [0, 1, 255]);
      break;
    }
    case 6: {
      // The (last) SOS header: component count, selectors, spectral band, approximation.
      const sos = of([0xda]).at(-1);
      if (sos) byte(sos, below(random, sos.body.length), [0, 1, 2, 3, 4, 5, 0x11, 0x33, 0x44, 63, 64, 0x10, 0x01, 0xf0, 0xff]);
      break;
    }
    case 7: {
      const dri: JpegSegment = { marker: 0xdd, body: Uint8Array.of(0, pick(random, [0, 1, 2, 3, 255])) };
      segments.splice(below(random, segments.length), 0, dri);
      break;
    }
    case 8: {
      const s = pick(random, segments);
      s.length = pick(random, [0, 1, 2, s.body.length + 1, s.body.length + 3, s.body.length - 1, 0xffff]) & 0xffff;
      break;
    }
    default: {
      // Segment order and presence: drop, repeat or move one (a second SOF, a missing DHT).
      const i = below(random, segments.length - 1);
      const op = below(random, 3);
      if (op === 0) segments.splice(i, 1);
      else if (op === 1) segments.splice(i, 0, { ...segments[i], body: segments[i].body.slice() });
      else segments.splice(below(random, segments.length - 1), 0, ...segments.splice(i, 1));
    }
  }
  return writeJpeg(segments, rest);
}
