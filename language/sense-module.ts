/**
 * The Sense language services: Langium's defaults plus our lowering, scoping, linking
 * messages, validation and editor features, one class per file as in Langium's
 * examples, and the built-in device library. `createSenseServices` is used by the
 * language server, the CLI and the tests alike.
 */
import './polyfills';
import { DocumentState, EmptyFileSystem, URI, inject, type LangiumCoreServices, type LangiumDocument, type Module } from 'langium';
import {
  createDefaultModule,
  createDefaultSharedModule,
  type DefaultSharedModuleContext,
  type LangiumServices,
  type LangiumSharedServices,
  type PartialLangiumServices,
  type PartialLangiumSharedServices,
} from 'langium/lsp';
import type * as ast from './generated/ast';
import { SenseGeneratedModule, SenseGeneratedSharedModule } from './generated/module';
import { BUILTIN_DEVICES_SOURCE, BUILTIN_DEVICES_URI } from './builtin-devices';
import type { PipelineEstimator } from './estimator';
import { SenseCodeActionProvider } from './sense-code-actions';
import { SenseCodeLensProvider } from './sense-codelens';
import { SenseCompletionProvider } from './sense-completion';
import { SenseDocumentValidator } from './sense-document-validator';
import { SenseFormatter } from './sense-formatter';
import { SenseHoverProvider } from './sense-hover';
import { SenseLowering } from './sense-lowering';
import { SenseDefinitionProvider, SenseRenameProvider } from './sense-navigation';
import { SenseScopeProvider } from './sense-scope';
import { SenseSemanticTokenProvider } from './sense-semantic-tokens';
import { SenseDocumentSymbolProvider } from './sense-symbols';
import { registerValidationChecks, SenseValidator } from './sense-validator';
import { SenseWorkspaceManager } from './sense-workspace-manager';

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
