/**
 * The Sense language services: Langium's defaults plus our scoping, linking messages,
 * validation (through lowering) and the built-in device library. `createSenseServices`
 * is used by the language server, the CLI and the tests alike.
 */
import './polyfills';
import {
  AstUtils,
  DefaultDocumentValidator,
  DefaultScopeProvider,
  DefaultWorkspaceManager,
  DocumentState,
  EmptyFileSystem,
  URI,
  inject,
  type AstNode,
  type LangiumCoreServices,
  type LangiumDocument,
  type Module,
  type ReferenceInfo,
  type Scope,
  type ValidationAcceptor,
  type ValidationChecks,
} from 'langium';
import {
  createDefaultModule,
  createDefaultSharedModule,
  type DefaultSharedModuleContext,
  type LangiumServices,
  type LangiumSharedServices,
  type PartialLangiumServices,
  type PartialLangiumSharedServices,
} from 'langium/lsp';
import type { Diagnostic } from 'vscode-languageserver-types';
import type { WorkspaceFolder } from 'vscode-languageserver-protocol';
import * as ast from './generated/ast';
import { SenseGeneratedModule, SenseGeneratedSharedModule } from './generated/module';
import { BUILTIN_DEVICES_SOURCE, BUILTIN_DEVICES_URI } from './builtin-devices';
import { IssueCodes } from './issue-codes';
import { lowerDevice, lowerPipeline, type DeviceLowering, type PipelineLowering } from './lower';
import type { DeviceSpec } from './pipeline-model';
import type { PipelineEstimateSummary, PipelineEstimator } from './estimator';
import { SenseCodeLensProvider } from './sense-codelens';
import { SenseCompletionProvider } from './sense-completion';
import { SenseHoverProvider } from './sense-hover';
import { SenseFormatter } from './sense-formatter';
import { SenseSemanticTokenProvider } from './sense-semantic-tokens';
import { SenseDocumentSymbolProvider } from './sense-symbols';
import { SenseDefinitionProvider, SenseRenameProvider } from './sense-navigation';
import { SenseCodeActionProvider } from './sense-code-actions';

/** Services added by the Sense language. */
export interface SenseAddedServices {
  lowering: {
    Lowering: SenseLowering;
  };
  validation: {
    SenseValidator: SenseValidator;
  };
  /** Whether a file exists; injectable so the language runs without a file system (tests, browser). */
  files: {
    fileExists: (path: string) => boolean;
  };
  /** Cost estimates for hover, CodeLens and fit warnings; undefined shows no costs. */
  estimation: {
    Estimator: PipelineEstimator | undefined;
  };
}

/** All services of the Sense language. */
export type SenseServices = LangiumServices & SenseAddedServices;

/** The lowering of one document: each pipeline's result, and each device's. */
export interface DocumentLowering {
  pipelines: Map<ast.Pipeline, PipelineLowering>;
  devices: Map<ast.Device, DeviceLowering>;
  /** Estimates of the pipelines that lowered to a spec, when an estimator is injected. */
  estimates: Map<ast.Pipeline, PipelineEstimateSummary>;
}

/**
 * Lowers documents once per parse: results are cached on the root AST node, which
 * Langium replaces on every change, so a stale result can never be returned.
 */
export class SenseLowering {
  private cache = new WeakMap<ast.Model, DocumentLowering>();
  private readonly deviceCache = new WeakMap<ast.Device, DeviceLowering>();
  private readonly documents: LangiumSharedServices['workspace']['LangiumDocuments'];
  private readonly estimator: PipelineEstimator | undefined;

  constructor(services: SenseServices) {
    this.documents = services.shared.workspace.LangiumDocuments;
    this.estimator = services.estimation.Estimator;
  }

  /** Lowers a device, cached by node. */
  device(device: ast.Device): DeviceLowering {
    let r = this.deviceCache.get(device);
    if (!r) {
      const builtin = AstUtils.getDocument(device).uri.toString() === BUILTIN_DEVICES_URI;
      r = recovering(device, () => lowerDevice(device, builtin), () => ({
        spec: { name: device.name ?? '?', processors: [], links: [], defaultProcessor: 'cpu', builtin, sources: [] },
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

/** Scopes: processors of the pipeline's target, processors of a link's device, layers of a block. */
export class SenseScopeProvider extends DefaultScopeProvider {
  private readonly documents: LangiumSharedServices['workspace']['LangiumDocuments'];

  constructor(services: SenseServices) {
    super(services);
    this.documents = services.shared.workspace.LangiumDocuments;
  }

  override getScope(context: ReferenceInfo): Scope {
    const { container, property } = context;
    if (ast.isPlace(container) && property === 'processor') {
      const pipeline = container.$container;
      const device = pipeline.targets[0]?.device?.ref;
      if (device) return this.createScopeForNodes(device.processors);
      // Without a target, the built-in host's processors (the fallback device).
      return this.createScopeForNodes(this.builtinHostProcessors());
    }
    if ((ast.isLink(container) && (property === 'from' || property === 'to')) || (ast.isDefaultProcessor(container) && property === 'processor')) {
      return this.createScopeForNodes(container.$container.processors);
    }
    if (ast.isLayerRef(container) && property === 'layer') {
      const block = container.block?.ref;
      return this.createScopeForNodes(block ? block.layers.filter((l) => l.name !== undefined) : []);
    }
    return super.getScope(context);
  }

  private builtinHostProcessors(): ast.Processor[] {
    const doc = this.documents.getDocument(URI.parse(BUILTIN_DEVICES_URI));
    const model = doc?.parseResult.value as ast.Model | undefined;
    return model?.devices.find((d) => d.name === 'host')?.processors ?? [];
  }
}

/** Reports unresolved references with a stable code per kind and the names that would resolve. */
export class SenseDocumentValidator extends DefaultDocumentValidator {
  /**
   * Langium's parser can report a recovery error one character past the end of a line
   * or the document (found by the fuzz test); editors and the CLI expect every range
   * inside the text, so ranges are clamped to it.
   */
  override async validateDocument(document: LangiumDocument, options?: Parameters<DefaultDocumentValidator['validateDocument']>[1], cancelToken?: Parameters<DefaultDocumentValidator['validateDocument']>[2]): Promise<Diagnostic[]> {
    const diagnostics = await super.validateDocument(document, options, cancelToken);
    const text = document.textDocument;
    const clamp = (p: { line: number; character: number }) => text.positionAt(text.offsetAt(p));
    for (const d of diagnostics) d.range = { start: clamp(d.range.start), end: clamp(d.range.end) };
    return diagnostics;
  }

  protected override processLinkingErrors(document: LangiumDocument, diagnostics: Diagnostic[]): void {
    for (const reference of document.references) {
      const error = reference.error;
      if (!error) continue;
      const { container, property, index } = error.info;
      const text = error.info.reference.$refText;
      let code: string = IssueCodes.UnresolvedReference;
      let message = error.message;
      if (ast.isPlace(container) && property === 'processor') {
        const device = container.$container.targets[0]?.device?.ref;
        const names = device?.processors.map((p) => p.name) ?? [];
        code = IssueCodes.UnresolvedProcessor;
        message = device
          ? `Target '${device.name}' has no processor '${text}'; it has ${names.join(', ')}.`
          : `Unknown processor '${text}': the pipeline has no target, so only the host's cpu is available.`;
      } else if (ast.isLink(container) || ast.isDefaultProcessor(container)) {
        const device = AstUtils.getContainerOfType(container, ast.isDevice);
        code = IssueCodes.UnresolvedProcessor;
        message = `Device '${device?.name}' has no processor '${text}'; declare it with processor ${text} { ... }.`;
      } else if (ast.isTarget(container)) {
        code = IssueCodes.UnresolvedDevice;
        message = `Unknown device '${text}'. Built-in devices: snapdragon800, tegrak1, edison, snapdragon8gen3, nrf52840, host; or declare device ${text} { ... }.`;
      } else if (ast.isLayerRef(container) && property === 'layer') {
        code = IssueCodes.UnresolvedLayer;
        const block = container.block?.ref;
        const names = block?.layers.map((l) => l.name).filter((n) => n !== undefined) ?? [];
        message = `'${block?.name}' has no layer named '${text}'${names.length ? `; named layers: ${names.join(', ')}` : ''}. Layers can also be addressed by position, e.g. ${block?.name}.1.`;
      } else if (ast.isLayerRef(container) || ast.isShared(container) || ast.isHead(container)) {
        code = IssueCodes.UnresolvedBlock;
        const pipeline = AstUtils.getContainerOfType(container, ast.isPipeline);
        const wantShared = !ast.isLayerRef(container);
        const names = pipeline?.blocks.filter((b) => !wantShared || ast.isShared(b)).map((b) => b.name) ?? [];
        message = `Unknown ${wantShared ? 'shared block' : 'block'} '${text}'${names.length ? `; declared: ${names.join(', ')}` : ''}.`;
      }
      diagnostics.push(
        this.toDiagnostic('error', message, {
          node: container,
          range: reference.$refNode?.range,
          property,
          index,
          code,
          data: { code, containerType: container.$type, property, refText: text },
        }),
      );
    }
  }
}

/** Loads the built-in device library into every workspace. */
export class SenseWorkspaceManager extends DefaultWorkspaceManager {
  private readonly factory: LangiumSharedServices['workspace']['LangiumDocumentFactory'];

  constructor(services: LangiumSharedServices) {
    super(services);
    this.factory = services.workspace.LangiumDocumentFactory;
  }

  protected override async loadAdditionalDocuments(folders: WorkspaceFolder[], collector: (document: LangiumDocument) => void): Promise<void> {
    await super.loadAdditionalDocuments(folders, collector);
    collector(this.factory.fromString(BUILTIN_DEVICES_SOURCE, URI.parse(BUILTIN_DEVICES_URI)));
  }
}

/** Reports what lowering found, plus checks that need the file system. */
export class SenseValidator {
  constructor(private readonly services: SenseServices) {}

  checkModel(model: ast.Model, accept: ValidationAcceptor): void {
    const lowering = this.services.lowering.Lowering.document(model);
    const builtin = AstUtils.getDocument(model).uri.toString() === BUILTIN_DEVICES_URI;
    const report = (issues: PipelineLowering['issues']): void => {
      for (const i of issues) {
        accept(i.severity, i.message, { node: i.node, property: i.property as never, index: i.index, code: i.code });
      }
    };
    for (const d of lowering.devices.values()) if (!builtin) report(d.issues);
    for (const p of lowering.pipelines.values()) report(p.issues);
    for (const [pipeline, estimate] of lowering.estimates) {
      const lowered = lowering.pipelines.get(pipeline)!;
      // One map per pipeline: a lookup per issue would be quadratic on large pipelines.
      const nodeOfLayer = estimate.issues.length > 0 ? new Map([...lowered.layerOf].map(([node, spec]) => [spec.id, node])) : undefined;
      for (const issue of estimate.issues) {
        const layerNode = issue.layerId ? nodeOfLayer?.get(issue.layerId) : undefined;
        const node: AstNode = layerNode ?? (issue.code === IssueCodes.LatencyBudget ? (pipeline.optimizations[0] ?? pipeline) : (pipeline.targets[0] ?? pipeline));
        accept(issue.severity, issue.message, { node, code: issue.code, ...(node === pipeline ? { property: 'name' as never } : {}) });
      }
    }
  }

  checkWeights(weights: ast.Weights, accept: ValidationAcceptor): void {
    const path = weights.path;
    const doc = AstUtils.getDocument(weights);
    if (doc.uri.scheme !== 'file') return;
    const base = doc.uri.fsPath.replace(/[\\/][^\\/]*$/, '');
    const full = /^([\\/]|[A-Za-z]:)/.test(path) ? path : `${base}/${path}`;
    if (!this.services.files.fileExists(full)) {
      accept('warning', `Weights file '${path}' does not exist (looked for ${full}); run 'sense init-weights' or train the pipeline to create it.`, {
        node: weights,
        property: 'path',
        code: IssueCodes.MissingWeightsFile,
      });
    }
  }
}

function registerValidationChecks(services: SenseServices): void {
  const registry = services.validation.ValidationRegistry;
  const validator = services.validation.SenseValidator;
  const checks: ValidationChecks<ast.SenseAstType> = {
    Model: validator.checkModel.bind(validator),
    Weights: validator.checkWeights.bind(validator),
  };
  registry.register(checks, validator);
}

/** The module of Sense-specific services. */
export function createSenseModule(fileExists: (path: string) => boolean, estimator?: PipelineEstimator): Module<SenseServices, PartialLangiumServices & SenseAddedServices> {
  return {
    lowering: { Lowering: (services) => new SenseLowering(services) },
    validation: {
      SenseValidator: (services) => new SenseValidator(services),
      DocumentValidator: (services) => new SenseDocumentValidator(services),
    },
    references: { ScopeProvider: (services) => new SenseScopeProvider(services) },
    lsp: {
      CompletionProvider: (services) => new SenseCompletionProvider(services),
      HoverProvider: (services) => new SenseHoverProvider(services),
      Formatter: () => new SenseFormatter(),
      SemanticTokenProvider: (services) => new SenseSemanticTokenProvider(services),
      DocumentSymbolProvider: (services) => new SenseDocumentSymbolProvider(services),
      DefinitionProvider: (services) => new SenseDefinitionProvider(services),
      RenameProvider: (services) => new SenseRenameProvider(services),
      CodeActionProvider: (services) => new SenseCodeActionProvider(services),
      CodeLensProvider: (services) => new SenseCodeLensProvider(services),
    },
    files: { fileExists: () => fileExists },
    estimation: { Estimator: () => estimator },
  };
}

/** Shared-services overrides: the workspace manager that loads the built-in devices. */
export const SenseSharedModule: Module<LangiumSharedServices, PartialLangiumSharedServices> = {
  workspace: { WorkspaceManager: (services) => new SenseWorkspaceManager(services) },
};

/** Options for {@link createSenseServices}. */
export interface SenseServicesOptions {
  /** File existence check for `weights`; by default every file is taken as missing. */
  fileExists?: (path: string) => boolean;
  /** Cost estimator (engine/'s, injected by the language server and CLI). */
  estimator?: PipelineEstimator;
}

/**
 * Creates the shared and Sense services. With no connection in `context` (tests, CLI)
 * the built-in device library is added to the documents at once; a language server
 * loads it when the workspace initialises.
 */
export function createSenseServices(
  context: DefaultSharedModuleContext = EmptyFileSystem,
  options: SenseServicesOptions = {},
): { shared: LangiumSharedServices; Sense: SenseServices } {
  const shared = inject(createDefaultSharedModule(context), SenseGeneratedSharedModule, SenseSharedModule);
  const Sense = inject(createDefaultModule({ shared }), SenseGeneratedModule, createSenseModule(options.fileExists ?? (() => false), options.estimator));
  shared.ServiceRegistry.register(Sense);
  registerValidationChecks(Sense);
  if (!context.connection) {
    const doc = shared.workspace.LangiumDocumentFactory.fromString(BUILTIN_DEVICES_SOURCE, URI.parse(BUILTIN_DEVICES_URI));
    shared.workspace.LangiumDocuments.addDocument(doc);
  }
  return { shared, Sense };
}

/** Parses, links and validates `text` as a document at `uri` and returns it (built-ins included). */
export async function buildDocument(services: { shared: LangiumSharedServices; Sense: SenseServices }, text: string, uri: string): Promise<LangiumDocument<ast.Model>> {
  const docs = services.shared.workspace.LangiumDocuments;
  const parsed = URI.parse(uri);
  if (docs.hasDocument(parsed)) await services.shared.workspace.DocumentBuilder.update([], [parsed]);
  const doc = services.shared.workspace.LangiumDocumentFactory.fromString<ast.Model>(text, parsed);
  docs.addDocument(doc);
  const toBuild = docs.all.filter((d) => d.state < DocumentState.Validated).toArray();
  await services.shared.workspace.DocumentBuilder.build(toBuild, { validation: true });
  return doc;
}

export type { LangiumCoreServices };
