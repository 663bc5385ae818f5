/**
 * The webview's side of the channel to its host: wraps `acquireVsCodeApi()` (VS Code, or
 * the mock host in tests), stamps envelopes with message ids, and validates everything
 * the host sends with {@link parseToWebview} before anyone sees it.
 */
import { PROTOCOL_VERSION, parseToWebview, type FromWebviewBody, type FromWebviewMessage, type ToWebviewMessage } from './protocol';

/** The subset of VS Code's webview API the graph editor uses. */
export interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  /** Provided by VS Code (and by the mock host page) inside a webview; callable once. */
  function acquireVsCodeApi(): VsCodeApi;
}

/** What arrives from the host: a validated message, or the reason one was refused. */
export type Incoming = { ok: true; message: ToWebviewMessage } | { ok: false; error: string };

/** A typed, validated channel to the host. */
export interface HostBridge {
  /** Sends a body to the host and returns the message id it was sent with. */
  post(body: FromWebviewBody, inReplyTo?: number): number;
  /** Listens to incoming messages; returns the function that stops listening. */
  listen(listener: (incoming: Incoming) => void): () => void;
  /** Webview state that survives the panel being hidden (VS Code's getState/setState). */
  getState(): unknown;
  setState(state: unknown): void;
}

/** The performance measure of reading one message from the host (deserialising and validating it). */
export const MESSAGE_READ_MEASURE = 'sense-message-read';

/** Creates the bridge over `acquireVsCodeApi()`; the first `ready` is sent by the app once it listens. */
export function createHostBridge(api: VsCodeApi = acquireVsCodeApi(), target: Window = window): HostBridge {
  let nextId = 1;
  return {
    post(body, inReplyTo) {
      const message: FromWebviewMessage = { messageId: nextId++, body, ...(inReplyTo === undefined ? {} : { inReplyTo }) };
      api.postMessage(message);
      return message.messageId;
    },
    listen(listener) {
      const handler = (event: MessageEvent): void => {
        const started = performance.now();
        // Reading event.data deserialises the message: the measure holds that and zod's checks.
        const parsed = parseToWebview(event.data);
        performance.measure(MESSAGE_READ_MEASURE, { start: started, end: performance.now() });
        listener(parsed);
      };
      target.addEventListener('message', handler);
      return () => target.removeEventListener('message', handler);
    },
    getState: () => api.getState(),
    setState: (state) => api.setState(state),
  };
}

/** The `ready` body this build of the webview sends. */
export function readyBody(): FromWebviewBody {
  return { type: 'ready', protocolVersion: PROTOCOL_VERSION };
}
