/**
 * Scoping: which names a reference can see. A `place` sees the processors of the
 * pipeline's target (the built-in host's without one), a link and a default processor
 * those of their device, a layer reference the layers of its block.
 */
import { DefaultScopeProvider, URI, type ReferenceInfo, type Scope } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';
import * as ast from './generated/ast';
import { BUILTIN_DEVICES_URI } from './builtin-devices';
import type { SenseServices } from './sense-module';

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

