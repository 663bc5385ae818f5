/**
 * The host <-> webview contract of the graph editor: every message that crosses the
 * boundary, as zod schemas with the TypeScript types inferred from them.
 *
 * Shape after microsoft/vscode-hexeditor's `shared/protocol.ts`: two unions,
 * {@link ToWebviewMessage} and {@link FromWebviewMessage}, discriminated on `type`, carried
 * in an envelope `{messageId, inReplyTo?, body}`. The webview starts with `ready` (carrying
 * {@link PROTOCOL_VERSION}); the host answers with `init` in reply to it, carrying the
 * initial {@link ViewState}. The `.sense` text stays the model (custom-editor-sample): the
 * webview never edits state itself, it asks the host to write `compress` / `place` lines
 * and waits for the `update` that follows the text change.
 *
 * The view model is plain serialisable data defined here; the host adapts the language's
 * lowering and the engine's estimates to it. Units are in the names (`latencyMs`,
 * `energyMj`, `bytes`, `macs`). Both directions are validated: the host must run
 * {@link parseFromWebview} on everything it receives, and the webview runs
 * {@link parseToWebview} on everything the host sends, so neither side trusts the other.
 *
 * This module has no dependency on React, the DOM or `vscode`, so both sides import it.
 */
import { z } from 'zod';

/**
 * Version of this protocol. Bump it on any incompatible change of a schema below; the
 * webview refuses an `init` whose version differs and says which side to update.
 */
export const PROTOCOL_VERSION = 1;

/** Longest string accepted in a message (names, messages, paths), in UTF-16 code units. */
export const MAX_STRING_LENGTH = 4096;
/** Longest list accepted in a message (layers, edges, singular values, timeline entries). */
export const MAX_LIST_LENGTH = 100_000;

const str = z.string().max(MAX_STRING_LENGTH);
/** Layer ids (`encoder.2`), block names and processor names: identifiers, dots and dashes. */
const ident = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_\-]*(\.[0-9]+)?$/, 'must be an identifier or block.index');
/**
 * True when `path` names a place inside the workspace without leaving it: not absolute
 * (`/x`, a leading backslash, `C:x`, a UNC path), no `..` segment (with `/` or a backslash as
 * separator), no NUL,
 * not empty. The host still resolves it inside the workspace folders with symbolic links
 * followed (io/user-files.ts resolveUserPath), so this is the first of two checks.
 */
export function isWorkspaceRelativePath(path: string): boolean {
  if (path.length === 0 || path.includes('\0')) return false;
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) return false;
  return !path.split(/[\\/]/).includes('..');
}
/** A workspace-relative path of a clip or folder (see {@link isWorkspaceRelativePath}). */
const workspacePath = str.refine(isWorkspaceRelativePath, 'must be a workspace-relative path without ".." segments');
const finite = z.number().finite();
const nonNegative = z.number().finite().nonnegative();
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_LIST_LENGTH);
const shape = z.array(z.number().int().nonnegative()).max(8);

// ---------------------------------------------------------------------------------------
// View model
// ---------------------------------------------------------------------------------------

/** A source range, 0-based lines and characters, as LSP and `vscode.Range` use them. */
export const SourceRangeSchema = z.object({
  start: z.object({ line: count, character: count }),
  end: z.object({ line: count, character: count }),
});
export type SourceRange = z.infer<typeof SourceRangeSchema>;

/** One diagnostic shown on a node (or in the banner when it has no layer); `code` is a stable issue code. */
export const DiagnosticSchema = z.object({
  severity: z.enum(['error', 'warning', 'info']),
  code: str,
  message: str,
});
export type ViewDiagnostic = z.infer<typeof DiagnosticSchema>;

/**
 * A compression method, the same union as the language's `CompressionSpec`
 * (language/pipeline-model.ts), so the host writes it to a `compress` line unchanged.
 * SVD by rank, by retained energy fraction (0-1] or by a target relative error [0-1);
 * K-SVD sparse coding with a dictionary of `atoms` and `nonzeros` codes per column; int8.
 */
export const CompressionMethodSchema = z.union([
  z.strictObject({ kind: z.literal('svd'), criterion: z.literal('rank'), rank: z.number().int().min(1).max(1_000_000) }),
  z.strictObject({ kind: z.literal('svd'), criterion: z.literal('energy'), fraction: z.number().gt(0).max(1) }),
  z.strictObject({ kind: z.literal('svd'), criterion: z.literal('error'), fraction: z.number().min(0).lt(1) }),
  z.strictObject({
    kind: z.literal('sparse'),
    atoms: z.number().int().min(1).max(1_000_000),
    nonzeros: z.number().int().min(1).max(1_000_000),
  }),
  z.strictObject({ kind: z.literal('int8') }),
]);
export type CompressionMethod = z.infer<typeof CompressionMethodSchema>;

/**
 * One processor of the target with its share of the estimate: the colour index picks
 * the node colour (`--sense-processor-N`, 0-7), `memoryBytes` is what the pipeline's
 * weights and activations placed on it need, `memoryLimitBytes` what the device offers.
 */
export const ProcessorViewSchema = z.object({
  name: ident,
  colorIndex: z.number().int().min(0).max(7),
  memoryLimitBytes: nonNegative,
  memoryBytes: nonNegative,
  /** Busy time per inference. */
  latencyMs: nonNegative,
  /** Energy per inference. */
  energyMj: nonNegative,
  /** True for a processor reached over a network (cloud offload). */
  remote: z.boolean().optional(),
});
export type ProcessorView = z.infer<typeof ProcessorViewSchema>;

/** A shared block or a task head, drawn as a group that collapses. */
export const BlockViewSchema = z.object({
  name: ident,
  kind: z.enum(['shared', 'head']),
  /** The shared block it reads from; absent means the feature front end. */
  from: ident.optional(),
  /** Initial collapsed state chosen by the host (the webview remembers the user's own). */
  collapsed: z.boolean().optional(),
  /** Class names of a head, in output order. */
  labels: list(str).optional(),
  /**
   * A gated head's gate (`when ambient is voicing`): the head whose top label decides, the
   * label that opens it, and the `expect` line's rate for them (0-1; absent without one, when
   * the estimate takes the gate as always open).
   */
  gate: z.object({ head: ident, label: str, expectedRate: z.number().min(0).max(1).optional() }).optional(),
  /** A gated head: how often it runs per window (0-1), the product of the expected rates along its chain of gates. */
  firingProbability: z.number().min(0).max(1).optional(),
  range: SourceRangeSchema.optional(),
});
export type BlockView = z.infer<typeof BlockViewSchema>;

/** Static costs and estimate of one layer: as the graph shows it, and before or after a candidate compression. */
export const LayerCostSchema = z.object({
  /** Weights and biases after compression. */
  params: count,
  /** Multiply-accumulates per inference after compression. */
  macs: count,
  latencyMs: nonNegative,
  energyMj: nonNegative,
});
export type LayerCost = z.infer<typeof LayerCostSchema>;

/** One layer with its shapes, static costs, placement and estimate. */
export const LayerViewSchema = LayerCostSchema.extend({
  /** `block.index`, the stable address of the layer (`encoder.2`). */
  id: ident,
  block: ident,
  /** 1-based position in its block. */
  index: z.number().int().min(1),
  name: ident.optional(),
  kind: str.max(32),
  activation: str.max(32).optional(),
  inputShape: shape,
  outputShape: shape,
  processor: ident,
  compression: CompressionMethodSchema.optional(),
  /** True for dense / conv layers, which the inspector can compress. */
  compressible: z.boolean().optional(),
  diagnostics: list(DiagnosticSchema),
  range: SourceRangeSchema,
});
export type LayerView = z.infer<typeof LayerViewSchema>;

/** Node ids an edge may name besides layer ids. */
export const INPUT_NODE_ID = 'input';
/**
 * The feature front end's node id: the core's `FEATURES_KEY` (language/pipeline-model.ts),
 * spelled out because the webview imports nothing of the core but its figures; the graph-model
 * test checks that the two agree.
 */
export const FEATURES_NODE_ID = 'features';

/** A tensor flowing between two nodes (`input`, `features` or layer ids), with its shape. */
export const EdgeViewSchema = z.object({
  id: str.max(600),
  source: ident,
  target: ident,
  shape: shape,
  /** Bytes moved when source and target are on different processors. */
  transferBytes: nonNegative.optional(),
  /**
   * Present on a gate edge (from the gating head's last layer to the gated head's first):
   * no tensor flows, the gating head's top label decides whether the target head runs.
   * `label` opens it; `expectedRate` is the `expect` line's rate (absent without one).
   */
  gate: z.object({ label: str, expectedRate: z.number().min(0).max(1).optional() }).optional(),
});
export type EdgeView = z.infer<typeof EdgeViewSchema>;

/** The feature front end, drawn as one node between the input and the first layers. */
export const FeaturesViewSchema = z.object({
  /** The input in words, for example `audio 16 kHz, 1 s window`. */
  input: str,
  inputShape: shape.optional(),
  /** One line per step, for example `logmel 40 bands`. */
  steps: list(str),
  outputShape: shape,
  processor: ident.optional(),
  latencyMs: nonNegative.optional(),
  energyMj: nonNegative.optional(),
});
export type FeaturesView = z.infer<typeof FeaturesViewSchema>;

/** Whole-pipeline figures for the side panel. */
export const TotalsViewSchema = z.object({
  /** Makespan of the schedule: heads on different processors run concurrently (with gated heads, on a window on which every gate opens). */
  endToEndLatencyMs: nonNegative,
  /** Pipelines with gated heads: the expected time until the last running head's output is ready, over the gates' outcomes. */
  expectedLatencyMs: nonNegative.optional(),
  energyPerInferenceMj: nonNegative,
  /** Absent when the target has no battery. */
  batteryLifeHours: nonNegative.optional(),
  /** The `optimize ... within` budget, when there is one. */
  budgetMs: nonNegative.optional(),
  params: count.optional(),
  macs: count.optional(),
});
export type TotalsView = z.infer<typeof TotalsViewSchema>;

/** One busy interval of a processor in the schedule of one inference; `opId` is a layer id or `features` or a transfer. */
export const TimelineEntrySchema = z.object({
  processor: ident,
  startMs: nonNegative,
  endMs: nonNegative,
  opId: str.max(600),
});
export type TimelineEntry = z.infer<typeof TimelineEntrySchema>;

/** The state the graph editor shows: everything is derived from the `.sense` text by the host. */
export const ViewStateSchema = z.object({
  pipeline: ident,
  /** The text document's version this state was computed from; older updates are ignored. */
  documentVersion: z.number().int().nonnegative(),
  target: z.object({ name: ident, processors: z.array(ProcessorViewSchema).min(1).max(64) }),
  features: FeaturesViewSchema,
  blocks: list(BlockViewSchema),
  layers: list(LayerViewSchema),
  edges: list(EdgeViewSchema),
  totals: TotalsViewSchema,
  timeline: list(TimelineEntrySchema),
  /** The objective α·energy(mJ) + β·latency(ms) of the `optimize` line. */
  optimize: z.object({ alpha: nonNegative, beta: nonNegative }),
  /** Diagnostics that belong to no layer (shown in the banner). */
  diagnostics: list(DiagnosticSchema).optional(),
  /** Workspace clips and labelled folders the run panel offers, workspace-relative paths. */
  samples: z.object({ clips: list(str), folders: list(str) }).optional(),
  /**
   * Present for a model shown read-only (an `.onnx` file): its file name and the devices the
   * target picker offers. The webview hides compress, place, partition, run and export, and
   * asks for another target with `chooseTarget`.
   */
  readOnly: z.object({ source: str, devices: list(ident) }).optional(),
});
export type ViewState = z.infer<typeof ViewStateSchema>;

/** Per-head outcome of a run on one clip (probabilities) or a labelled folder (accuracy, confusion). */
export const HeadRunSchema = z.object({
  head: ident,
  labels: list(str),
  /** Probabilities in label order for one clip (averaged over its windows). */
  probabilities: list(finite).optional(),
  /** Fraction of correctly classified clips of a labelled folder, 0-1. */
  accuracy: z.number().min(0).max(1).optional(),
  /** Clips of a labelled folder whose every window was silent: no prediction, so counted as wrong. */
  silentClips: count.optional(),
  /** Rows are true labels, columns predicted labels, cells clip counts. */
  confusion: list(list(count)).optional(),
});
export type HeadRun = z.infer<typeof HeadRunSchema>;

/**
 * How often a gated head's gate opened in a run (runtime/runner.ts GateCount): on `opened` of
 * the `windows` non-silent windows on which `gateHead` ran, its top label was `label`.
 */
export const GateRunSchema = z.object({
  /** The gated head. */
  head: ident,
  /** The head whose top label decides, and the label that opens the gate. */
  gateHead: ident,
  label: str,
  opened: count,
  windows: count,
  /** The `expect` line's rate (0-1), absent when the pipeline has none. */
  expected: z.number().min(0).max(1).optional(),
});
export type GateRun = z.infer<typeof GateRunSchema>;

/** One run of the pipeline: what it ran on, how long one window took on this machine, per-head results. */
export const RunSchema = z.object({
  /** Measured median latency of one window on this machine. */
  measuredLatencyMs: nonNegative,
  windows: count,
  heads: list(HeadRunSchema),
  /** Pipelines with gated heads: how often each gate opened. */
  gates: list(GateRunSchema).optional(),
});
export type RunView = z.infer<typeof RunSchema>;

/** A gate whose observed rate the studio offers to write as its `expect` line. */
export interface GateRateOffer {
  /** The head whose top label decides, and the label. */
  head: string;
  label: string;
  /** The observed rate, rounded to 0.1 % (what a window count supports and an expect line spells). */
  fraction: number;
  opened: number;
  windows: number;
  /** The expect line's rate, absent when there is none. */
  expected?: number;
}

/**
 * The gates of a run whose observed rate differs from their `expect` line at 0.1 % (or that have
 * none), one per gating head and label (heads gated alike share one line), in the run's order.
 * A gate whose head never ran in the run has no rate to offer.
 */
export function gateRateOffers(run: RunView): GateRateOffer[] {
  const out = new Map<string, GateRateOffer>();
  for (const g of run.gates ?? []) {
    const key = `${g.gateHead}\u0000${g.label}`;
    if (out.has(key) || g.windows === 0) continue;
    const fraction = Math.round((1000 * g.opened) / g.windows) / 1000;
    if (g.expected !== undefined && Math.round(1000 * g.expected) === Math.round(1000 * fraction)) continue;
    out.set(key, { head: g.gateHead, label: g.label, fraction, opened: g.opened, windows: g.windows, ...(g.expected !== undefined ? { expected: g.expected } : {}) });
  }
  return [...out.values()];
}

/** How a layer differs from the version compared with (engine/diff.ts DiffStatus). */
const diffStatus = z.enum(['added', 'removed', 'changed', 'same']);

/** One changed layer of a comparison: after (the editor's text) minus before (HEAD or the other file). */
export const LayerDeltaSchema = z.object({
  id: ident,
  status: diffStatus,
  kind: str.max(200),
  /** The processor before and after (null where the layer is absent on that side). */
  processorBefore: ident.nullable(),
  processorAfter: ident.nullable(),
  paramsDelta: finite,
  macsDelta: finite,
  /** The change of the layer's weights in memory, in bytes. */
  weightBytesDelta: finite,
  latencyMsDelta: finite,
  energyMjDelta: finite,
  moved: z.boolean(),
  compressionChanged: z.boolean(),
});
export type LayerDelta = z.infer<typeof LayerDeltaSchema>;

/** A comparison of the pipeline with another version of it, as the graph overlays and lists it. */
export const ComparisonViewSchema = z.object({
  /** What the text was compared with, for the panel's title (`deepear.sense at HEAD`). */
  against: str.max(1000),
  /** The changed, added and removed layers, in the order of the current text. */
  layers: list(LayerDeltaSchema),
  /** Each processor's change of memory and energy, when it changed. */
  processors: list(z.object({ name: ident, status: diffStatus, memoryBytesDelta: finite, energyMjDelta: finite, latencyMsDelta: finite })),
  /** The totals' changes (after minus before). */
  total: z.object({
    paramsDelta: finite,
    macsDelta: finite,
    weightBytesDelta: finite,
    memoryBytesDelta: finite,
    latencyMsDelta: finite,
    energyPerInferenceMjDelta: finite,
    /** Null when either side has no battery. */
    batteryLifeHoursDelta: finite.nullable(),
  }),
  /** True when the target device differs between the two versions. */
  targetChanged: z.boolean(),
  /** How many layers are the same in both. */
  unchangedLayers: count,
});
export type ComparisonView = z.infer<typeof ComparisonViewSchema>;

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

/** Bodies the host sends to the webview, discriminated on `type`. */
export const ToWebviewBodySchema = z.discriminatedUnion('type', [
  /** Reply to `ready`: the protocol version and the first state (null when the document cannot be shown yet, with the reason). */
  z.object({
    type: z.literal('init'),
    protocolVersion: z.number().int(),
    state: ViewStateSchema.nullable(),
    reason: str.optional(),
    /** With a null state of a model that cannot be imported: every node it cannot map, with its op type and why. */
    refusals: list(z.object({ node: str, opType: str, reason: str })).optional(),
  }),
  /** The text changed: the new state, computed from document version `documentVersion`. */
  z.object({ type: z.literal('update'), documentVersion: z.number().int().nonnegative(), state: ViewStateSchema }),
  /** The cursor in the text moved into a layer (null: outside every layer): highlight its node. */
  z.object({ type: z.literal('select'), layerId: ident.nullable() }),
  /** Reply to `requestSpectrum`: singular values of the layer's weight matrix (out x in, conv kernels reshaped), largest first. */
  z.object({
    type: z.literal('spectrum'),
    layerId: ident,
    singularValues: list(nonNegative),
    matrixShape: z.tuple([count, count]),
    /** Largest rank at which the factorised layer is still smaller than the dense one. */
    breakEvenRank: count,
    /** A rank suggested from the spectrum (redundancy estimation), if any. */
    suggestedRank: count.optional(),
  }),
  /** Reply to `previewCompression`: the layer's costs before and after, and the estimated relative output error (0-1). */
  z.object({
    type: z.literal('compressionPreview'),
    layerId: ident,
    method: CompressionMethodSchema,
    before: LayerCostSchema,
    after: LayerCostSchema,
    estimatedError: z.number().min(0).max(1e6),
    /** Fraction of the squared Frobenius norm kept (SVD), 0-1. */
    retainedEnergy: z.number().min(0).max(1).optional(),
    /** Pipeline totals if the candidate were applied. */
    totalsAfter: TotalsViewSchema.optional(),
  }),
  /** Reply to `runClip` / `evaluateFolder`: results now, and before compression when the weights were compressed. */
  z.object({
    type: z.literal('runResult'),
    input: z.object({ kind: z.enum(['clip', 'folder']), path: str }),
    after: RunSchema,
    before: RunSchema.optional(),
  }),
  /** Compare with HEAD / with a file: overlay the deltas on the graph and list them (null: clear the comparison). */
  z.object({ type: z.literal('comparison'), comparison: ComparisonViewSchema.nullable() }),
  /** The host is busy with a long task (run, auto-partition, export) or finished it. */
  z.object({ type: z.literal('busy'), task: str.max(200), active: z.boolean() }),
  /** Something failed on the host side (a request could not be served); shown in the error banner. */
  z.object({ type: z.literal('error'), message: str }),
]);
export type ToWebviewBody = z.infer<typeof ToWebviewBodySchema>;

/**
 * The document version of the graph an edit request was made from (its {@link ViewState}'s
 * `documentVersion`); the host writes nothing when the text has moved on since, and redraws.
 */
const documentVersion = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Bodies the webview sends to the host, discriminated on `type`; strict: unknown keys are refused. */
export const FromWebviewBodySchema = z.discriminatedUnion('type', [
  /** The webview is loaded and listening; the host replies with `init`. */
  z.strictObject({ type: z.literal('ready'), protocolVersion: z.number().int() }),
  /** Select a layer's (or a block's, by name) source range in the text editor. */
  z.strictObject({ type: z.literal('reveal'), layerId: ident }),
  /** Ask for the singular-value spectrum of a dense or conv layer; answered by `spectrum`. */
  z.strictObject({ type: z.literal('requestSpectrum'), layerId: ident }),
  /** Ask what a compression would cost and save; answered by `compressionPreview`. Nothing is written. */
  z.strictObject({ type: z.literal('previewCompression'), layerId: ident, method: CompressionMethodSchema }),
  /** Write (or replace) the layer's `compress` line as one WorkspaceEdit (undoable), against the graph's `documentVersion`. */
  z.strictObject({ type: z.literal('applyCompression'), layerId: ident, method: CompressionMethodSchema, documentVersion }),
  /** Delete the layer's `compress` line as one WorkspaceEdit, against the graph's `documentVersion`. */
  z.strictObject({ type: z.literal('removeCompression'), layerId: ident, documentVersion }),
  /** Write a `place <targets> on <processor>` line against the graph's `documentVersion`; targets are layer ids or block names. */
  z.strictObject({ type: z.literal('place'), targets: z.array(ident).min(1).max(10_000), processor: ident, documentVersion }),
  /** Run the partition optimizer with objective α·energy + β·latency and write the `place` lines. */
  z.strictObject({ type: z.literal('autoPartition'), alpha: z.number().finite().min(0).max(1e6), beta: z.number().finite().min(0).max(1e6) }),
  /** Run the pipeline on one clip (workspace-relative path, never absolute or with `..`; absent: the host asks with a picker). */
  z.strictObject({ type: z.literal('runClip'), path: workspacePath.optional() }),
  /** Evaluate a labelled folder (workspace-relative like `runClip`'s; sub-folders named by label); absent: the host asks with a picker. */
  z.strictObject({ type: z.literal('evaluateFolder'), path: workspacePath.optional() }),
  /** Export a bundle (the host shows progress and offers to open it). */
  z.strictObject({ type: z.literal('exportBundle') }),
  /** Estimate a read-only model on another device (its `readOnly.devices`); the host answers with an `update`. */
  z.strictObject({ type: z.literal('chooseTarget'), device: ident }),
  /** The user collapsed or expanded a block; the host may remember it per document. */
  z.strictObject({ type: z.literal('toggleCollapse'), block: ident, collapsed: z.boolean() }),
  /** The user cleared the comparison overlay ("Clear comparison"); the host forgets it, so a redraw does not bring it back. */
  z.strictObject({ type: z.literal('clearComparison') }),
  /** Write observed rate: write or update `expect <head> <label> <fraction>` as one WorkspaceEdit, against the graph's `documentVersion`. */
  z.strictObject({ type: z.literal('writeExpect'), head: ident, label: str.min(1).max(256), fraction: z.number().finite().min(0).max(1), documentVersion }),
]);
export type FromWebviewBody = z.infer<typeof FromWebviewBodySchema>;

const messageId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Envelope of every host -> webview message; `inReplyTo` names the request answered. */
export const ToWebviewMessageSchema = z.object({
  messageId,
  inReplyTo: messageId.optional(),
  body: ToWebviewBodySchema,
});
/** A host -> webview message. */
export type ToWebviewMessage = z.infer<typeof ToWebviewMessageSchema>;

/** Envelope of every webview -> host message (strict). */
export const FromWebviewMessageSchema = z.strictObject({
  messageId,
  inReplyTo: messageId.optional(),
  body: FromWebviewBodySchema,
});
/** A webview -> host message. */
export type FromWebviewMessage = z.infer<typeof FromWebviewMessageSchema>;

/** The outcome of validating a message: the typed message, or a short reason it was refused. */
export type ParseResult<T> = { ok: true; message: T } | { ok: false; error: string };

function describe(error: z.ZodError): string {
  const text = error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(message)'}: ${i.message}`)
    .join('; ');
  return text.length > 500 ? text.slice(0, 500) + '…' : text;
}

function safeParse<T>(schema: z.ZodType<T>, raw: unknown, side: string): ParseResult<T> {
  try {
    const result = schema.safeParse(raw);
    if (result.success) return { ok: true, message: result.data };
    return { ok: false, error: `invalid message ${side}: ${describe(result.error)}` };
  } catch (e) {
    // A hostile object (a Proxy, a throwing getter) must not take the receiver down.
    return { ok: false, error: `invalid message ${side}: ${e instanceof Error ? e.message.slice(0, 200) : 'unreadable value'}` };
  }
}

/**
 * Validates a raw message from the webview (run it on the host on every message).
 * Never throws: wrong types, unknown keys (including `__proto__` and `constructor`),
 * over-long strings and lists come back as `{ok: false, error}`. The returned message
 * is a fresh object built by zod, never the received one.
 */
export function parseFromWebview(raw: unknown): ParseResult<FromWebviewMessage> {
  return safeParse(FromWebviewMessageSchema, raw, 'from the webview');
}

/**
 * Validates a raw message from the host (the webview runs it on every message).
 * Never throws; a refused message is shown in the error banner, never rendered.
 * Unknown keys are dropped, so an older webview tolerates additive host changes.
 */
export function parseToWebview(raw: unknown): ParseResult<ToWebviewMessage> {
  const result = safeParse(ToWebviewMessageSchema, raw, 'from the host');
  if (!result.ok) return result;
  const body = result.message.body;
  if (body.type === 'init' && body.state) {
    const problems = checkViewState(body.state);
    if (problems.length) return { ok: false, error: `inconsistent state from the host: ${problems.slice(0, 5).join('; ')}` };
  }
  if (body.type === 'update') {
    const problems = checkViewState(body.state);
    if (problems.length) return { ok: false, error: `inconsistent state from the host: ${problems.slice(0, 5).join('; ')}` };
  }
  return result;
}

/**
 * Cross-reference checks zod cannot express: every layer's block and processor exist,
 * every edge names known nodes, ids are unique. Returns one sentence per problem.
 */
export function checkViewState(state: ViewState): string[] {
  const problems: string[] = [];
  const processors = new Set(state.target.processors.map((p) => p.name));
  const blocks = new Set<string>();
  for (const b of state.blocks) {
    if (blocks.has(b.name)) problems.push(`block '${b.name}' appears twice`);
    blocks.add(b.name);
  }
  for (const b of state.blocks) {
    if (b.from !== undefined && !blocks.has(b.from)) problems.push(`block '${b.name}' reads from unknown block '${b.from}'`);
  }
  const nodes = new Set<string>([INPUT_NODE_ID, FEATURES_NODE_ID]);
  for (const l of state.layers) {
    if (nodes.has(l.id)) problems.push(`layer id '${l.id}' appears twice`);
    nodes.add(l.id);
    if (!blocks.has(l.block)) problems.push(`layer '${l.id}' is in unknown block '${l.block}'`);
    if (!processors.has(l.processor)) problems.push(`layer '${l.id}' is placed on unknown processor '${l.processor}'`);
  }
  if (state.features.processor !== undefined && !processors.has(state.features.processor)) {
    problems.push(`the features are placed on unknown processor '${state.features.processor}'`);
  }
  for (const e of state.edges) {
    if (!nodes.has(e.source)) problems.push(`edge '${e.id}' starts at unknown node '${e.source}'`);
    if (!nodes.has(e.target)) problems.push(`edge '${e.id}' ends at unknown node '${e.target}'`);
  }
  for (const t of state.timeline) {
    if (!processors.has(t.processor)) problems.push(`timeline entry '${t.opId}' is on unknown processor '${t.processor}'`);
    if (t.endMs < t.startMs) problems.push(`timeline entry '${t.opId}' ends before it starts`);
  }
  return problems;
}

/** True for bodies that answer a request (they carry `inReplyTo`). */
export function isReply(body: ToWebviewBody): boolean {
  return body.type === 'init' || body.type === 'spectrum' || body.type === 'compressionPreview' || body.type === 'runResult';
}
