/**
 * The long tasks of a V8 CPU profile (the extension host's, recorded by the event-loop
 * probe): stretches of samples with no idle sample between them, longer than a threshold,
 * each with the frames that held the thread most (self time) and the frames of the studio's
 * own bundle under which the time was spent, mapped to TypeScript through its source map.
 * The benchmark prints them to say whose work a delay is: the studio's, VS Code's, or the
 * garbage collector's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SourceMapConsumer, type RawSourceMap } from 'source-map-js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One long task: when it started (ms from the profile's start), how long it ran, and what ran. */
export interface LongTask {
  startMs: number;
  durationMs: number;
  /** Frames by self time, most first: `name (file:line)` and ms. */
  selfTop: [string, number][];
  /** The innermost frame of `ownBundle` on each sample's stack, by time, most first. */
  ownTop: [string, number][];
}

/** Reads `file` and returns its tasks longer than `thresholdMs`; `ownBundle` is the file name of the studio's bundle (extension.cjs), `sourceMap` its map. */
export function longTasks(file: string, thresholdMs: number, ownBundle: string, sourceMap?: string): LongTask[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const consumer = sourceMap && existsSync(sourceMap) ? new SourceMapConsumer(JSON.parse(readFileSync(sourceMap, 'utf8')) as RawSourceMap) : undefined;
  const label = (f: CallFrame): string => {
    if (consumer && basename(f.url) === ownBundle) {
      const o = consumer.originalPositionFor({ line: f.lineNumber + 1, column: f.columnNumber });
      if (o.source) return `${o.name ?? (f.functionName || '(anonymous)')} (${o.source.replace(/^(\.\.\/)+/, '')}:${o.line})`;
    }
    return `${f.functionName || '(anonymous)'} (${f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : 'native'})`;
  };
  const ownFrame = (id: number): string | undefined => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (basename(f.url) === ownBundle) return label(f);
    }
    return undefined;
  };

  const tasks: LongTask[] = [];
  let t = profile.startTime;
  let run: { startUs: number; endUs: number; ids: number[]; deltas: number[] } | undefined;
  const close = (): void => {
    if (run && (run.endUs - run.startUs) / 1000 >= thresholdMs) {
      const self = new Map<string, number>();
      const own = new Map<string, number>();
      run.ids.forEach((id, i) => {
        const ms = run!.deltas[i] / 1000;
        const s = label(byId.get(id)!.callFrame);
        self.set(s, (self.get(s) ?? 0) + ms);
        const o = ownFrame(id);
        if (o) own.set(o, (own.get(o) ?? 0) + ms);
      });
      const top = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]).slice(0, 6);
      tasks.push({ startMs: (run.startUs - profile.startTime) / 1000, durationMs: (run.endUs - run.startUs) / 1000, selfTop: top(self), ownTop: top(own) });
    }
    run = undefined;
  };
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i];
    const next = profile.timeDeltas[i + 1] ?? 0;
    if (byId.get(id)!.callFrame.functionName === '(idle)') return close();
    run ??= { startUs: t, endUs: t, ids: [], deltas: [] };
    run.endUs = t + next;
    run.ids.push(id);
    run.deltas.push(next);
  });
  close();
  return tasks;
}
