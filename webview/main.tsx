/**
 * Entry of the graph editor webview (bundled by esbuild to dist/webview.js, with its CSS,
 * React Flow's and the codicons', to dist/webview.css). The host page must load both
 * under a CSP like `default-src 'none'; style-src ${cspSource}; font-src ${cspSource};
 * img-src ${cspSource} data:; script-src 'nonce-…'; worker-src blob:` (the layout runs in
 * a worker started from a blob: URL).
 */
import '@xyflow/react/dist/style.css';
import '@vscode/codicons/dist/codicon.css';
import './styles.css';
import './zod-csp';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createHostBridge } from './host-bridge';

const container = document.getElementById('root');
if (!container) throw new Error('The webview page needs an element with id "root".');
createRoot(container).render(<App host={createHostBridge()} />);
