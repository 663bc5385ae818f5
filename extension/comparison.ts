/**
 * The graph's comparison overlay (Compare with HEAD / with File): the engine's comparison
 * (engine/diff.ts, as the language server computes it) reduced to what the webview shows, the
 * changed layers' deltas as badges and a list, the totals' deltas at the top. Pure, no
 * `vscode` import, so the plain-Node tests check it.
 */
import type { PipelineDiff } from '../engine/diff';
import type { ComparisonView } from '../webview/protocol';

/** The webview's comparison of `diff`, labelled with what the text was compared with; unchanged layers and processors are counted, not listed. */
export function comparisonView(diff: PipelineDiff, against: string): ComparisonView {
  const changed = diff.layers.filter((l) => l.status !== 'same');
  const t = diff.total;
  return {
    against,
    layers: changed.map((l) => ({
      id: l.id,
      status: l.status,
      kind: (l.after ?? l.before)?.kind ?? '',
      processorBefore: l.before?.processor ?? null,
      processorAfter: l.after?.processor ?? null,
      paramsDelta: l.paramsDelta,
      macsDelta: l.macsDelta,
      weightBytesDelta: l.weightBytesDelta,
      latencyMsDelta: l.latencyMsDelta,
      energyMjDelta: l.energyMjDelta,
      moved: l.moved,
      compressionChanged: l.compressionChanged,
    })),
    processors: diff.processors
      .filter((p) => p.status !== 'same')
      .map((p) => ({ name: p.name, status: p.status, memoryBytesDelta: p.memoryBytesDelta, energyMjDelta: p.energyMjDelta, latencyMsDelta: p.latencyMsDelta })),
    total: {
      paramsDelta: t.paramsDelta,
      macsDelta: t.macsDelta,
      weightBytesDelta: t.weightBytesDelta,
      memoryBytesDelta: t.memoryBytesDelta,
      latencyMsDelta: t.latencyMsDelta,
      energyPerInferenceMjDelta: t.energyPerInferenceMjDelta,
      batteryLifeHoursDelta: t.batteryLifeHoursDelta,
    },
    targetChanged: diff.target.changed,
    unchangedLayers: diff.layers.length - changed.length,
  };
}
