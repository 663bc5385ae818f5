/**
 * The graph webview (dist/webview.js) as both of its hosts use it: the graph editor of
 * `.sense` files (graph-editor.ts) and the read-only ONNX preview (onnx-preview.ts). This
 * module loads the page under a strict content security policy with a nonce, and
 * {@link WebviewChannel} is the host's end of webview/protocol.ts: it numbers what it posts,
 * validates everything the webview sends (nothing from it is trusted) and answers a refused
 * message with an error the webview shows.
 */
import * as vscode from 'vscode';
import { PROTOCOL_VERSION, parseFromWebview, type FromWebviewMessage, type ToWebviewBody } from '../webview/protocol';

function nonce(): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

function graphHtml(webview: vscode.Webview, dist: vscode.Uri): string {
  const n = nonce();
  const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css'));
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `script-src 'nonce-${n}'`,
    'worker-src blob:',
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Sense graph</title>
</head>
<body>
<div id="root"></div>
<script nonce="${n}" src="${script.toString()}"></script>
</body>
</html>`;
}

/** Loads the graph webview (dist/webview.js) into `panel` under a strict content security policy with a nonce. */
export function showGraphWebview(context: vscode.ExtensionContext, panel: vscode.WebviewPanel): void {
  const dist = vscode.Uri.joinPath(context.extensionUri, 'dist');
  panel.webview.options = { enableScripts: true, localResourceRoots: [dist, vscode.Uri.joinPath(context.extensionUri, 'media')] };
  panel.webview.html = graphHtml(panel.webview, dist);
  panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'graph.svg');
}

/** The reason a webview speaking `protocolVersion` cannot be served, or undefined when it speaks this extension's protocol. */
export function protocolMismatch(protocolVersion: number): string | undefined {
  return protocolVersion === PROTOCOL_VERSION ? undefined : `The webview speaks protocol ${protocolVersion} but the extension speaks ${PROTOCOL_VERSION}; rebuild the extension (npm run build).`;
}

/** The host's end of one graph webview: numbered messages out, validated messages in; `tag` prefixes its lines in the output. */
export class WebviewChannel {
  private nextMessageId = 1;

  constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly output: vscode.OutputChannel,
    private readonly tag: string,
  ) {}

  /** Posts `body`, in reply to the webview's message `inReplyTo` when given. */
  post(body: ToWebviewBody, inReplyTo?: number): void {
    void this.panel.webview.postMessage({ messageId: this.nextMessageId++, ...(inReplyTo === undefined ? {} : { inReplyTo }), body });
  }

  /** The message `raw` as the protocol defines it; a message it refuses is logged, answered with an error, and undefined. */
  accept(raw: unknown): FromWebviewMessage | undefined {
    const parsed = parseFromWebview(raw);
    if (parsed.ok) return parsed.message;
    this.output.appendLine(`[${this.tag}] refused a message from the webview: ${parsed.error}`);
    this.post({ type: 'error', message: `The host refused a message: ${parsed.error}` });
    return undefined;
  }
}
