/**
 * esbuild imports ELK's worker script as text (`with { type: 'text' }`) so the webview can
 * start it from a blob: URL; VS Code webviews cannot start workers from resource URLs.
 */
declare module 'elkjs/lib/elk-worker.min.js' {
  const source: string;
  export default source;
}
