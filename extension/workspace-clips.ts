/**
 * The workspace's clips (`.wav`, `.csv`) and labelled folders, which the graph offers to Run
 * on Clip and Evaluate Folder. They are listed once per workspace folder and kept until a
 * clip is added or removed: the graph asks on every update, and a workspace search on each
 * would sit on the path from a click on Apply to the new estimate.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';

/** The clips of one workspace folder, relative to it, and the labelled folders among them. */
export interface WorkspaceClips {
  clips: string[];
  folders: string[];
}

/** Watches the workspace's clips; returns the function that lists those of a document's workspace folder. */
export function watchWorkspaceClips(context: vscode.ExtensionContext): (uri: vscode.Uri) => Promise<WorkspaceClips> {
  const cache = new Map<string, Promise<WorkspaceClips>>();
  const watcher = vscode.workspace.createFileSystemWatcher('**/*.{wav,csv}', false, true, false);
  watcher.onDidCreate(() => cache.clear());
  watcher.onDidDelete(() => cache.clear());
  context.subscriptions.push(watcher);
  return (uri) => {
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder) return Promise.resolve({ clips: [], folders: [] });
    const key = folder.uri.toString();
    let listed = cache.get(key);
    if (!listed) {
      listed = (async () => {
        const found = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, '**/*.{wav,csv}'), '**/node_modules/**', 2000);
        const clips = found.map((u) => vscode.workspace.asRelativePath(u, false)).sort();
        // Labelled folders are laid out DIR/HEAD/LABEL/clip, as `sense eval` reads them.
        const folders = [...new Set(clips.map((c) => path.posix.dirname(path.posix.dirname(path.posix.dirname(c)))).filter((d) => d !== '.'))].sort();
        return { clips, folders };
      })();
      listed.catch(() => cache.delete(key));
      cache.set(key, listed);
    }
    return listed;
  };
}
