/**
 * The inspector of the selected node. For a dense or conv layer: its singular-value
 * spectrum, a rank slider with the retained energy, live deltas of parameters, MACs,
 * latency, energy and estimated error (from the host's `compressionPreview` replies,
 * debounced), Apply; K-SVD and int8 as other methods. For any layer or block: the
 * processor picker, which asks the host to write a `place` line.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import { FEATURES_NODE_ID, type BlockView, type CompressionMethod, type LayerView, type ToWebviewBody, type ViewState } from '../protocol';
import { describeCompression, formatCountShort, formatDelta, formatMj, formatMs } from '../../language/figures';
import { formatShape } from '../format';

/** A `spectrum` reply. */
export type SpectrumReply = Extract<ToWebviewBody, { type: 'spectrum' }>;
/** A `compressionPreview` reply. */
export type PreviewReply = Extract<ToWebviewBody, { type: 'compressionPreview' }>;

/** Props of {@link Inspector}. */
export interface InspectorProps {
  view: ViewState;
  selected: string;
  spectrum: SpectrumReply | undefined;
  preview: PreviewReply | undefined;
  onRequestSpectrum: (layerId: string) => void;
  onPreview: (layerId: string, method: CompressionMethod) => void;
  onApply: (layerId: string, method: CompressionMethod) => void;
  onRemove: (layerId: string) => void;
  onPlace: (targets: string[], processor: string) => void;
  onReveal: (id: string) => void;
}

/** Delay between the last slider move and the preview request. */
export const PREVIEW_DEBOUNCE_MS = 120;

function Placement({ view, targets, current, label, onPlace }: { view: ViewState; targets: string[]; current: string | undefined; label: string; onPlace: InspectorProps['onPlace'] }) {
  return (
    <label className="sense-field">
      <span>{label}</span>
      <select
        className="sense-select"
        aria-label={label}
        value={current ?? ''}
        onChange={(e) => {
          if (e.target.value) onPlace(targets, e.target.value);
        }}
      >
        {current === undefined ? <option value="">(mixed)</option> : null}
        {view.target.processors.map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function Spectrum({ values, rank, breakEven }: { values: number[]; rank: number; breakEven: number }) {
  const width = 300;
  const height = 110;
  const max = Math.max(...values, 1e-12);
  const min = Math.max(Math.min(...values.filter((v) => v > 0)), max * 1e-6);
  const logMax = Math.log10(max);
  const logMin = Math.log10(min);
  const y = (v: number): number => height - 4 - ((Math.log10(Math.max(v, min)) - logMin) / Math.max(1e-9, logMax - logMin)) * (height - 12);
  const x = (i: number): number => (i / Math.max(1, values.length - 1)) * width;
  const step = Math.max(1, Math.floor(values.length / 600));
  let path = '';
  for (let i = 0; i < values.length; i += step) path += `${path ? 'L' : 'M'}${x(i).toFixed(1)},${y(values[i]).toFixed(1)}`;
  const kx = x(Math.max(0, rank - 1));
  return (
    <svg className="sense-spectrum" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Singular-value spectrum of ${values.length} values, log scale; rank ${rank} kept`}>
      <rect x={0} y={0} width={kx} height={height} className="sense-spectrum-kept" />
      <path d={path} className="sense-spectrum-line" />
      {breakEven > 0 && breakEven < values.length ? <line x1={x(breakEven - 1)} x2={x(breakEven - 1)} y1={0} y2={height} className="sense-spectrum-breakeven"><title>{`break-even rank ${breakEven}`}</title></line> : null}
      <line x1={kx} x2={kx} y1={0} y2={height} className="sense-spectrum-rank" />
    </svg>
  );
}

type MethodKind = 'svd' | 'sparse' | 'int8';

function CompressionEditor(props: InspectorProps & { layer: LayerView }) {
  const { layer, spectrum, preview, onRequestSpectrum, onPreview, onApply, onRemove } = props;
  const values = spectrum?.layerId === layer.id ? spectrum.singularValues : undefined;
  const full = values?.length ?? Math.min(layer.inputShape.reduce((a, b) => a * b, 1), layer.outputShape[0] ?? 1);
  const initialRank = layer.compression?.kind === 'svd' && layer.compression.criterion === 'rank' ? layer.compression.rank : undefined;
  const [kind, setKind] = useState<MethodKind>(layer.compression?.kind ?? 'svd');
  const [rank, setRank] = useState<number | undefined>(initialRank);
  const [atoms, setAtoms] = useState(layer.compression?.kind === 'sparse' ? layer.compression.atoms : 128);
  const [nonzeros, setNonzeros] = useState(layer.compression?.kind === 'sparse' ? layer.compression.nonzeros : 8);

  useEffect(() => {
    if (spectrum?.layerId !== layer.id) onRequestSpectrum(layer.id);
  }, [layer.id]);
  const effectiveRank = Math.max(1, Math.min(full, rank ?? spectrum?.suggestedRank ?? Math.max(1, Math.floor((spectrum?.breakEvenRank ?? full) / 2))));

  const method = useMemo<CompressionMethod>(() => {
    if (kind === 'svd') return { kind: 'svd', criterion: 'rank', rank: effectiveRank };
    if (kind === 'sparse') return { kind: 'sparse', atoms, nonzeros };
    return { kind: 'int8' };
  }, [kind, effectiveRank, atoms, nonzeros]);
  const methodKey = JSON.stringify(method);

  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => onPreview(layer.id, method), PREVIEW_DEBOUNCE_MS);
    return () => clearTimeout(timer.current);
  }, [layer.id, methodKey]);

  const retained = useMemo(() => {
    if (!values) return undefined;
    let total = 0;
    let kept = 0;
    values.forEach((v, i) => {
      total += v * v;
      if (i < effectiveRank) kept += v * v;
    });
    return total > 0 ? kept / total : 1;
  }, [values, effectiveRank]);

  const matching = preview && preview.layerId === layer.id && JSON.stringify(preview.method) === methodKey ? preview : undefined;
  const rows: [string, number, number, (n: number) => string][] = matching
    ? [
        ['Parameters', matching.before.params, matching.after.params, formatCountShort],
        ['MACs', matching.before.macs, matching.after.macs, formatCountShort],
        ['Latency', matching.before.latencyMs, matching.after.latencyMs, formatMs],
        ['Energy', matching.before.energyMj, matching.after.energyMj, formatMj],
      ]
    : [];

  return (
    <div className="sense-compress">
      <h3>Compress</h3>
      <div className="sense-methods" role="radiogroup" aria-label="Compression method">
        {(
          [
            ['svd', 'SVD'],
            ['sparse', 'K-SVD'],
            ['int8', 'int8'],
          ] as const
        ).map(([k, text]) => (
          <label key={k}>
            <input type="radio" name={`method-${layer.id}`} value={k} checked={kind === k} onChange={() => setKind(k)} /> {text}
          </label>
        ))}
      </div>
      {kind === 'svd' ? (
        <>
          {values ? <Spectrum values={values} rank={effectiveRank} breakEven={spectrum?.breakEvenRank ?? 0} /> : <p className="sense-muted">Loading the spectrum…</p>}
          <label className="sense-field">
            <span>Rank</span>
            <input
              type="range"
              data-testid="rank-slider"
              min={1}
              max={full}
              step={1}
              value={effectiveRank}
              aria-label="SVD rank"
              aria-valuetext={`rank ${effectiveRank}${retained !== undefined ? `, ${(retained * 100).toFixed(1)}% energy retained` : ''}`}
              onChange={(e) => setRank(Number(e.target.value))}
            />
            <output data-testid="rank-value">{effectiveRank}</output>
          </label>
          <p className="sense-muted">
            {retained !== undefined ? <span data-testid="retained-energy">{(retained * 100).toFixed(1)}% energy retained</span> : null}
            {spectrum?.layerId === layer.id ? ` · smaller than dense below rank ${spectrum.breakEvenRank}` : ''}
          </p>
        </>
      ) : null}
      {kind === 'sparse' ? (
        <>
          <label className="sense-field">
            <span>Atoms</span>
            <input type="number" min={1} max={65536} value={atoms} aria-label="K-SVD dictionary atoms" onChange={(e) => setAtoms(Math.max(1, Math.floor(Number(e.target.value) || 1)))} />
          </label>
          <label className="sense-field">
            <span>Non-zeros</span>
            <input type="number" min={1} max={atoms} value={nonzeros} aria-label="K-SVD non-zeros per column" onChange={(e) => setNonzeros(Math.max(1, Math.floor(Number(e.target.value) || 1)))} />
          </label>
        </>
      ) : null}
      {kind === 'int8' ? <p className="sense-muted">Per-channel int8 weights in the exported model.</p> : null}
      <table className="sense-deltas" aria-label="Effect of the compression" aria-busy={!matching}>
        <thead>
          <tr>
            <th scope="col" />
            <th scope="col">now</th>
            <th scope="col">after</th>
            <th scope="col">change</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([name, before, after, fmt]) => (
            <tr key={name} data-testid={`delta-${name.toLowerCase()}`}>
              <th scope="row">{name}</th>
              <td>{fmt(before)}</td>
              <td>{fmt(after)}</td>
              <td className={after < before ? 'is-better' : after > before ? 'is-worse' : ''}>{formatDelta(before, after)}</td>
            </tr>
          ))}
          {matching ? (
            <tr data-testid="delta-error">
              <th scope="row">Est. error</th>
              <td colSpan={3}>{(matching.estimatedError * 100).toFixed(2)}% relative output error</td>
            </tr>
          ) : (
            <tr>
              <td colSpan={4} className="sense-muted">
                Estimating…
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="sense-actions">
        <VscodeButton data-testid="apply-compression" onClick={() => onApply(layer.id, method)}>
          <i className="codicon codicon-check" aria-hidden="true" /> Apply {describeCompression(method)}
        </VscodeButton>
        {layer.compression ? (
          <VscodeButton secondary data-testid="remove-compression" onClick={() => onRemove(layer.id)}>
            Remove {describeCompression(layer.compression)}
          </VscodeButton>
        ) : null}
      </div>
    </div>
  );
}

function LayerDetails(props: InspectorProps & { layer: LayerView }) {
  const { layer, view } = props;
  return (
    <>
      <h2>
        <i className="codicon codicon-symbol-field" aria-hidden="true" /> {layer.id}
        {layer.name ? ` (${layer.name})` : ''}
        <button type="button" className="sense-icon-button" aria-label={`Show ${layer.id} in the text`} title="Show in the text (Enter)" onClick={() => props.onReveal(layer.id)}>
          <i className="codicon codicon-go-to-file" aria-hidden="true" />
        </button>
      </h2>
      <dl className="sense-facts">
        <dt>Kind</dt>
        <dd>
          {layer.kind}
          {layer.activation ? ` · ${layer.activation}` : ''}
        </dd>
        <dt>Shapes</dt>
        <dd>
          {formatShape(layer.inputShape)} → {formatShape(layer.outputShape)}
        </dd>
        <dt>Parameters</dt>
        <dd>{formatCountShort(layer.params)}</dd>
        <dt>MACs</dt>
        <dd>{formatCountShort(layer.macs)}</dd>
        <dt>Estimate</dt>
        <dd>
          {formatMs(layer.latencyMs)}, {formatMj(layer.energyMj)} on {layer.processor}
        </dd>
        {layer.compression ? (
          <>
            <dt>Compressed</dt>
            <dd>{describeCompression(layer.compression)}</dd>
          </>
        ) : null}
      </dl>
      {layer.diagnostics.length ? (
        <ul className="sense-diagnostics">
          {layer.diagnostics.map((d, i) => (
            <li key={i} className={`sense-diag-${d.severity}`}>
              <i className={`codicon codicon-${d.severity}`} aria-hidden="true" /> {d.message} <span className="sense-muted">({d.code})</span>
            </li>
          ))}
        </ul>
      ) : null}
      <Placement view={view} targets={[layer.id]} current={layer.processor} label={`Place ${layer.id} on`} onPlace={props.onPlace} />
      <BlockPlacement {...props} block={view.blocks.find((b) => b.name === layer.block)} />
      {layer.compressible ? <CompressionEditor key={layer.id} {...props} /> : null}
    </>
  );
}

function BlockPlacement(props: InspectorProps & { block: BlockView | undefined }) {
  const { block, view } = props;
  if (!block) return null;
  const procs = new Set(view.layers.filter((l) => l.block === block.name).map((l) => l.processor));
  return <Placement view={view} targets={[block.name]} current={procs.size === 1 ? [...procs][0] : undefined} label={`Place ${block.kind === 'head' ? 'head' : 'block'} ${block.name} on`} onPlace={props.onPlace} />;
}

/** The inspector of the selected node (a layer, a block, or the features). */
export function Inspector(props: InspectorProps) {
  const { view, selected } = props;
  const layer = view.layers.find((l) => l.id === selected);
  if (layer) return <section className="sense-panel sense-inspector" aria-label={`Inspector of ${layer.id}`}><LayerDetails {...props} layer={layer} /></section>;
  if (selected.startsWith('block:')) {
    const block = view.blocks.find((b) => `block:${b.name}` === selected);
    if (!block) return null;
    const mine = view.layers.filter((l) => l.block === block.name);
    return (
      <section className="sense-panel sense-inspector" aria-label={`Inspector of ${block.name}`}>
        <h2>
          <i className="codicon codicon-symbol-namespace" aria-hidden="true" /> {block.kind === 'head' ? 'Head' : 'Shared block'} {block.name}
          <button type="button" className="sense-icon-button" aria-label={`Show ${block.name} in the text`} onClick={() => props.onReveal(block.name)}>
            <i className="codicon codicon-go-to-file" aria-hidden="true" />
          </button>
        </h2>
        <dl className="sense-facts">
          <dt>Reads from</dt>
          <dd>{block.from ?? 'features'}</dd>
          <dt>Layers</dt>
          <dd>{mine.length}</dd>
          <dt>Parameters</dt>
          <dd>{formatCountShort(mine.reduce((a, l) => a + l.params, 0))}</dd>
          <dt>Latency</dt>
          <dd>{formatMs(mine.reduce((a, l) => a + l.latencyMs, 0))} (sum of its layers)</dd>
          {block.labels ? (
            <>
              <dt>Labels</dt>
              <dd>{block.labels.join(', ')}</dd>
            </>
          ) : null}
        </dl>
        <BlockPlacement {...props} block={block} />
      </section>
    );
  }
  if (selected === FEATURES_NODE_ID) {
    return (
      <section className="sense-panel sense-inspector" aria-label="Inspector of the features">
        <h2>
          <i className="codicon codicon-graph-line" aria-hidden="true" /> Features
        </h2>
        <p>{view.features.input}</p>
        <ol>
          {view.features.steps.map((s, i) => (
            <li key={i}>{s}</li>
          ))}
        </ol>
        <p>Output {formatShape(view.features.outputShape)}</p>
      </section>
    );
  }
  return null;
}
