/**
 * The size limit of each kind of file a user names, without the file system, so that code
 * a browser runs (the kernel suite page) can check sizes as the readers do. io/user-files.ts
 * re-exports both.
 */

/** What a file is read as; each kind has its own size limit ({@link MAX_FILE_BYTES}) and wording. */
export type UserFileKind = 'pipeline' | 'weights' | 'clip' | 'profile' | 'onnx' | 'json' | 'text';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Largest file of each kind read, in bytes. Weights stop below 4 GiB (V8's largest buffer
 * and the largest ONNX protobuf); a clip at 1 GiB (about 9 hours of 16 kHz 16-bit mono
 * audio); text formats at sizes no hand-written or generated file of that kind reaches.
 */
export const MAX_FILE_BYTES: Readonly<Record<UserFileKind, number>> = {
  pipeline: 16 * MiB,
  weights: 4 * GiB - 1,
  onnx: 4 * GiB - 1,
  clip: 1 * GiB,
  profile: 64 * MiB,
  json: 64 * MiB,
  text: 64 * MiB,
};
