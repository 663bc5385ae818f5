/**
 * A plain baseline and progressive JPEG encoder (ITU T.81) for the fuzz harness's image
 * seeds, for the variants jpeg-js's encoder cannot write: grey, chroma subsampling, restart
 * markers, progressive scans (spectral selection, successive approximation of DC). It
 * favours being short and checkable over compression: a naive DCT, one quantisation table,
 * the standard luminance DC table and an AC table giving every symbol an 8-bit code.
 */

/** Zigzag order: the natural (row-major) index of the k-th coefficient. */
const ZIGZAG = (() => {
  const order: number[] = [];
  for (let s = 0; s < 15; s++) {
    const cells: number[] = [];
    for (let y = 0; y < 8; y++) if (s - y >= 0 && s - y < 8) cells.push(y * 8 + (s - y));
    order.push(...(s % 2 === 0 ? cells.reverse() : cells));
  }
  return order;
})();

/** The luminance DC table of T.81 Annex K (K.3), and an AC table giving each of the 162 symbols an 8-bit code. */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_VALUES = [0x00, 0xf0, ...Array.from({ length: 160 }, (_, i) => ((i / 10) | 0) * 16 + (i % 10) + 1)];
const AC_BITS = [0, 0, 0, 0, 0, 0, 0, AC_VALUES.length, 0, 0, 0, 0, 0, 0, 0, 0];

/** Canonical Huffman codes (T.81 Annex C): symbol -> [code, length]. */
function huffmanCodes(bits: number[], values: number[]): Map<number, [number, number]> {
  const codes = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]; i++) codes.set(values[k++], [code++, len]);
    code <<= 1;
  }
  return codes;
}
const DC_CODES = huffmanCodes(DC_BITS, DC_VALUES);
const AC_CODES = huffmanCodes(AC_BITS, AC_VALUES);

class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;
  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    // A 0xff in entropy-coded data is followed by a stuffed zero (T.81 F.1.2.3).
    if (this.acc === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.n = 0;
  }
  /** Pads the last byte with 1 bits, as T.81 requires before a marker. */
  align(): void {
    while (this.n !== 0) this.put(1, 1);
  }
}

/** The magnitude category of v and its extra bits (T.81 F.1.2.1). */
function category(v: number): [number, number] {
  const a = Math.abs(v);
  const size = a === 0 ? 0 : 32 - Math.clz32(a);
  return [size, v < 0 ? v + (1 << size) - 1 : v];
}

function huff(w: BitWriter, codes: Map<number, [number, number]>, symbol: number): void {
  const [code, len] = codes.get(symbol)!;
  w.put(code, len);
}

/** One JPEG component: its samples (0..255, row-major, `width` x `height`) and sampling factors. */
export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
  h: number;
  v: number;
}

/** The quantised coefficients (zigzag order) of every block of a plane's MCU-padded block grid. */
function planeBlocks(p: Plane, blocksAcross: number, blocksDown: number, quant: number[]): Int32Array[] {
  const blocks: Int32Array[] = [];
  for (let by = 0; by < blocksDown; by++)
    for (let bx = 0; bx < blocksAcross; bx++) {
      const s = new Float64Array(64);
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++) {
          // Past the plane's edge the last row and column are repeated.
          const px = Math.min(bx * 8 + x, p.width - 1);
          const py = Math.min(by * 8 + y, p.height - 1);
          s[y * 8 + x] = p.data[py * p.width + px] - 128;
        }
      const out = new Int32Array(64);
      for (let k = 0; k < 64; k++) {
        const u = ZIGZAG[k] % 8;
        const v = (ZIGZAG[k] / 8) | 0;
        let sum = 0;
        for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) sum += s[y * 8 + x] * Math.cos(((2 * x + 1) * u * Math.PI) / 16) * Math.cos(((2 * y + 1) * v * Math.PI) / 16);
        const cu = u === 0 ? Math.SQRT1_2 : 1;
        const cv = v === 0 ? Math.SQRT1_2 : 1;
        out[k] = Math.round((0.25 * cu * cv * sum) / quant[ZIGZAG[k]]);
      }
      blocks.push(out);
    }
  return blocks;
}

/** Options of {@link encodeJpeg}. */
export interface JpegOptions {
  progressive?: boolean;
  /** MCUs between restart markers (a DRI segment), baseline only. */
  restartInterval?: number;
}

/**
 * A JPEG of `planes` (one: grey; three: Y, Cb, Cr with their sampling factors):
 * baseline (SOF0, one interleaved scan) or progressive (SOF2: DC first with Al = 1,
 * the DC refinement, then AC bands 1-5 and 6-63 per component), one quantisation table,
 * the Huffman tables above.
 */
export function encodeJpeg(width: number, height: number, planes: Plane[], options: JpegOptions = {}): Uint8Array {
  const quant = Array.from({ length: 64 }, (_, i) => 2 + (i % 8) + ((i / 8) | 0));
  const hMax = Math.max(...planes.map((p) => p.h));
  const vMax = Math.max(...planes.map((p) => p.v));
  const mcusAcross = Math.ceil(width / (8 * hMax));
  const mcusDown = Math.ceil(height / (8 * vMax));
  const grids = planes.map((p) => ({ across: mcusAcross * p.h, down: mcusDown * p.v }));
  const blocks = planes.map((p, c) => planeBlocks(p, grids[c].across, grids[c].down, quant));
  const out: number[] = [0xff, 0xd8];
  const segment = (marker: number, body: number[]): void => void out.push(0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body);
  segment(0xdb, [0, ...ZIGZAG.map((n) => quant[n])]);
  segment(options.progressive ? 0xc2 : 0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, planes.length, ...planes.flatMap((p, c) => [c + 1, (p.h << 4) | p.v, 0])]);
  segment(0xc4, [0x00, ...DC_BITS, ...DC_VALUES]);
  segment(0xc4, [0x10, ...AC_BITS, ...AC_VALUES]);
  if (options.restartInterval) segment(0xdd, [options.restartInterval >> 8, options.restartInterval & 0xff]);

  /** One scan: its header, then its blocks in scan order through `code`, restart markers between intervals. */
  const scan = (components: number[], ss: number, se: number, ah: number, al: number, code: (w: BitWriter, c: number, block: Int32Array, pred: number[]) => void): void => {
    segment(0xda, [components.length, ...components.flatMap((c) => [c + 1, 0x00]), ss, se, (ah << 4) | al]);
    const w = new BitWriter();
    const pred = planes.map(() => 0);
    const order: [number, Int32Array][] = [];
    if (components.length === 1) {
      // A scan of one component visits only the blocks the component's own size needs.
      const c = components[0];
      const p = planes[c];
      const across = Math.ceil(Math.ceil((width * p.h) / hMax) / 8);
      const down = Math.ceil(Math.ceil((height * p.v) / vMax) / 8);
      for (let by = 0; by < down; by++) for (let bx = 0; bx < across; bx++) order.push([c, blocks[c][by * grids[c].across + bx]]);
    } else {
      for (let my = 0; my < mcusDown; my++)
        for (let mx = 0; mx < mcusAcross; mx++)
          for (const c of components)
            for (let y = 0; y < planes[c].v; y++) for (let x = 0; x < planes[c].h; x++) order.push([c, blocks[c][(my * planes[c].v + y) * grids[c].across + mx * planes[c].h + x]]);
    }
    const perMcu = components.length === 1 ? 1 : components.reduce((n, c) => n + planes[c].h * planes[c].v, 0);
    const interval = options.restartInterval && !options.progressive ? options.restartInterval * perMcu : Infinity;
    order.forEach(([c, block], i) => {
      if (i > 0 && i % interval === 0) {
        w.align();
        w.bytes.push(0xff, 0xd0 + (((i / interval) | 0) - 1) % 8);
        pred.fill(0);
      }
      code(w, c, block, pred);
    });
    w.align();
    out.push(...w.bytes);
  };

  const dcFirst = (al: number) => (w: BitWriter, c: number, block: Int32Array, pred: number[]): void => {
    const dc = block[0] >> al;
    const [size, bits] = category(dc - pred[c]);
    pred[c] = dc;
    huff(w, DC_CODES, size);
    w.put(bits, size);
  };
  const acBand = (ss: number, se: number) => (w: BitWriter, _c: number, block: Int32Array): void => {
    let run = 0;
    for (let k = ss; k <= se; k++) {
      if (block[k] === 0) {
        run++;
        continue;
      }
      for (; run > 15; run -= 16) huff(w, AC_CODES, 0xf0);
      const [size, bits] = category(block[k]);
      huff(w, AC_CODES, (run << 4) | size);
      w.put(bits, size);
      run = 0;
    }
    if (run > 0) huff(w, AC_CODES, 0x00);
  };
  const all = planes.map((_, c) => c);
  if (!options.progressive) {
    scan(all, 0, 63, 0, 0, (w, c, block, pred) => {
      dcFirst(0)(w, c, block, pred);
      acBand(1, 63)(w, c, block);
    });
  } else {
    scan(all, 0, 0, 0, 1, dcFirst(1));
    scan(all, 0, 0, 1, 0, (w, _c, block) => w.put(block[0] & 1, 1));
    for (const c of all) {
      scan([c], 1, 5, 0, 0, acBand(1, 5));
      scan([c], 6, 63, 0, 0, acBand(6, 63));
    }
  }
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}
