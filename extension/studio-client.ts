/**
 * The extension host's side of the studio's requests (lsp-ext.ts): every figure the graph,
 * the status bar and the commands show is asked of the language server, which owns the one
 * analysis of each document. This module names the document as the server knows it (the
 * client's own URI conversion and the editor's version) and turns the server's refusals
 * into errors a command can show.
 *
 * A request made against a version the text has since left is refused by the server with
 * ContentModified ({@link STALE_VERSION_CODE}). {@link StudioClient.request} asks once more
 * against the current text, which is what a status bar or a command wants; a graph action
 * made against what the user saw uses {@link StudioClient.requestAt}, which never re-asks
 * (the graph editor refuses the action and shows the current text instead).
 */
import type * as vscode from 'vscode';
import { LSPErrorCodes, ResponseError, type LanguageClient, type RequestType } from 'vscode-languageclient/node';
import { STALE_VERSION_CODE, type VersionedDocument } from './lsp-ext';

/** A request refused because the document changed after it was made; ask again against the current text. */
export class StaleVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleVersionError';
  }
}

/** A request cancelled by its caller (a newer preview, a closed editor, the Cancel button). */
export class RequestCancelledError extends Error {
  constructor(method: string) {
    super(`${method}: cancelled.`);
    this.name = 'RequestCancelledError';
  }
}

/** Parameters of a document request without the document, which the client fills in. */
type Rest<P> = Omit<P, 'textDocument'>;

/** The server's message without its `senseStudio/method: ` prefix, which names the request, not the problem. */
function userMessage(e: ResponseError<unknown>): string {
  return e.message.replace(/^senseStudio\/[A-Za-z]+: /, '');
}

/** Sends the studio's requests through the language client. */
export class StudioClient {
  /** `client` is read at each request: the language server may be restarted. */
  constructor(private readonly client: () => LanguageClient | undefined) {}

  /** The document as the server knows it: the client's URI conversion and the editor's version now. */
  versioned(doc: vscode.TextDocument): VersionedDocument {
    const client = this.running();
    return { uri: client.code2ProtocolConverter.asUri(doc.uri), version: doc.version };
  }

  /**
   * Asks `type` about `doc` at its current version; when the text changes before the server
   * answers (a stale refusal), asks once more against the new version. A second stale
   * refusal is a {@link StaleVersionError}.
   */
  async request<P extends { textDocument: VersionedDocument }, R>(type: RequestType<P, R, void>, doc: vscode.TextDocument, params: Rest<P>, token?: vscode.CancellationToken): Promise<R> {
    try {
      return await this.requestAt(type, this.versioned(doc), params, token);
    } catch (e) {
      if (!(e instanceof StaleVersionError)) throw e;
      return this.requestAt(type, this.versioned(doc), params, token);
    }
  }

  /** Asks `type` about the document at exactly `textDocument`'s version; never re-asks. */
  requestAt<P extends { textDocument: VersionedDocument }, R>(type: RequestType<P, R, void>, textDocument: VersionedDocument, params: Rest<P>, token?: vscode.CancellationToken): Promise<R> {
    return this.send(type, { ...params, textDocument } as P, token);
  }

  /** Sends `type` with `params` as they are (a request about a file the server reads itself, such as an ONNX model). */
  async send<P, R>(type: RequestType<P, R, void>, params: P, token?: vscode.CancellationToken): Promise<R> {
    const client = this.running();
    try {
      // By method name: the parameters were typed by `type` above, and the client's overloads do not infer a generic P.
      return (await client.sendRequest(type.method, params, token)) as R;
    } catch (e) {
      if (!(e instanceof ResponseError)) throw e;
      if (e.code === STALE_VERSION_CODE) throw new StaleVersionError(userMessage(e));
      if (e.code === LSPErrorCodes.RequestCancelled || e.code === LSPErrorCodes.ServerCancelled) throw new RequestCancelledError(type.method);
      throw new Error(userMessage(e));
    }
  }

  private running(): LanguageClient {
    const client = this.client();
    if (!client?.isRunning()) throw new Error('The Sense language server is not running; see the "Sense Studio" output, then run "Developer: Reload Window".');
    return client;
  }
}

/** True for an error that says the request was cancelled (by the caller or by VS Code). */
export function isCancellation(e: unknown): boolean {
  return e instanceof RequestCancelledError || (e instanceof Error && e.name === 'Canceled');
}
