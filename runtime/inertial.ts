/**
 * Inertial recordings: CSV parsing, axis selection, resampling onto the pipeline's rate and
 * windowing. Pure TypeScript (text or bytes in; no file system).
 *
 * CSV format: an optional number of `#` comment lines and blank lines, then a header row,
 * then one row per sample, comma-separated. Column names (case-insensitive, surrounding
 * spaces and double quotes ignored):
 * - `t`: optional time in seconds, strictly increasing;
 * - `ax`, `ay`, `az`: accelerometer (any unit, typically m/s^2 or g);
 * - `gx`, `gy`, `gz`: gyroscope (typically rad/s);
 * - `mx`, `my`, `mz`: magnetometer (typically uT);
 * - `p`: barometer pressure (typically hPa); its one axis is named `x` in the pipeline.
 * Other columns (labels, ids) are ignored. A `magnitude` axis is sqrt(x^2 + y^2 + z^2) of
 * that sensor's three columns (|p| for the barometer).
 *
 * Without `t` the rows are taken to be sampled at the pipeline's rate. With `t` the
 * columns are linearly interpolated onto the grid t0 + k / rateHz up to the last time, so
 * jittery or differently-clocked logs line up with the pipeline's rate.
 */
import { windowSamples } from '../language/feature-shapes';
import type { InertialSensorKind, InputSpec } from '../language/pipeline-model';

/** Column names per sensor and axis; `magnitude` is computed from the x/y/z columns. */
export const INERTIAL_COLUMNS: Record<InertialSensorKind, { x: string; y?: string; z?: string; pressure?: string }> = {
  accelerometer: { x: 'ax', y: 'ay', z: 'az' },
  gyroscope: { x: 'gx', y: 'gy', z: 'gz' },
  magnetometer: { x: 'mx', y: 'my', z: 'mz' },
  barometer: { x: 'p', pressure: 'p' },
};

const KNOWN = new Set(['t', 'ax', 'ay', 'az', 'gx', 'gy', 'gz', 'mx', 'my', 'mz', 'p']);

/** A parsed inertial CSV: every known column, as read, in file order. */
export interface InertialRecording {
  /** The name used in error messages (a file name or description). */
  name: string;
  /** Number of data rows. */
  rows: number;
  /** Time of each row in seconds, when the CSV has a `t` column. */
  timeS?: Float64Array;
  /** The known sensor columns present (`ax`, `gy`, `p`, ...), one value per row. */
  columns: Record<string, Float64Array>;
}

type InertialInput = Extract<InputSpec, { kind: 'inertial' }>;

/**
 * Largest magnitude of a sensor reading, in the column's unit: far above any accelerometer,
 * gyroscope, magnetometer or barometer (Pa included), and low enough that the float32
 * features (sums of squares over a window of up to 10^8 samples) stay finite.
 */
export const MAX_SENSOR_MAGNITUDE = 1e12;

/**
 * Parses an inertial CSV (see this module's header for the format). `text` may be the
 * file's bytes (UTF-8). Throws an Error naming `name`, the 1-based line and the column for
 * a missing header, a duplicated known column, a row with the wrong number of fields, a
 * value that is not a finite number, a sensor reading beyond {@link MAX_SENSOR_MAGNITUDE},
 * a time that does not increase, or no data row.
 */
export function parseInertialCsv(text: string | Uint8Array, name = 'inertial CSV'): InertialRecording {
  const src = typeof text === 'string' ? text : new TextDecoder('utf-8').decode(text);
  const fail = (line: number, msg: string): never => {
    throw new Error(`${name}, line ${line}: ${msg}`);
  };
  let header: string[] | undefined;
  const colIndex: { name: string; index: number }[] = [];
  const values: number[][] = [];
  const times: number[] = [];
  let timeCol = -1;
  let lastT = -Infinity;
  let lineNo = 0;
  let pos = 0;
  while (pos <= src.length) {
    let end = src.indexOf('\n', pos);
    if (end < 0) end = src.length;
    let line = src.slice(pos, end);
    pos = end + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const fields = line.split(',');
    if (!header) {
      header = fields.map((f) => f.trim().replace(/^"(.*)"$/, '$1').trim().toLowerCase());
      const seen = new Set<string>();
      header.forEach((h, i) => {
        if (!KNOWN.has(h)) return;
        if (seen.has(h)) fail(lineNo, `column '${h}' appears twice in the header`);
        seen.add(h);
        if (h === 't') timeCol = i;
        else colIndex.push({ name: h, index: i });
      });
      if (colIndex.length === 0)
        fail(lineNo, `the header names no sensor column (got ${header.map((h) => `'${h}'`).join(', ').slice(0, 200)}); expected some of ax, ay, az, gx, gy, gz, mx, my, mz, p and optionally t`);
      values.push(...colIndex.map(() => []));
      continue;
    }
    if (fields.length !== header.length) fail(lineNo, `${fields.length} fields, but the header has ${header.length}`);
    const num = (i: number, col: string): number => {
      const f = fields[i].trim();
      const v = f === '' ? NaN : Number(f);
      if (!Number.isFinite(v)) fail(lineNo, `column '${col}' holds '${f.slice(0, 40)}', not a finite number`);
      // The features are float32 and include sums of squares: a reading beyond this bound would overflow them to Infinity.
      if (col !== 't' && Math.abs(v) > MAX_SENSOR_MAGNITUDE) fail(lineNo, `column '${col}' holds ${v}, beyond the ±${MAX_SENSOR_MAGNITUDE} no inertial sensor reads; the file is corrupt`);
      return v;
    };
    if (timeCol >= 0) {
      const t = num(timeCol, 't');
      if (!(t > lastT)) fail(lineNo, `time ${t} s does not increase (previous row: ${lastT} s); sort the rows or remove duplicates`);
      lastT = t;
      times.push(t);
    }
    colIndex.forEach((c, j) => values[j].push(num(c.index, c.name)));
  }
  if (!header) throw new Error(`${name}: no header row; the first line must name the columns, for example t,ax,ay,az`);
  const rows = values.length > 0 ? values[0].length : 0;
  if (rows === 0) throw new Error(`${name}: no data rows after the header`);
  const columns: Record<string, Float64Array> = {};
  colIndex.forEach((c, j) => (columns[c.name] = Float64Array.from(values[j])));
  return { name, rows, columns, ...(timeCol >= 0 ? { timeS: Float64Array.from(times) } : {}) };
}

/** Column `col` at the pipeline's rate: as read, or interpolated onto the time grid. */
function resampledColumn(rec: InertialRecording, col: string, rateHz: number, cache: Map<string, Float64Array>): Float64Array | undefined {
  const v = rec.columns[col];
  if (!v || !rec.timeS) return v;
  let out = cache.get(col);
  if (out) return out;
  const t = rec.timeS;
  const t0 = t[0];
  const n = Math.floor((t[t.length - 1] - t0) * rateHz + 1e-9) + 1;
  out = new Float64Array(n);
  let j = 0;
  for (let k = 0; k < n; k++) {
    const tk = t0 + k / rateHz;
    while (j + 2 < t.length && t[j + 1] <= tk) j++;
    if (j + 1 >= t.length) {
      out[k] = v[j];
      continue;
    }
    const a = Math.min(1, Math.max(0, (tk - t[j]) / (t[j + 1] - t[j])));
    out[k] = v[j] + a * (v[j + 1] - v[j]);
  }
  cache.set(col, out);
  return out;
}

/**
 * The input's axes as rows at `input.rateHz`: one Float32Array per listed axis, sensors in
 * order and axes in order, as {@link computeFeatures} expects. With times, each column is
 * interpolated onto the pipeline's rate first and magnitudes are taken afterwards (see this
 * module's header). Throws when a needed column is missing.
 */
export function inertialChannels(rec: InertialRecording, input: InertialInput): Float32Array[] {
  const cache = new Map<string, Float64Array>();
  const rows: Float32Array[] = [];
  for (const { kind, axes } of input.sensors) {
    const cols = INERTIAL_COLUMNS[kind];
    const get = (col: string | undefined, what: string): Float64Array => {
      if (!col) throw new Error(`${rec.name}: the ${kind} has no ${what} axis; ${kind === 'barometer' ? 'use [pressure]' : 'use x, y, z or magnitude'}`);
      const v = resampledColumn(rec, col, input.rateHz, cache);
      if (!v) throw new Error(`${rec.name}: the pipeline reads the ${kind} ${what} axis but the CSV has no '${col}' column; add it to the header`);
      return v;
    };
    for (const axis of axes) {
      if (axis !== 'magnitude') rows.push(Float32Array.from(get(cols[axis], axis)));
      else if (kind === 'barometer') rows.push(Float32Array.from(get(cols.x, 'x'), Math.abs));
      else {
        const [x, y, z] = [get(cols.x, 'x'), get(cols.y, 'y'), get(cols.z, 'z')];
        rows.push(Float32Array.from(x, (v, i) => Math.hypot(v, y[i], z[i])));
      }
    }
  }
  return rows;
}

/**
 * Cuts the recording's axes (at `input.rateHz`) into windows of round(rateHz * windowS)
 * samples every round(rateHz * hopS); windows that do not fit are dropped. Each window is
 * one Float32Array per axis (views into the channels). Throws when the recording is
 * shorter than one window, naming both lengths.
 */
export function inertialWindows(rec: InertialRecording, input: InertialInput): Float32Array[][] {
  const chans = inertialChannels(rec, input);
  const len = windowSamples(input.rateHz, input.windowS);
  const hop = Math.max(1, Math.round(input.rateHz * input.hopS));
  const n = chans.length > 0 ? chans[0].length : 0;
  if (len < 1) throw new Error(`${rec.name}: a ${input.windowS} s window holds no sample at ${input.rateHz} Hz`);
  if (n < len)
    throw new Error(`${rec.name}: ${n} samples at ${input.rateHz} Hz (${(n / input.rateHz).toFixed(3)} s) is shorter than one ${input.windowS} s window (${len} samples); record longer or shorten the window`);
  const out: Float32Array[][] = [];
  for (let s = 0; s + len <= n; s += hop) out.push(chans.map((c) => c.subarray(s, s + len)));
  return out;
}
