/**
 * The comparison of the pipeline with another version of it (Compare with HEAD / with File):
 * the totals' changes at the top, then each changed, added or removed layer with its changes
 * of parameters, MACs, weights (memory), latency and energy, a click showing it in the graph;
 * "Clear comparison" removes the overlay. The graph's layer nodes carry the same changes as a
 * badge ({@link CompareBadge}), read from {@link ComparisonContext}. Figures are after (the
 * editor's text) minus before (the version compared with), in the units the CLI's
 * `sense diff` prints.
 */
import { createContext, useContext } from 'react';
import { formatBytes, formatCountShort, formatHours, formatMj, formatMs, formatSigned } from '../../language/figures';
import type { ComparisonView, LayerDelta } from '../protocol';

/** The changed layers of the comparison shown, by layer id; undefined when none is shown. */
export const ComparisonContext = createContext<ReadonlyMap<string, LayerDelta> | undefined>(undefined);

/** The layers of `c` by id, for {@link ComparisonContext}. */
export function layerDeltas(c: ComparisonView | undefined): ReadonlyMap<string, LayerDelta> | undefined {
  return c ? new Map(c.layers.map((l) => [l.id, l])) : undefined;
}

/** The words of a layer's change: status, move and compression, then every figure that changed. */
function deltaParts(d: LayerDelta): string[] {
  const parts: string[] = [];
  if (d.status === 'added' || d.status === 'removed') parts.push(d.status);
  if (d.moved) parts.push(`moved ${d.processorBefore} → ${d.processorAfter}`);
  if (d.compressionChanged) parts.push('compression changed');
  if (d.paramsDelta !== 0) parts.push(`${formatSigned(d.paramsDelta, formatCountShort)} params`);
  if (d.macsDelta !== 0) parts.push(`${formatSigned(d.macsDelta, formatCountShort)} MACs`);
  if (d.weightBytesDelta !== 0) parts.push(`${formatSigned(d.weightBytesDelta, formatBytes)} weights`);
  if (d.latencyMsDelta !== 0) parts.push(formatSigned(d.latencyMsDelta, formatMs));
  if (d.energyMjDelta !== 0) parts.push(formatSigned(d.energyMjDelta, formatMj));
  return parts;
}

/** Smaller is better for every figure compared, so a decrease reads as a gain. */
function trend(x: number): string {
  return x < 0 ? 'is-better' : x > 0 ? 'is-worse' : '';
}

/** The badge of a layer node under a comparison, between its processor and latency: its parameter change (else its latency change, or that it moved), every change in its tooltip. */
export function CompareBadge({ layerId }: { layerId: string }) {
  const d = useContext(ComparisonContext)?.get(layerId);
  if (!d) return null;
  const all = deltaParts(d).join(', ');
  const short = d.paramsDelta !== 0 ? formatSigned(d.paramsDelta, formatCountShort) : d.latencyMsDelta !== 0 ? formatSigned(d.latencyMsDelta, formatMs) : d.moved ? 'moved' : d.status;
  return (
    <span className={`sense-compare-badge ${trend(d.paramsDelta !== 0 ? d.paramsDelta : d.latencyMsDelta)}`} data-testid="compare-badge" title={`Compared: ${all}`} aria-label={`Compared: ${all}`}>
      <i className="codicon codicon-diff" aria-hidden="true" /> {short}
    </span>
  );
}

/** Props of {@link ComparePanel}. */
export interface ComparePanelProps {
  comparison: ComparisonView;
  onClear: () => void;
  /** Shows a layer in the graph and the text (removed layers have no node and no line). */
  onSelect: (layerId: string) => void;
}

/** The comparison's list: totals first, then the changed layers and processors. */
export function ComparePanel({ comparison: c, onClear, onSelect }: ComparePanelProps) {
  const t = c.total;
  const totals: [string, number, (x: number) => string][] = [
    ['Latency', t.latencyMsDelta, formatMs],
    ['Energy / inference', t.energyPerInferenceMjDelta, formatMj],
    ['Parameters', t.paramsDelta, formatCountShort],
    ['MACs', t.macsDelta, formatCountShort],
    ['Weights', t.weightBytesDelta, formatBytes],
    ['Memory', t.memoryBytesDelta, formatBytes],
  ];
  return (
    <section className="sense-panel sense-compare" aria-label={`Comparison with ${c.against}`} data-testid="compare-panel">
      <header className="sense-compare-head">
        <h3>
          <i className="codicon codicon-diff" aria-hidden="true" /> Compared with {c.against}
        </h3>
        <button type="button" className="sense-link-button" onClick={onClear} data-testid="compare-clear">
          Clear comparison
        </button>
      </header>
      <dl className="sense-compare-totals">
        {totals.map(([label, x, format]) => (
          <div key={label} className={trend(x)}>
            <dt>{label}</dt>
            <dd>{formatSigned(x, format)}</dd>
          </div>
        ))}
        {t.batteryLifeHoursDelta !== null ? (
          <div className={trend(-t.batteryLifeHoursDelta)}>
            <dt>Battery life</dt>
            <dd>{formatSigned(t.batteryLifeHoursDelta, formatHours)}</dd>
          </div>
        ) : null}
      </dl>
      {c.targetChanged ? <p className="sense-muted">The target device differs between the two versions.</p> : null}
      {c.layers.length === 0 ? (
        <p className="sense-muted">No layer changed.</p>
      ) : (
        <ul className="sense-compare-layers">
          {c.layers.map((d) => (
            <li key={d.id} data-testid="compare-layer">
              {d.status === 'removed' ? (
                <span className="sense-id">{d.id}</span>
              ) : (
                <button type="button" className="sense-link-button sense-id" onClick={() => onSelect(d.id)}>
                  {d.id}
                </button>
              )}{' '}
              <span className="sense-muted">{d.kind}</span> {deltaParts(d).join(' · ')}
            </li>
          ))}
        </ul>
      )}
      {c.processors.length > 0 ? (
        <ul className="sense-compare-processors">
          {c.processors.map((p) => (
            <li key={p.name}>
              <span className="sense-proc-chip">{p.name}</span> {p.status === 'changed' ? '' : `${p.status} · `}memory {formatSigned(p.memoryBytesDelta, formatBytes)} · busy {formatSigned(p.latencyMsDelta, formatMs)} · {formatSigned(p.energyMjDelta, formatMj)}
            </li>
          ))}
        </ul>
      ) : null}
      <p className="sense-muted">
        {c.unchangedLayers} unchanged layer{c.unchangedLayers === 1 ? '' : 's'}; figures are this text minus {c.against}.
      </p>
    </section>
  );
}
