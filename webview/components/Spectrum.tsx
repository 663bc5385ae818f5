/**
 * The compress panel's view of a layer's singular values: the spectrum plotted against
 * rank with labelled axes (singular value on a log scale at the left, the cumulative
 * spectral energy kept at the right), and the default rank the panel opens at. "Spectral
 * energy" is the sum of squared singular values a truncation keeps, a property of the
 * weight matrix; it is always named so, never plain "energy", which the panel uses for mJ.
 */
import { formatNumber, formatPercent } from '../../language/figures';

/** The share of spectral energy the default rank keeps at least. */
export const DEFAULT_ENERGY_FRACTION = 0.9;

/** `kept[k - 1]`: the fraction of the sum of squared singular values that ranks 1..k keep (1 for an all-zero spectrum). */
export function cumulativeEnergy(values: readonly number[]): number[] {
  const total = values.reduce((a, v) => a + v * v, 0);
  let kept = 0;
  return values.map((v) => {
    kept += v * v;
    return total > 0 ? kept / total : 1;
  });
}

/** The default rank and the sentence that explains it to the user. */
export interface DefaultRank {
  rank: number;
  why: string;
}

/**
 * The rank the compress panel opens at: the smallest that keeps 90% of the spectral
 * energy, unless that rank would make the factorised layer no smaller than the dense one,
 * in which case the break-even rank (the largest that still saves) is the default, and
 * the sentence says what 90% would have needed.
 */
export function defaultRank(values: readonly number[], breakEvenRank: number): DefaultRank {
  const kept = cumulativeEnergy(values);
  // The tolerance absorbs rounding in the running sum when the fraction is reached exactly.
  const index = kept.findIndex((k) => k >= DEFAULT_ENERGY_FRACTION - 1e-12);
  const forEnergy = Math.max(1, index < 0 ? values.length : index + 1);
  const percent = `${DEFAULT_ENERGY_FRACTION * 100}%`;
  if (breakEvenRank >= 1 && forEnergy > breakEvenRank) {
    return {
      rank: breakEvenRank,
      why: `Default rank ${breakEvenRank}, the break-even: keeping ${percent} of the spectral energy needs rank ${forEnergy}, which would save nothing.`,
    };
  }
  return { rank: forEnergy, why: `Default rank ${forEnergy}, the smallest that keeps ${percent} of the spectral energy.` };
}

/** Ticks at 1, 2 or 5 times a power of ten, at most `wanted` + 1 of them from 1 to `n`, always starting at rank 1. */
function rankTicks(n: number, wanted: number): number[] {
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(1, n / wanted)));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => n / s <= wanted + 1) ?? 10 * magnitude;
  const ticks = [1];
  for (let t = step; t <= n; t += step) if (t - 1 >= step / 2) ticks.push(t);
  return ticks;
}

/** Ticks of a log axis between `min` and `max`: decades, or 1-2-5 steps when the range spans less than about two decades. */
function logTicks(min: number, max: number): number[] {
  const inside = (mantissas: number[]): number[] => {
    const ticks: number[] = [];
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of mantissas) {
        const v = m * 10 ** e;
        if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) ticks.push(v);
      }
    }
    return ticks;
  };
  for (const mantissas of [[1], [1, 3], [1, 2, 5], [1, 1.5, 2, 3, 5, 7]]) {
    const ticks = inside(mantissas);
    if (ticks.length >= 3) return ticks.length > 6 ? ticks.filter((_, i) => i % Math.ceil(ticks.length / 5) === 0) : ticks;
  }
  return [min, max];
}

/** Props of {@link SpectrumPlot}. */
export interface SpectrumPlotProps {
  values: readonly number[];
  rank: number;
  breakEvenRank: number;
}

const WIDTH = 320;
const HEIGHT = 168;
const MARGIN = { left: 40, right: 42, top: 8, bottom: 34 };

/** The spectrum against rank, the kept ranks shaded, the break-even rank dashed, with both axes labelled. */
export function SpectrumPlot({ values, rank, breakEvenRank }: SpectrumPlotProps) {
  const n = values.length;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const max = Math.max(...values, 1e-12);
  const min = Math.min(max * 0.999, Math.max(Math.min(...values.filter((v) => v > 0)), max * 1e-6));
  const logMin = Math.log10(min);
  const logSpan = Math.max(1e-9, Math.log10(max) - logMin);
  const x = (r: number): number => MARGIN.left + ((r - 1) / Math.max(1, n - 1)) * plotW;
  const ySigma = (v: number): number => MARGIN.top + plotH - ((Math.log10(Math.max(v, min)) - logMin) / logSpan) * plotH;
  const yShare = (f: number): number => MARGIN.top + plotH - f * plotH;
  const kept = cumulativeEnergy(values);
  const step = Math.max(1, Math.floor(n / 600));
  let sigmaPath = '';
  let energyPath = '';
  for (let i = 0; i < n; i += step) {
    const cmd = i === 0 ? 'M' : 'L';
    sigmaPath += `${cmd}${x(i + 1).toFixed(1)},${ySigma(values[i]).toFixed(1)}`;
    energyPath += `${cmd}${x(i + 1).toFixed(1)},${yShare(kept[i]).toFixed(1)}`;
  }
  const kx = x(Math.min(Math.max(1, rank), n));
  const bottom = MARGIN.top + plotH;
  const right = MARGIN.left + plotW;
  return (
    <svg
      className="sense-spectrum"
      data-testid="spectrum-plot"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`Singular values of ${n} ranks on a log scale and the spectral energy kept; rank ${rank} keeps ${formatPercent(kept[Math.min(rank, n) - 1] ?? 1)}`}
    >
      <rect x={MARGIN.left} y={MARGIN.top} width={Math.max(0, kx - MARGIN.left)} height={plotH} className="sense-spectrum-kept" />
      <g className="sense-axis" data-testid="spectrum-x-axis">
        <line x1={MARGIN.left} x2={right} y1={bottom} y2={bottom} />
        {rankTicks(n, 5).map((t) => (
          <g key={t} className="sense-tick">
            <line x1={x(t)} x2={x(t)} y1={bottom} y2={bottom + 3} />
            <text x={x(t)} y={bottom + 14} textAnchor="middle">
              {t}
            </text>
          </g>
        ))}
        <text className="sense-axis-title" x={MARGIN.left + plotW / 2} y={HEIGHT - 3} textAnchor="middle">
          rank
        </text>
      </g>
      <g className="sense-axis" data-testid="spectrum-y-axis">
        <line x1={MARGIN.left} x2={MARGIN.left} y1={MARGIN.top} y2={bottom} />
        {logTicks(min, max).map((t) => (
          <g key={t} className="sense-tick">
            <line x1={MARGIN.left - 3} x2={MARGIN.left} y1={ySigma(t)} y2={ySigma(t)} />
            <text x={MARGIN.left - 5} y={ySigma(t) + 3} textAnchor="end">
              {formatNumber(t)}
            </text>
          </g>
        ))}
        <text className="sense-axis-title sense-spectrum-sigma-title" transform={`translate(11 ${MARGIN.top + plotH / 2}) rotate(-90)`} textAnchor="middle">
          singular value (log)
        </text>
      </g>
      <g className="sense-axis sense-axis-energy" data-testid="spectrum-energy-axis">
        <line x1={right} x2={right} y1={MARGIN.top} y2={bottom} />
        {[0, 0.5, DEFAULT_ENERGY_FRACTION, 1].map((f) => (
          <g key={f} className="sense-tick">
            <line x1={right} x2={right + 3} y1={yShare(f)} y2={yShare(f)} />
            <text x={right + 5} y={yShare(f) + 3}>
              {f * 100}%
            </text>
          </g>
        ))}
        <line x1={MARGIN.left} x2={right} y1={yShare(DEFAULT_ENERGY_FRACTION)} y2={yShare(DEFAULT_ENERGY_FRACTION)} className="sense-spectrum-guide" />
        <text className="sense-axis-title" transform={`translate(${WIDTH - 3} ${MARGIN.top + plotH / 2}) rotate(-90)`} textAnchor="middle">
          spectral energy kept
        </text>
      </g>
      <path d={energyPath} className="sense-spectrum-energy" />
      <path d={sigmaPath} className="sense-spectrum-line" />
      {breakEvenRank > 0 && breakEvenRank < n ? (
        <line x1={x(breakEvenRank)} x2={x(breakEvenRank)} y1={MARGIN.top} y2={bottom} className="sense-spectrum-breakeven">
          <title>{`break-even rank ${breakEvenRank}: above it the factorised layer is no smaller than the dense one`}</title>
        </line>
      ) : null}
      <line x1={kx} x2={kx} y1={MARGIN.top} y2={bottom} className="sense-spectrum-rank" />
    </svg>
  );
}
