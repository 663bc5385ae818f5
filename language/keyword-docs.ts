/**
 * One-line documentation of the `.sense` keywords that completion offers: what each
 * statement, layer kind, activation and setting is, with its units, and a snippet for
 * the ones that need arguments. Completion shows these beside each item so that a
 * reader can pick `conv1d` without opening the docs.
 */

/** Documentation of one keyword as completion shows it. */
export interface KeywordDoc {
  /** One line: what the keyword is and the units of what follows it. */
  doc: string;
  /** A snippet in LSP syntax (`${1:64}`) inserted instead of the bare keyword. */
  snippet?: string;
}

/** Layer kinds (`dense`, `conv1d`, ...), which start a layer line. */
export const LAYER_KIND_DOCS: Readonly<Record<string, KeywordDoc>> = {
  dense: { doc: 'Fully connected layer: `dense UNITS [activation]`; UNITS outputs, each a weighted sum of every input.', snippet: 'dense ${1:64} ${2:relu}' },
  conv1d: { doc: 'Convolution over time: `conv1d FILTERS kernel K [stride S] [padding same|valid] [activation]`; K in frames.', snippet: 'conv1d ${1:32} kernel ${2:3} ${3:relu}' },
  conv2d: { doc: 'Convolution over time and frequency: `conv2d FILTERS kernel KxK [stride S] [padding same|valid] [activation]`; K in frames x bins (pixels for images).', snippet: 'conv2d ${1:32} kernel ${2:3}x${3:3} ${4:relu}' },
  maxpool: { doc: 'Max pooling: `maxpool SIZE [stride S]` keeps the largest value of each SIZE window; `maxpool global` over all positions.', snippet: 'maxpool ${1:2}' },
  avgpool: { doc: 'Average pooling: `avgpool SIZE [stride S]` averages each SIZE window; `avgpool global` over all positions.', snippet: 'avgpool ${1:2}' },
  batchnorm: { doc: 'Batch normalisation: scales each channel by learned statistics; shape unchanged, 4 parameters per channel.' },
  dropout: { doc: 'Dropout: `dropout RATE` zeroes a fraction RATE (0 to 1) of values in training; nothing at inference.', snippet: 'dropout ${1:0.5}' },
  flatten: { doc: 'Flatten: reshapes the input to one vector (e.g. [40, 98] to [3920]); no parameters.' },
  gru: { doc: 'Gated recurrent unit: `gru UNITS [sequences]`; the last step\'s UNITS outputs, or every step\'s with `sequences`.', snippet: 'gru ${1:64}' },
  lstm: { doc: 'Long short-term memory: `lstm UNITS [sequences]`; the last step\'s UNITS outputs, or every step\'s with `sequences`.', snippet: 'lstm ${1:64}' },
};

/** Activations, after a layer (`dense 64 relu`) or as a layer of their own. */
export const ACTIVATION_DOCS: Readonly<Record<string, KeywordDoc>> = {
  relu: { doc: 'Rectified linear unit: max(0, x).' },
  sigmoid: { doc: 'Logistic sigmoid: 1 / (1 + e^-x), each output in (0, 1).' },
  tanh: { doc: 'Hyperbolic tangent, each output in (-1, 1).' },
  softmax: { doc: 'Softmax: outputs sum to 1 (class probabilities); usual on a head\'s last layer.' },
  gelu: { doc: 'Gaussian error linear unit: x times the normal CDF of x.' },
  elu: { doc: 'Exponential linear unit: x for x > 0, e^x - 1 below.' },
  leakyrelu: { doc: 'Leaky ReLU: x for x > 0, 0.01 x below.' },
  linear: { doc: 'No activation (identity); written to make it explicit.' },
};

/** Everything else completion offers: statements, layer options, input settings, features, compression. */
export const KEYWORD_DOCS: Readonly<Record<string, KeywordDoc>> = {
  // Pipeline statements.
  input: { doc: 'The sensor input: `input audio|inertial|image { ... }` with its rate, window and hop.', snippet: 'input ${1|audio,inertial,image|} {\n\t$0\n}' },
  features: { doc: 'The feature front end: framing, log-mel, MFCC, statistics, ... in order.', snippet: 'features {\n\t$0\n}' },
  shared: { doc: 'A shared block: layers that several heads read (`head h from NAME`).', snippet: 'shared ${1:encoder} {\n\t$0\n}' },
  head: { doc: 'A task head: layers ending in class scores, and its `labels [...]`.', snippet: 'head ${1:name} from ${2:encoder} {\n\t$0\n}' },
  target: { doc: 'The device the pipeline runs on: a built-in one or a `device` in the workspace.', snippet: 'target ${1:host}' },
  weights: { doc: 'The trained weights file (ONNX or .npz), relative to this file: `weights "model.onnx"`.', snippet: 'weights "${1:model.onnx}"' },
  compress: { doc: 'Compress a layer: `compress BLOCK.N svd rank R | svd energy P% | sparse atoms A nonzeros K | int8`.', snippet: 'compress ${1:block}.${2:1} svd rank ${3:64}' },
  place: { doc: 'Put blocks (or the feature front end) on one of the target\'s processors: `place BLOCK, ... on PROCESSOR`.', snippet: 'place ${1:block} on ${2:dsp}' },
  optimize: { doc: 'Let the partitioner choose placements: `optimize energy W latency W within BUDGET ms`.' },
  expect: { doc: 'How often a head\'s top label is LABEL (percent of windows), for costing heads gated on it: `expect HEAD LABEL 30%`.' },
  labels: { doc: 'The head\'s class names, one per output of its last layer.', snippet: 'labels [${1:a}, ${2:b}]' },
  from: { doc: 'The shared block whose output this block reads.' },
  when: { doc: 'Gate: run this head only on windows whose HEAD\'s top label is LABEL: `when HEAD is LABEL`.' },
  // Layer options.
  kernel: { doc: 'Kernel size, in frames (conv1d) or frames x bins (conv2d).' },
  stride: { doc: 'Step between windows, in positions; 1 keeps every position.' },
  padding: { doc: '`same` pads so the output keeps the input\'s length; `valid` does not pad.' },
  same: { doc: 'Pad so the output keeps the input\'s length (divided by the stride).' },
  valid: { doc: 'No padding: the output is shorter by kernel - 1 positions.' },
  global: { doc: 'Pool over all positions, leaving one value per channel.' },
  sequences: { doc: 'Return every time step\'s output, not only the last (to stack recurrent layers).' },
  x: { doc: 'Separates height and width: `3x3`.' },
  // Input settings.
  rate: { doc: 'Sampling rate, in Hz or kHz (samples per second per channel).', snippet: 'rate ${1:16} ${2:kHz}' },
  window: { doc: 'Length of the window one inference sees, in s or ms.', snippet: 'window ${1:1} ${2:s}' },
  hop: { doc: 'Time between the starts of consecutive windows, in s or ms (the window length if absent).', snippet: 'hop ${1:500} ${2:ms}' },
  channels: { doc: 'Number of channels (microphones; 1 gray or 3 RGB for images).', snippet: 'channels ${1:1}' },
  period: { doc: 'Time between images, in s or ms.', snippet: 'period ${1:1} ${2:s}' },
  size: { doc: 'Image size in pixels, height x width.', snippet: 'size ${1:96}x${2:96}' },
  accelerometer: { doc: 'Accelerometer axes (typically m/s^2 or g): `accelerometer [x, y, z]` or `[magnitude]`.', snippet: 'accelerometer [${1:x, y, z}]' },
  gyroscope: { doc: 'Gyroscope axes (typically rad/s): `gyroscope [x, y, z]` or `[magnitude]`.', snippet: 'gyroscope [${1:x, y, z}]' },
  magnetometer: { doc: 'Magnetometer axes (typically microtesla): `magnetometer [x, y, z]` or `[magnitude]`.', snippet: 'magnetometer [${1:x, y, z}]' },
  barometer: { doc: 'Barometric pressure (typically hPa): `barometer [pressure]`.', snippet: 'barometer [pressure]' },
  // Feature steps.
  silence: { doc: 'Drop windows quieter than a threshold, in dB: `silence below -50 dB`.' },
  frames: { doc: 'Cut the window into frames: `frames 25 ms hop 10 ms [fft N]`.', snippet: 'frames ${1:25} ms hop ${2:10} ms' },
  logmel: { doc: 'Log mel spectrogram: `logmel BANDS bands [fmin F] [fmax F]`, F in Hz.', snippet: 'logmel ${1:40} bands' },
  mfcc: { doc: 'Mel-frequency cepstral coefficients: `mfcc N coeffs [B bands] [deltas D]`.', snippet: 'mfcc ${1:13} coeffs' },
  deltas: { doc: 'Append time differences of the features, up to the given order.' },
  normalize: { doc: 'Scale each feature to zero mean and unit variance over the window.' },
  stats: { doc: 'Statistics of each channel over the window: `stats mean, std, ...`.', snippet: 'stats ${1:mean, std}' },
  raw: { doc: 'Pass the samples through unchanged.' },
  stack: { doc: 'Stack N consecutive frames into one.' },
  // Compression.
  svd: { doc: 'Low-rank factorisation of the weight matrix: `svd rank R`, `svd energy P%` (spectral energy kept) or `svd error P%`.' },
  sparse: { doc: 'Sparse coding of the weights: `sparse atoms A nonzeros K`.' },
  int8: { doc: 'Store the weights as 8-bit integers (a quarter of float32\'s bytes).' },
};

/** The documentation of `keyword` in any of the tables above. */
export function keywordDoc(keyword: string): KeywordDoc | undefined {
  return LAYER_KIND_DOCS[keyword] ?? ACTIVATION_DOCS[keyword] ?? KEYWORD_DOCS[keyword];
}
