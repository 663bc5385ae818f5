import { expect } from 'vitest';
import { ResponseError } from 'vscode-languageserver/node';

/** The ResponseError a language-server request is refused with; fails the test when it resolves or throws anything else. */
export async function refusal(p: Promise<unknown>): Promise<ResponseError<unknown>> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ResponseError);
  return e as ResponseError<unknown>;
}
