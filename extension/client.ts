/**
 * The language client: it starts the Sense language server (dist/language-server.cjs, a
 * Node process spoken to over IPC) and stops it on deactivation. The server owns every
 * analysis of a document; the rest of the extension reaches it through {@link currentClient}
 * (read at each use, as rust-analyzer's editors/code does, because a server can be restarted).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';

let client: LanguageClient | undefined;

/** The language server's bundle inside the installed extension. */
export function serverModulePath(context: vscode.ExtensionContext): string {
  return context.asAbsolutePath(path.join('dist', 'language-server.cjs'));
}

/** How the server is started: over IPC; in a debug session with an inspector on port 6009. */
function serverOptions(serverModule: string): ServerOptions {
  return {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
  };
}

/** `.sense` documents, the server's log in the extension's output channel, and the files a pipeline names (weights) watched for the server. */
function clientOptions(output: vscode.LogOutputChannel): LanguageClientOptions {
  return {
    documentSelector: [{ language: 'sense' }],
    outputChannel: output,
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{sense,safetensors,onnx}') },
  };
}

/**
 * Creates the language client and starts the server. A server that does not start is
 * reported (output and an error message) and the client is kept, so the studio's requests
 * say the server is not running instead of failing on a missing client.
 */
export async function startClient(context: vscode.ExtensionContext, output: vscode.LogOutputChannel): Promise<LanguageClient> {
  const started = new LanguageClient('senseStudio', 'Sense Language Server', serverOptions(serverModulePath(context)), clientOptions(output));
  client = started;
  try {
    await started.start();
    output.appendLine('Language server started.');
  } catch (e) {
    output.appendLine(`The language server did not start: ${(e as Error).message}`);
    void vscode.window.showErrorMessage(`Sense Studio: the language server did not start (${(e as Error).message}); see the "Sense Studio" output.`);
  }
  return started;
}

/** The language client of this session, if activation created one. */
export function currentClient(): LanguageClient | undefined {
  return client;
}

/** Stops the language server. */
export async function stopClient(): Promise<void> {
  await client?.stop();
  client = undefined;
}
