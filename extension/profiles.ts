/**
 * The measured device profiles of the `senseStudio.deviceProfiles` setting, on the
 * extension's side: the language server applies them (sent parsed in the
 * senseStudio/deviceProfiles notification: it reads no files), also after it restarts; the
 * listed files are watched, so a new `sense calibrate --out` counts; the setting's changes
 * and a grant of workspace trust read them again (plan-commands.ts reloadProfiles reads
 * them, and nothing in Restricted Mode).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { State, type LanguageClient } from 'vscode-languageclient/node';
import type { LoadedProfile } from '../engine/calibrate/profile';
import { profileFilePath } from './calibration-report';
import { DEVICE_PROFILES_SETTING } from './plan-commands';
import { DEVICE_PROFILES_NOTIFICATION, deviceProfilesPayload } from './server/device-profiles';

/** What the profile watchers need from the rest of the extension. */
export interface ProfilesHost {
  /** The language client, read at each use: the server may be restarted. */
  client(): LanguageClient | undefined;
  output: vscode.OutputChannel;
  /** Reads the setting's profiles again (never rejects); calls back `sync` when they changed. */
  reload(): Promise<void>;
  /** The profiles read last. */
  profiles(): readonly LoadedProfile[];
}

/**
 * Registers the watchers and listeners; `sync` sends the profiles read last to the server
 * and watches the files the setting lists now. The caller reads them first (host.reload).
 */
export function registerProfiles(context: vscode.ExtensionContext, host: ProfilesHost): { sync(): void } {
  const sendProfiles = (): void => {
    const client = host.client();
    if (!client?.isRunning()) return;
    client.sendNotification(DEVICE_PROFILES_NOTIFICATION, deviceProfilesPayload(host.profiles())).catch((e: unknown) => host.output.appendLine(`[profile] the language server did not get the device profiles: ${(e as Error).message}`));
  };
  const started = host.client();
  if (started) context.subscriptions.push(started.onDidChangeState((e) => e.newState === State.Running && sendProfiles()));
  let profileWatchers: vscode.FileSystemWatcher[] = [];
  let watchedProfiles = '';
  let reloadTimer: ReturnType<typeof setTimeout> | undefined;
  const reloadSoon = (): void => {
    if (reloadTimer) clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => void host.reload(), 200);
  };
  const syncProfiles = (): void => {
    sendProfiles();
    const baseDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    const entries = vscode.workspace.getConfiguration('senseStudio').get<unknown[]>(DEVICE_PROFILES_SETTING, []) ?? [];
    const files = entries.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => profileFilePath(x, baseDir));
    if (files.join('\n') === watchedProfiles) return;
    watchedProfiles = files.join('\n');
    for (const w of profileWatchers) w.dispose();
    profileWatchers = files.map((file) => {
      const w = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file)));
      w.onDidCreate(reloadSoon);
      w.onDidChange(reloadSoon);
      w.onDidDelete(reloadSoon);
      return w;
    });
  };
  context.subscriptions.push(
    { dispose: () => profileWatchers.forEach((w) => w.dispose()) },
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`senseStudio.${DEVICE_PROFILES_SETTING}`)) void host.reload();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      host.output.appendLine('[profile] the workspace is trusted now; reading the measured device profiles.');
      void host.reload();
    }),
  );
  return { sync: syncProfiles };
}
