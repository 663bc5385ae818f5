/**
 * The graph editor application: holds the state the host sent, the selection, the
 * collapsed blocks and the replies to requests; every user action becomes a message
 * to the host, and nothing is edited locally (the `.sense` text is the model).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ReactFlowProvider } from '@xyflow/react';
import VscodeButton from '@vscode-elements/react-elements/dist/components/VscodeButton.js';
import { PROTOCOL_VERSION, type ComparisonView, type CompressionMethod, type FromWebviewBody, type ViewState } from './protocol';
import { readyBody, type HostBridge, type Incoming } from './host-bridge';
import { Layouter, defaultCollapsed, groupId, isLargeGraph } from './layout';
import { GraphView } from './components/GraphView';
import { SidePanel } from './components/SidePanel';
import { Inspector, type PreviewFailure, type PreviewReply, type SpectrumFailure, type SpectrumReply } from './components/Inspector';
import { RunPanel, type RunReply } from './components/RunPanel';
import { SidePane } from './components/SidePane';
import { ErrorBanner, type BannerEntry } from './components/ErrorBanner';
import { ComparePanel, ComparisonContext, layerDeltas } from './components/ComparePanel';
import { formatMs } from '../language/figures';

/** What the webview persists through VS Code's getState/setState. */
interface Persisted {
  collapsed?: string[];
  selected?: string | null;
}

function readPersisted(raw: unknown): Persisted {
  if (typeof raw !== 'object' || raw === null) return {};
  const r = raw as Record<string, unknown>;
  return {
    collapsed: Array.isArray(r.collapsed) ? r.collapsed.filter((x): x is string => typeof x === 'string').slice(0, 10_000) : undefined,
    selected: typeof r.selected === 'string' ? r.selected : null,
  };
}

/** Props of {@link App}. */
export interface AppProps {
  host: HostBridge;
}

/** The root component. */
export function App({ host }: AppProps) {
  const persisted = useMemo(() => readPersisted(host.getState()), [host]);
  const [view, setView] = useState<ViewState | null>(null);
  const [waitingReason, setWaitingReason] = useState<string>('Waiting for the pipeline…');
  const [banner, setBanner] = useState<BannerEntry[]>([]);
  const [selected, setSelected] = useState<string | null>(persisted.selected ?? null);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set(persisted.collapsed ?? []));
  const [spectrum, setSpectrum] = useState<SpectrumReply | undefined>();
  const [preview, setPreview] = useState<PreviewReply | undefined>();
  const [spectrumError, setSpectrumError] = useState<SpectrumFailure | undefined>();
  const [previewError, setPreviewError] = useState<PreviewFailure | undefined>();
  const [run, setRun] = useState<RunReply | undefined>();
  const [busy, setBusy] = useState<ReadonlySet<string>>(new Set());
  const [incompatible, setIncompatible] = useState(false);
  // Compare with HEAD / with File: the overlay the host sent, until the user clears it.
  const [comparison, setComparison] = useState<ComparisonView | undefined>();
  const deltas = useMemo(() => layerDeltas(comparison), [comparison]);
  // The nodes of a model that cannot be imported, shown where its graph would be.
  const [refusals, setRefusals] = useState<{ node: string; opType: string; reason: string }[]>([]);
  const layouter = useMemo(() => new Layouter(), []);
  const nextBanner = useRef(1);
  // The latest spectrum and preview requests: an `error` in reply to one is shown in the
  // compress panel that asked (which stops waiting), not in the banner, where one per
  // slider move would pile up.
  const lastSpectrumRequest = useRef<{ messageId: number; layerId: string } | undefined>(undefined);
  const lastPreviewRequest = useRef<{ messageId: number; layerId: string; method: CompressionMethod } | undefined>(undefined);
  const userCollapsed = useRef(new Set(persisted.collapsed ?? []).size > 0);

  // One entry per distinct message: a repeat counts on the entry already shown.
  const report = useCallback((text: string) => {
    setBanner((b) => {
      const same = b.findIndex((e) => e.text === text);
      if (same >= 0) return b.map((e, i) => (i === same ? { ...e, count: e.count + 1 } : e));
      return [...b.slice(-9), { id: nextBanner.current++, text, count: 1 }];
    });
  }, []);

  const post = useCallback((body: FromWebviewBody) => host.post(body), [host]);

  const accept = useCallback((state: ViewState, fresh: boolean) => {
    setView((old) => {
      if (!fresh && old && state.documentVersion < old.documentVersion) return old;
      return state;
    });
    // A large graph always opens from the host's flags (which carry the user's own
    // choices): a remembered list from another pipeline would leave thousands of nodes open.
    if (fresh && (!userCollapsed.current || isLargeGraph(state))) setCollapsed(defaultCollapsed(state));
  }, []);

  useEffect(() => {
    const stop = host.listen((incoming: Incoming) => {
      if (!incoming.ok) {
        report(incoming.error);
        return;
      }
      const { body, inReplyTo } = incoming.message;
      switch (body.type) {
        case 'init':
          if (body.protocolVersion !== PROTOCOL_VERSION) {
            setIncompatible(true);
            report(`The extension speaks protocol version ${body.protocolVersion} and this graph view version ${PROTOCOL_VERSION}; reload the window (Developer: Reload Window) after updating Sense Studio.`);
            return;
          }
          setIncompatible(false);
          setSpectrum(undefined);
          setPreview(undefined);
          setSpectrumError(undefined);
          setPreviewError(undefined);
          setRefusals(body.refusals ?? []);
          setComparison(undefined);
          if (body.state) accept(body.state, true);
          else {
            setView(null);
            setWaitingReason(body.reason ?? 'The document has no pipeline to show yet.');
          }
          return;
        case 'update':
          accept(body.state, false);
          return;
        case 'select':
          setSelected(body.layerId);
          return;
        case 'spectrum':
          setSpectrum(body);
          return;
        case 'compressionPreview':
          if (inReplyTo === undefined || inReplyTo === lastPreviewRequest.current?.messageId) setPreview(body);
          return;
        case 'runResult':
          setRun(body);
          return;
        case 'comparison':
          setComparison(body.comparison ?? undefined);
          return;
        case 'busy':
          setBusy((b) => {
            const next = new Set(b);
            if (body.active) next.add(body.task);
            else next.delete(body.task);
            return next;
          });
          return;
        case 'error': {
          const spectrumAsked = lastSpectrumRequest.current;
          const previewAsked = lastPreviewRequest.current;
          if (inReplyTo !== undefined && inReplyTo === spectrumAsked?.messageId) setSpectrumError({ layerId: spectrumAsked.layerId, message: body.message });
          else if (inReplyTo !== undefined && inReplyTo === previewAsked?.messageId) setPreviewError({ layerId: previewAsked.layerId, method: previewAsked.method, message: body.message });
          else report(body.message);
          return;
        }
      }
    });
    host.post(readyBody());
    return stop;
  }, [host, report, accept]);

  useEffect(() => {
    host.setState({ collapsed: [...collapsed], selected } satisfies Persisted);
  }, [host, collapsed, selected]);

  const onSelect = useCallback(
    (id: string | null, reveal: boolean) => {
      setSelected(id);
      if (id && reveal) {
        const target = id.startsWith('block:') ? id.slice(6) : id;
        if (target !== 'input') post({ type: 'reveal', layerId: target });
      }
    },
    [post],
  );

  const onToggle = useCallback(
    (block: string) => {
      userCollapsed.current = true;
      setCollapsed((c) => {
        const next = new Set(c);
        const now = !next.has(block);
        if (now) next.add(block);
        else next.delete(block);
        post({ type: 'toggleCollapse', block, collapsed: now });
        return next;
      });
      setSelected((s) => (s && s.startsWith(block + '.') ? groupId(block) : s));
    },
    [post],
  );

  const onPreview = useCallback(
    (layerId: string, method: CompressionMethod) => {
      lastPreviewRequest.current = { messageId: post({ type: 'previewCompression', layerId, method }), layerId, method };
    },
    [post],
  );

  const onRequestSpectrum = useCallback(
    (layerId: string) => {
      setSpectrumError(undefined);
      lastSpectrumRequest.current = { messageId: post({ type: 'requestSpectrum', layerId }), layerId };
    },
    [post],
  );

  const dismiss = useCallback((id: number) => setBanner((b) => b.filter((e) => e.id !== id)), []);
  const dismissAll = useCallback(() => setBanner([]), []);

  if (incompatible) {
    return (
      <main className="sense-app">
        <ErrorBanner entries={banner} onDismiss={dismiss} onDismissAll={dismissAll} />
      </main>
    );
  }

  return (
    <main className="sense-app">
      <header className="sense-toolbar">
        <span className="sense-title">
          <i className="codicon codicon-type-hierarchy" aria-hidden="true" /> {view ? view.pipeline : 'Sense Studio'}
        </span>
        {view ? (
          <span className="sense-muted" data-testid="toolbar-summary">
            {view.readOnly ? `${view.readOnly.source} (read-only)` : view.target.name} · {formatMs(view.totals.endToEndLatencyMs)}{view.readOnly ? '' : ` · v${view.documentVersion}`}
          </span>
        ) : null}
        {busy.size ? (
          <span className="sense-busy" role="status">
            <i className="codicon codicon-loading codicon-modifier-spin" aria-hidden="true" /> {[...busy].join(', ')}…
          </span>
        ) : null}
        <span className="sense-spacer" />
        {view?.readOnly ? (
          <label className="sense-target-picker">
            Target{' '}
            <select className="sense-select" data-testid="target-picker" aria-label="Target device" value={view.target.name} onChange={(e) => post({ type: 'chooseTarget', device: e.target.value })}>
              {view.readOnly.devices.map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
        ) : null}
        {view && !view.readOnly ? (
          <VscodeButton secondary onClick={() => post({ type: 'exportBundle' })} aria-label="Export bundle">
            <i className="codicon codicon-package" aria-hidden="true" /> Export
          </VscodeButton>
        ) : null}
      </header>
      <ErrorBanner entries={banner} onDismiss={dismiss} onDismissAll={dismissAll} />
      {view?.diagnostics?.length ? (
        <ul className="sense-pipeline-diagnostics" aria-label="Pipeline diagnostics">
          {view.diagnostics.map((d, i) => (
            <li key={i} className={`sense-diag-${d.severity}`}>
              <i className={`codicon codicon-${d.severity}`} aria-hidden="true" /> {d.message}
            </li>
          ))}
        </ul>
      ) : null}
      {view ? (
        <div className="sense-body">
          <ReactFlowProvider>
            <ComparisonContext.Provider value={deltas}>
              <GraphView view={view} collapsed={collapsed} selected={selected} layouter={layouter} onSelect={onSelect} onToggle={onToggle} onLayoutProblem={report} />
            </ComparisonContext.Provider>
          </ReactFlowProvider>
          <SidePane label="Inspector, estimates and run">
            {comparison ? (
              <ComparePanel
                comparison={comparison}
                onSelect={(id) => onSelect(id, true)}
                onClear={() => {
                  setComparison(undefined);
                  post({ type: 'clearComparison' });
                }}
              />
            ) : null}
            {selected ? (
              <Inspector
                view={view}
                readOnly={view.readOnly !== undefined}
                selected={selected}
                {...{ spectrum, preview, spectrumError, previewError }}
                onRequestSpectrum={onRequestSpectrum}
                onPreview={onPreview}
                onApply={(layerId, method) => post({ type: 'applyCompression', layerId, method, documentVersion: view.documentVersion })}
                onRemove={(layerId) => post({ type: 'removeCompression', layerId, documentVersion: view.documentVersion })}
                onPlace={(targets, processor) => post({ type: 'place', targets, processor, documentVersion: view.documentVersion })}
                onReveal={(id) => post({ type: 'reveal', layerId: id })}
              />
            ) : (
              <p className="sense-panel sense-muted sense-hint">{view.readOnly ? 'Select a layer to see its shapes and costs (arrow keys move).' : 'Select a layer to inspect and compress it (arrow keys move, Enter shows it in the text).'}</p>
            )}
            <SidePanel view={view} readOnly={view.readOnly !== undefined} busy={busy.size > 0} onAutoPartition={(alpha, beta) => post({ type: 'autoPartition', alpha, beta })} />
            {view.readOnly ? null : (
            <RunPanel
              view={view}
              result={run}
              busy={busy.size > 0}
              onRunClip={(path) => post({ type: 'runClip', ...(path ? { path } : {}) })}
              onEvaluateFolder={(path) => post({ type: 'evaluateFolder', ...(path ? { path } : {}) })}
              onExport={() => post({ type: 'exportBundle' })}
              onWriteRate={(o) => post({ type: 'writeExpect', head: o.head, label: o.label, fraction: o.fraction, documentVersion: view.documentVersion })}
            />
            )}
          </SidePane>
        </div>
      ) : (
        <p className="sense-waiting" role="status">
          {waitingReason}
        </p>
      )}
      {!view && refusals.length > 0 ? (
        <table className="sense-refusals" data-testid="refusals" aria-label="Nodes that cannot be imported">
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Op</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {refusals.map((r, i) => (
              <tr key={i}>
                <td>{r.node}</td>
                <td>{r.opType}</td>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </main>
  );
}
