/**
 * The language server's file system: Langium's Node provider with every read going through
 * io/user-files.ts. At start the server loads every `.sense` file of the workspace folders,
 * which a repository writes; Langium lists only regular files, but a huge one would still be
 * read whole into one string and take the server down. Here a file is opened without
 * blocking, must be a regular file and is read only up to the pipeline limit
 * (MAX_FILE_BYTES.pipeline, 16 MiB).
 *
 * A refused file loads as a document holding one comment that says why (and the reason goes
 * to the server's log), so one bad file never stops the workspace from loading: Langium loads
 * all files together and a single rejection would leave every document unbuilt. A file open
 * in the editor is unaffected: the client sends its text.
 *
 * No `vscode` import: it runs in the server process.
 */
import type { URI } from 'langium';
import { NodeFileSystemProvider } from 'langium/node';
import { isUserFileError, readUserFile, readUserFileSync, readUserText, readUserTextSync } from '../../io/user-files';

/** Langium's NodeFileSystemProvider whose reads are bounded, regular-file-only reads. */
export class UserFileSystemProvider extends NodeFileSystemProvider {
  constructor(private readonly log: (message: string) => void = (m) => console.error(m)) {
    super();
  }

  private refused(e: unknown): string {
    if (!isUserFileError(e)) throw e;
    this.log(`Not loaded: ${e.message}`);
    return `// Sense Studio did not load this file: ${e.message.replace(/[\r\n]+/g, ' ')}\n`;
  }

  override async readFile(uri: URI): Promise<string> {
    try {
      return await readUserText(uri.fsPath, 'pipeline');
    } catch (e) {
      return this.refused(e);
    }
  }

  override readFileSync(uri: URI): string {
    try {
      return readUserTextSync(uri.fsPath, 'pipeline');
    } catch (e) {
      return this.refused(e);
    }
  }

  override readBinary(uri: URI): Promise<Uint8Array> {
    return readUserFile(uri.fsPath, 'pipeline');
  }

  override readBinarySync(uri: URI): Uint8Array {
    return readUserFileSync(uri.fsPath, 'pipeline');
  }
}

/** The module Langium's `createSenseServices` takes, in place of `NodeFileSystem`. */
export const UserFileSystem = {
  fileSystemProvider: (): UserFileSystemProvider => new UserFileSystemProvider(),
};
