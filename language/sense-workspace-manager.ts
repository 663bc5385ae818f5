/**
 * The workspace manager: Langium's, plus the built-in device library
 * (`sense-builtin:/devices.sense`), so `target snapdragon800` links like a device
 * declared in the workspace.
 */
import { DefaultWorkspaceManager, URI, type LangiumDocument } from 'langium';
import type { LangiumSharedServices } from 'langium/lsp';
import type { WorkspaceFolder } from 'vscode-languageserver-protocol';
import { BUILTIN_DEVICES_SOURCE, BUILTIN_DEVICES_URI } from './builtin-devices';

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

