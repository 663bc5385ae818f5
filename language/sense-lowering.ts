/**
 * Lowering as a service: each document's pipelines and devices lowered once per parse
 * (lower.ts), with the estimates of the pipelines that lowered, for validation, hover,
 * CodeLens and the graph alike.
 */
import { AstUtils, DocumentState, URI, type AstNode } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';
import * as ast from './generated/ast';
import { BUILTIN_DEVICES_URI } from './builtin-devices';
import type { PipelineEstimateSummary, PipelineEstimator } from './estimator';
import { lowerDevice, lowerPipeline, type DeviceLowering, type PipelineLowering } from './lower';
import type { DeviceSpec } from './pipeline-model';
import type { SenseServices } from './sense-module';

/** The lowering of one document: each pipeline's result, and each device's. */
export interface DocumentLowering {
  pipelines: Map<ast.Pipeline, PipelineLowering>;
  devices: Map<ast.Device, DeviceLowering>;
  /** Estimates of the pipelines that lowered to a spec, when an estimator is injected. */
  estimates: Map<ast.Pipeline, PipelineEstimateSummary>;
}

/**
 * Lowers documents once per link: results are cached on the root AST node and dropped each
 * time the document is linked again. Langium keeps the AST of a document whose text did not
 * change when it relinks it (after a device it names changed, or after a build was cancelled
 * half way), so a lowering made while a reference such as `target snapdragon800` was still
 * unresolved would otherwise outlive the relink that resolves it.
 */
export class SenseLowering {
  private cache = new WeakMap<ast.Model, DocumentLowering>();
  private deviceCache = new WeakMap<ast.Device, DeviceLowering>();
  private readonly documents: LangiumSharedServices['workspace']['LangiumDocuments'];
  private readonly estimator: PipelineEstimator | undefined;

  constructor(services: SenseServices) {
    this.documents = services.shared.workspace.LangiumDocuments;
    this.estimator = services.estimation.Estimator;
    services.shared.workspace.DocumentBuilder.onDocumentPhase(DocumentState.Linked, (doc) => {
      const model = doc.parseResult.value as ast.Model;
      this.cache.delete(model);
      // A relinked device document changes what every pipeline naming its devices lowers to.
      if (ast.isModel(model) && model.devices.length > 0) this.invalidate();
    });
  }

  /** Lowers a device, cached by node. */
  device(device: ast.Device): DeviceLowering {
    let r = this.deviceCache.get(device);
    if (!r) {
      const builtin = AstUtils.getDocument(device).uri.toString() === BUILTIN_DEVICES_URI;
      r = recovering(device, () => lowerDevice(device, builtin), () => ({
        spec: { name: device.name ?? '?', processors: [], links: [], baselinePowerMw: 0, defaultProcessor: 'cpu', builtin, sources: [] },
        issues: [],
      }));
      this.deviceCache.set(device, r);
    }
    return r;
  }

  /** The built-in `host` device, used when a pipeline names no target. */
  hostDevice(): DeviceSpec | undefined {
    const doc = this.documents.getDocument(URI.parse(BUILTIN_DEVICES_URI));
    const model = doc?.parseResult.value as ast.Model | undefined;
    const host = model?.devices.find((d) => d.name === 'host');
    return host ? this.device(host).spec : undefined;
  }

  /** Lowers every pipeline and device of a document. */
  document(model: ast.Model): DocumentLowering {
    let r = this.cache.get(model);
    if (!r) {
      r = { pipelines: new Map(), devices: new Map(), estimates: new Map() };
      for (const d of model.devices) r.devices.set(d, this.device(d));
      const host = this.hostDevice();
      for (const p of model.pipelines) {
        const lowered = recovering(p, () => lowerPipeline(p, (d) => this.device(d).spec, host), () => ({ issues: [], layerOf: new Map(), blockOf: new Map() }));
        r.pipelines.set(p, lowered);
        const hasErrors = lowered.issues.some((i) => i.severity === 'error');
        const estimator = this.estimator;
        if (estimator && lowered.spec && !hasErrors) {
          const spec = lowered.spec;
          const estimate = recovering(p, () => estimator(spec), () => undefined);
          if (estimate) r.estimates.set(p, estimate);
        }
      }
      this.cache.set(model, r);
    }
    return r;
  }

  /**
   * Forgets every cached document lowering and estimate, so the next request lowers and
   * estimates again. For when the estimator's inputs change without the text changing
   * (the language server's measured device profiles); Langium keeps the AST of a rebuilt
   * document whose text is unchanged, so the per-AST cache alone would not notice.
   */
  invalidate(): void {
    this.cache = new WeakMap();
    this.deviceCache = new WeakMap();
  }

  /** The lowering of the pipeline that contains `node`, if any. */
  pipelineOf(node: AstNode): PipelineLowering | undefined {
    const pipeline = AstUtils.getContainerOfType(node, ast.isPipeline);
    if (!pipeline) return undefined;
    return this.document(pipeline.$container).pipelines.get(pipeline);
  }
}

/**
 * Runs a lowering step on `node`. While the user types, the parser recovers partial
 * nodes (a layer without its kind, a `place` without its processor) that lowering was
 * not written for; the syntax error is reported anyway, so a step that throws on a
 * document with parse errors yields `fallback` instead. On a document that parsed, an
 * exception is a bug and propagates.
 */
function recovering<T>(node: AstNode, step: () => T, fallback: () => T): T {
  try {
    return step();
  } catch (e) {
    const result = AstUtils.getDocument(node).parseResult;
    if (result.parserErrors.length > 0 || result.lexerErrors.length > 0) return fallback();
    throw e;
  }
}

