/**
 * The estimates panel: pipeline totals, per-processor bars (latency, energy, memory
 * against its limit), the schedule's timeline, and Auto-partition with α/β sliders.
 */
import { useEffect, useState } from 'react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import type { TimelineEntry, ViewState } from '../protocol';
import { formatBytes, formatCountShort, formatHours, formatMj, formatMs } from '../../language/figures';

/** Props of {@link SidePanel}. */
export interface SidePanelProps {
  view: ViewState;
  busy: boolean;
  onAutoPartition: (alpha: number, beta: number) => void;
  /** A model shown read-only: no Auto-partition, which writes place lines. */
  readOnly?: boolean;
}

function Bar({ label, value, max, text, over }: { label: string; value: number; max: number; text: string; over?: boolean }) {
  const pct = max > 0 ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className="sense-bar" role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value} aria-valuetext={text}>
      <span className="sense-bar-label">{label.split(' ').at(-1)}</span>
      <span className="sense-bar-track">
        <span className={`sense-bar-fill${over ? ' is-over' : ''}`} style={{ width: `${pct}%` }} />
      </span>
      <span className="sense-bar-text">{text}</span>
    </div>
  );
}

/** Width of the timeline's time axis in its viewBox units (the SVG is 300 wide, 40 for the labels). */
const TIMELINE_WIDTH_PX = 256;

/** One drawn bar of the timeline: busy intervals of one processor that touch at the drawing's resolution. */
export interface TimelineBar {
  startMs: number;
  endMs: number;
  ops: string[];
}

/**
 * Merges a processor's busy intervals (in start order) into the bars drawn on a
 * `widthPx` axis for `makespanMs`: intervals less than a pixel apart are one bar, so a
 * pipeline of thousands of layers draws at most about `widthPx` bars per processor
 * instead of an SVG element per layer.
 */
export function timelineBars(entries: readonly TimelineEntry[], makespanMs: number, widthPx: number): TimelineBar[] {
  const pixelMs = makespanMs / widthPx;
  const bars: TimelineBar[] = [];
  for (const e of [...entries].sort((a, b) => a.startMs - b.startMs)) {
    const last = bars[bars.length - 1];
    if (last && e.startMs - last.endMs < pixelMs) {
      last.endMs = Math.max(last.endMs, e.endMs);
      last.ops.push(e.opId);
    } else bars.push({ startMs: e.startMs, endMs: e.endMs, ops: [e.opId] });
  }
  return bars;
}

/** Totals, processor bars, timeline and auto-partition. */
export function SidePanel({ view, busy, onAutoPartition, readOnly }: SidePanelProps) {
  const [alpha, setAlpha] = useState(view.optimize.alpha);
  const [beta, setBeta] = useState(view.optimize.beta);
  useEffect(() => {
    setAlpha(view.optimize.alpha);
    setBeta(view.optimize.beta);
  }, [view.optimize.alpha, view.optimize.beta]);
  const t = view.totals;
  const maxLatency = Math.max(...view.target.processors.map((p) => p.latencyMs), t.endToEndLatencyMs, 1e-9);
  const totalEnergy = Math.max(t.energyPerInferenceMj, 1e-9);
  const makespan = Math.max(...view.timeline.map((e) => e.endMs), 1e-9);
  const overBudget = t.budgetMs !== undefined && t.endToEndLatencyMs > t.budgetMs;
  return (
    <section className="sense-panel" aria-label="Estimates">
      <h2>
        <i className="codicon codicon-dashboard" aria-hidden="true" /> Estimates on {view.target.name}
      </h2>
      <dl className="sense-totals">
        <dt>{t.expectedLatencyMs !== undefined ? 'Expected latency' : 'End-to-end latency'}</dt>
        {t.expectedLatencyMs !== undefined ? (
          <dd data-testid="expected-latency" title="Over the gates' outcomes, with the expect lines' rates">
            {formatMs(t.expectedLatencyMs)}
            <span className="sense-muted"> · every gate open </span>
            <span data-testid="total-latency" className={overBudget ? 'is-over' : ''}>{formatMs(t.endToEndLatencyMs)}</span>
            {t.budgetMs !== undefined ? <span className="sense-muted"> of {formatMs(t.budgetMs)} budget</span> : null}
          </dd>
        ) : (
          <dd data-testid="total-latency" className={overBudget ? 'is-over' : ''}>
            {formatMs(t.endToEndLatencyMs)}
            {t.budgetMs !== undefined ? <span className="sense-muted"> of {formatMs(t.budgetMs)} budget</span> : null}
          </dd>
        )}
        <dt>Energy per inference</dt>
        <dd data-testid="total-energy">{formatMj(t.energyPerInferenceMj)}</dd>
        {t.batteryLifeHours !== undefined ? (
          <>
            <dt>Battery life</dt>
            <dd data-testid="battery-life">{formatHours(t.batteryLifeHours)}</dd>
          </>
        ) : null}
        {t.params !== undefined ? (
          <>
            <dt>Parameters</dt>
            <dd data-testid="total-params">{formatCountShort(t.params)}</dd>
          </>
        ) : null}
        {t.macs !== undefined ? (
          <>
            <dt>MACs</dt>
            <dd>{formatCountShort(t.macs)}</dd>
          </>
        ) : null}
      </dl>

      <h3>Processors</h3>
      <ul className="sense-processors">
        {view.target.processors.map((p) => (
          <li key={p.name} className={`proc-${p.colorIndex}`} data-processor={p.name}>
            <div className="sense-proc-name">
              <span className="sense-swatch" aria-hidden="true" />
              {p.name}
              {p.remote ? <i className="codicon codicon-cloud" aria-label="remote" /> : null}
            </div>
            <Bar label={`${p.name} latency`} value={p.latencyMs} max={maxLatency} text={formatMs(p.latencyMs)} />
            <Bar label={`${p.name} energy`} value={p.energyMj} max={totalEnergy} text={formatMj(p.energyMj)} />
            <Bar
              label={`${p.name} memory`}
              value={p.memoryBytes}
              max={p.memoryLimitBytes}
              over={p.memoryBytes > p.memoryLimitBytes}
              text={`${formatBytes(p.memoryBytes)} / ${formatBytes(p.memoryLimitBytes)}`}
            />
          </li>
        ))}
      </ul>

      <h3>Timeline of one inference</h3>
      <svg className="sense-timeline" viewBox={`0 0 300 ${view.target.processors.length * 18 + 14}`} role="img" aria-label={`Schedule: ${formatMs(makespan)} makespan`}>
        {view.target.processors.map((p, row) => (
          <g key={p.name} className={`proc-${p.colorIndex}`}>
            <text x={0} y={row * 18 + 12} className="sense-timeline-label">
              {p.name}
            </text>
            {timelineBars(view.timeline.filter((e) => e.processor === p.name), makespan, TIMELINE_WIDTH_PX).map((bar, i) => (
              <rect key={i} x={40 + (bar.startMs / makespan) * TIMELINE_WIDTH_PX} y={row * 18 + 2} width={Math.max(0.8, ((bar.endMs - bar.startMs) / makespan) * TIMELINE_WIDTH_PX)} height={13} className="sense-timeline-op">
                <title>{`${bar.ops.length === 1 ? bar.ops[0] : `${bar.ops.length} ops, ${bar.ops[0]} to ${bar.ops[bar.ops.length - 1]}`}: ${formatMs(bar.startMs)} – ${formatMs(bar.endMs)}`}</title>
              </rect>
            ))}
          </g>
        ))}
        <text x={40} y={view.target.processors.length * 18 + 12} className="sense-timeline-label">0</text>
        <text x={296} y={view.target.processors.length * 18 + 12} textAnchor="end" className="sense-timeline-label">
          {formatMs(makespan)}
        </text>
      </svg>

      {readOnly ? null : (
        <>
          <h3>Partition</h3>
          <div className="sense-sliders">
            <label>
              α energy <input type="range" min={0} max={1} step={0.05} value={alpha} aria-label="alpha, weight of energy" onChange={(e) => setAlpha(Number(e.target.value))} />
              <output>{alpha.toFixed(2)}</output>
            </label>
            <label>
              β latency <input type="range" min={0} max={1} step={0.05} value={beta} aria-label="beta, weight of latency" onChange={(e) => setBeta(Number(e.target.value))} />
              <output>{beta.toFixed(2)}</output>
            </label>
          </div>
          <VscodeButton data-testid="auto-partition" disabled={busy} onClick={() => onAutoPartition(alpha, beta)}>
            <i className="codicon codicon-wand" aria-hidden="true" /> Auto-partition
          </VscodeButton>
          <p className="sense-muted sense-hint">Minimises α·energy + β·latency under memory limits{t.budgetMs !== undefined ? ` and the ${formatMs(t.budgetMs)} budget` : ''}; writes place lines.</p>
        </>
      )}
    </section>
  );
}
