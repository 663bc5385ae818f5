/**
 * Stable diagnostic codes. Tests, code actions and the CLI refer to these; never
 * renumber or reuse one for a different meaning.
 */
export const IssueCodes = {
  SyntaxError: 'syntax-error',
  UnresolvedBlock: 'unresolved-block',
  UnresolvedLayer: 'unresolved-layer',
  UnresolvedDevice: 'unresolved-device',
  UnresolvedProcessor: 'unresolved-processor',
  UnresolvedReference: 'unresolved-reference',
  DuplicateName: 'duplicate-name',
  DuplicateStatement: 'duplicate-statement',
  MissingInput: 'missing-input',
  MissingSetting: 'missing-setting',
  UnexpectedSetting: 'unexpected-setting',
  MissingTarget: 'missing-target',
  MissingUnit: 'missing-unit',
  UnknownUnit: 'unknown-unit',
  WrongUnit: 'wrong-unit',
  UnexpectedUnit: 'unexpected-unit',
  InvalidNumber: 'invalid-number',
  FeatureShape: 'feature-shape',
  ShapeMismatch: 'shape-mismatch',
  ForwardReference: 'forward-reference',
  EmptyBlock: 'empty-block',
  LabelCount: 'label-count',
  HeadOutputNotVector: 'head-output-not-vector',
  CompressNeedsLayer: 'compress-needs-layer',
  NotCompressible: 'not-compressible',
  RankTooLarge: 'rank-too-large',
  CompressNoSaving: 'compress-no-saving',
  DuplicateCompress: 'duplicate-compress',
  LayerIndexOutOfRange: 'layer-index-out-of-range',
  ConflictingPlace: 'conflicting-place',
  UnsupportedOp: 'unsupported-op',
  MissingWeightsFile: 'missing-weights-file',
  EmptyDevice: 'empty-device',
  MissingProcessorSetting: 'missing-processor-setting',
  InvalidLink: 'invalid-link',
  MemoryLimit: 'memory-limit',
  LatencyBudget: 'latency-budget',
  EstimateFailed: 'estimate-failed',
  /** A measured device profile for the pipeline's target that cannot apply (not fitted, no such processor). */
  DeviceProfile: 'device-profile',
  /** A `when HEAD is LABEL` or `expect HEAD LABEL` naming a label the head does not have. */
  UnknownLabel: 'unknown-label',
  /** A head gated on itself, or gates that form a cycle. */
  GateCycle: 'gate-cycle',
  /** A gate without an `expect` line for its head and label: the estimate assumes it always opens. */
  MissingExpect: 'missing-expect',
} as const;

/** One of the codes above. */
export type IssueCode = (typeof IssueCodes)[keyof typeof IssueCodes];
