/**
 * Synthetic smartwatch inertial windows for the watch sample pipeline: accelerometer
 * (m/s², gravity included), gyroscope (rad/s), magnetometer (µT) and barometer (hPa)
 * at 50 Hz, 2.56 s windows (128 samples).
 *
 * The motion is a physical model, not a recording: the wrist's orientation R(t) (a
 * random mounting, arm swing, vehicle yaw) and its linear acceleration are generated
 * in the world frame (x east, y north, z up), the accelerometer reads Rᵀ(a + g·ẑ), the
 * gyroscope reads the body angular velocity vee(RᵀṘ), the magnetometer reads Rᵀ of
 * the Earth field plus disturbances, and the barometer follows altitude at
 * -0.12 hPa/m (the barometric gradient near sea level). Figures used, all typical
 * values rather than measurements: walking step rate 1.7-2.1 Hz and running 2.6-3.0 Hz
 * (adult cadences of about 100-125 and 155-180 steps/min), cycling cadence 60-90 rpm,
 * stair rise 0.17 m per step, Earth field 25-65 µT with 30-70° inclination (the range
 * of the IGRF model over populated latitudes), barometer noise about 0.012 hPa RMS
 * (the order of consumer MEMS barometers such as the Bosch BMP280 without IIR
 * filtering), accelerometer noise 0.02 m/s² and gyroscope noise 0.003 rad/s RMS at
 * 50 Hz (the order of consumer MEMS IMU datasheets).
 */
import type { Rng } from './prng';

/** Sample rate of the inertial windows, in Hz. */
export const INERTIAL_RATE_HZ = 50;
/** Samples per window: 2.56 s at 50 Hz. */
export const INERTIAL_WINDOW_SAMPLES = 128;
/** CSV header of every inertial clip. */
export const INERTIAL_COLUMNS = ['t', 'ax', 'ay', 'az', 'gx', 'gy', 'gz', 'mx', 'my', 'mz', 'p'] as const;

/** The watch pipeline's heads and their labels, in output-unit order. */
export const WATCH_HEADS = {
  activity: ['still', 'walking', 'running', 'cycling', 'stairs'],
  transport: ['none', 'car', 'bus', 'train'],
  place: ['indoor', 'outdoor'],
} as const satisfies Record<string, readonly string[]>;

/** Name of a watch head. */
export type WatchHead = keyof typeof WATCH_HEADS;

type Activity = (typeof WATCH_HEADS.activity)[number];
type Transport = (typeof WATCH_HEADS.transport)[number];
type Place = (typeof WATCH_HEADS.place)[number];

/** The situation one window was synthesised for (all three heads' ground truth). */
export interface Scenario {
  activity: Activity;
  transport: Transport;
  /** Indoor or outdoor; `null` inside a vehicle, where neither label applies. */
  place: Place | null;
}

/** One synthesised window: the CSV text and the generation parameters. */
export interface InertialClip {
  /** CSV with the {@link INERTIAL_COLUMNS} header and 128 rows. */
  csv: string;
  /** Scenario and model parameters, for the manifest. */
  params: Record<string, unknown>;
}

const G = 9.80665;
const HPA_PER_M = 0.12;
const DT = 1 / INERTIAL_RATE_HZ;

type Mat = [number, number, number, number, number, number, number, number, number];
type Vec = [number, number, number];

function mul(a: Mat, b: Mat): Mat {
  const r = new Array<number>(9).fill(0) as Mat;
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) r[3 * i + j] += a[3 * i + k] * b[3 * k + j];
  return r;
}

function transposeApply(m: Mat, v: Vec): Vec {
  return [m[0] * v[0] + m[3] * v[1] + m[6] * v[2], m[1] * v[0] + m[4] * v[1] + m[7] * v[2], m[2] * v[0] + m[5] * v[1] + m[8] * v[2]];
}

function apply(m: Mat, v: Vec): Vec {
  return [m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2], m[6] * v[0] + m[7] * v[1] + m[8] * v[2]];
}

function rotX(a: number): Mat {
  const c = Math.cos(a), s = Math.sin(a);
  return [1, 0, 0, 0, c, -s, 0, s, c];
}
function rotY(a: number): Mat {
  const c = Math.cos(a), s = Math.sin(a);
  return [c, 0, s, 0, 1, 0, -s, 0, c];
}
function rotZ(a: number): Mat {
  const c = Math.cos(a), s = Math.sin(a);
  return [c, -s, 0, s, c, 0, 0, 0, 1];
}

/** A uniformly random rotation (normalised Gaussian quaternion). */
function randomRotation(rng: Rng): Mat {
  let w = rng.gaussian(), x = rng.gaussian(), y = rng.gaussian(), z = rng.gaussian();
  const n = Math.hypot(w, x, y, z);
  w /= n; x /= n; y /= n; z /= n;
  return [
    1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
    2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
    2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
  ];
}

/** Band-limited random signal: white noise through a two-pole resonator at `centreHz`, unit RMS. */
function resonantNoise(rng: Rng, n: number, centreHz: number, q: number): number[] {
  const r = Math.exp((-Math.PI * centreHz) / (q * INERTIAL_RATE_HZ));
  const a1 = 2 * r * Math.cos((2 * Math.PI * centreHz) / INERTIAL_RATE_HZ);
  const a2 = -r * r;
  const warm = 200;
  const y: number[] = [];
  let y1 = 0, y2 = 0;
  for (let i = 0; i < n + warm; i++) {
    const v = rng.gaussian() + a1 * y1 + a2 * y2;
    y2 = y1;
    y1 = v;
    if (i >= warm) y.push(v);
  }
  const s = Math.sqrt(y.reduce((acc, v) => acc + v * v, 0) / n) || 1;
  return y.map((v) => v / s);
}

/** A slowly varying random signal: a few sinusoids below `maxHz` with random phases, unit peak scale. */
function slowWave(rng: Rng, maxHz: number): (t: number) => number {
  const parts = [0, 1, 2].map(() => ({ f: rng.uniform(0.05, maxHz), p: rng.uniform(0, 2 * Math.PI), a: rng.uniform(0.3, 1) }));
  const norm = parts.reduce((s, c) => s + c.a, 0);
  return (t) => parts.reduce((s, c) => s + c.a * Math.sin(2 * Math.PI * c.f * t + c.p), 0) / norm;
}

/** Picks the scenario of a clip of `head`/`label`, drawing the other two heads' values plausibly. */
export function scenarioFor(head: WatchHead, label: string, rng: Rng): Scenario {
  const indoorOr = (pIndoor: number): Place => (rng.chance(pIndoor) ? 'indoor' : 'outdoor');
  if (head === 'activity') {
    const activity = label as Activity;
    const pIndoor = { still: 0.6, walking: 0.5, running: 0.2, cycling: 0, stairs: 0.8 }[activity];
    return { activity, transport: 'none', place: indoorOr(pIndoor) };
  }
  if (head === 'transport') {
    const transport = label as Transport;
    if (transport === 'none') return { activity: rng.pick(['still', 'walking'] as const), transport, place: indoorOr(0.5) };
    return { activity: 'still', transport, place: null };
  }
  return { activity: rng.pick(['still', 'walking'] as const), transport: 'none', place: label as Place };
}

interface Motion {
  /** Linear acceleration of the wrist in the person frame (x lateral, y forward, z up), m/s². */
  accel: (i: number) => Vec;
  /** Arm pitch (about the lateral axis) and roll (about the forward axis), rad. */
  swing: (t: number) => [number, number];
  /** Heading (yaw) in rad. */
  yaw: (t: number) => number;
  /** Altitude relative to the window start, m. */
  altitude: (t: number) => number;
  /** Walking speed for position-dependent indoor fields, m/s (0 when stationary). */
  speedMps: number;
  params: Record<string, unknown>;
}

function gait(rng: Rng, n: number, kind: 'walking' | 'running' | 'stairs'): Motion {
  const stepHz = kind === 'running' ? rng.uniform(2.6, 3.0) : kind === 'stairs' ? rng.uniform(1.5, 1.9) : rng.uniform(1.7, 2.1);
  const vert = kind === 'running' ? rng.uniform(6, 12) : kind === 'stairs' ? rng.uniform(2.5, 4) : rng.uniform(1.5, 3);
  const swingRad = kind === 'running' ? rng.uniform(0.4, 0.7) : kind === 'stairs' ? rng.uniform(0.08, 0.2) : rng.uniform(0.15, 0.35);
  // Lever arm from shoulder to wrist; a runner's bent arm is shorter.
  const armM = kind === 'running' ? 0.3 : 0.5;
  const p1 = rng.uniform(0, 2 * Math.PI), p2 = rng.uniform(0, 2 * Math.PI), p3 = rng.uniform(0, 2 * Math.PI);
  const w = 2 * Math.PI * stepHz;
  const jitter = resonantNoise(rng, n, stepHz * 3, 2).map((v) => v * 0.1 * vert);
  const heading = rng.uniform(0, 2 * Math.PI);
  const turn = rng.uniform(-0.1, 0.1);
  const climb = kind === 'stairs' ? (rng.chance(0.5) ? 1 : -1) * 0.17 * stepHz : 0;
  const speedMps = kind === 'running' ? rng.uniform(2.5, 4) : rng.uniform(1.0, 1.6);
  return {
    accel: (i) => {
      const t = i * DT;
      const z = vert * (Math.sin(w * t + p1) + 0.3 * Math.sin(2 * w * t + p2) + (kind === 'running' ? 0.25 * Math.sin(3 * w * t + p2) : 0)) + (jitter[i] as number);
      const armOmega = w / 2;
      const y = 0.4 * vert * Math.sin(w * t + p1 + Math.PI / 2) - armM * swingRad * armOmega * armOmega * Math.sin(armOmega * t + p3);
      const x = 0.3 * vert * Math.sin((w / 2) * t + p2);
      return [x, y, z];
    },
    swing: (t) => [swingRad * Math.sin((w / 2) * t + p3), 0.1 * swingRad * Math.sin(w * t + p1)],
    yaw: (t) => heading + turn * t,
    altitude: (t) => climb * t,
    speedMps,
    params: { stepHz: r3(stepHz), verticalMps2: r3(vert), armSwingRad: r3(swingRad), climbMps: r3(climb) },
  };
}

function still(rng: Rng, n: number): Motion {
  const tremorHz = rng.uniform(8, 12);
  const tremor = [0, 1, 2].map(() => resonantNoise(rng, n, tremorHz, 4));
  const amp = rng.uniform(0.01, 0.05);
  const drift = slowWave(rng, 0.3);
  const driftRad = rng.uniform(0.005, 0.05);
  const heading = rng.uniform(0, 2 * Math.PI);
  return {
    accel: (i) => [amp * (tremor[0]![i] as number), amp * (tremor[1]![i] as number), amp * (tremor[2]![i] as number)],
    swing: (t) => [driftRad * drift(t), 0.5 * driftRad * drift(t + 7)],
    yaw: () => heading,
    altitude: () => 0,
    speedMps: 0,
    params: { tremorHz: r3(tremorHz), tremorMps2: r3(amp) },
  };
}

function cycling(rng: Rng, n: number): Motion {
  const cadenceHz = rng.uniform(1.0, 1.5);
  const sway = rng.uniform(0.3, 0.6);
  const road = resonantNoise(rng, n, rng.uniform(8, 16), 1.5);
  const roadAmp = rng.uniform(0.5, 1.5);
  const p = rng.uniform(0, 2 * Math.PI);
  const heading = rng.uniform(0, 2 * Math.PI);
  const turn = rng.uniform(-0.15, 0.15);
  const grade = rng.uniform(-0.5, 0.5);
  const w = 2 * Math.PI * cadenceHz;
  return {
    accel: (i) => {
      const t = i * DT;
      return [sway * Math.sin(w * t + p), 0.2 * sway * Math.sin(2 * w * t + p), roadAmp * (road[i] as number)];
    },
    swing: (t) => [0.03 * Math.sin(w * t + p), 0.05 * Math.sin(w * t + p + 1)],
    yaw: (t) => heading + turn * t,
    altitude: (t) => grade * t,
    speedMps: 0,
    params: { cadenceHz: r3(cadenceHz), roadMps2: r3(roadAmp), climbMps: r3(grade) },
  };
}

function vehicle(rng: Rng, n: number, kind: 'car' | 'bus' | 'train'): Motion {
  const speed = kind === 'car' ? rng.uniform(5, 30) : kind === 'bus' ? rng.uniform(3, 15) : rng.uniform(15, 40);
  const yawRate = kind === 'train' ? rng.uniform(-0.01, 0.01) : rng.uniform(-0.2, 0.2);
  const longWave = slowWave(rng, 0.3);
  const longAmp = kind === 'car' ? rng.uniform(0.3, 2) : kind === 'bus' ? rng.uniform(0.5, 1.5) : rng.uniform(0.05, 0.3);
  const bounce = resonantNoise(rng, n, kind === 'car' ? rng.uniform(1, 2) : kind === 'bus' ? rng.uniform(1, 1.8) : rng.uniform(2, 4), 2);
  const bounceAmp = kind === 'car' ? rng.uniform(0.2, 0.5) : kind === 'bus' ? rng.uniform(0.3, 0.6) : rng.uniform(0.05, 0.15);
  // Engine or road vibration: diesel idle near 10-13 Hz on a bus, road texture on a car.
  const vib = resonantNoise(rng, n, kind === 'bus' ? rng.uniform(10, 13) : rng.uniform(12, 20), kind === 'bus' ? 6 : 1.5);
  const vibAmp = kind === 'car' ? rng.uniform(0.1, 0.3) : kind === 'bus' ? rng.uniform(0.2, 0.4) : rng.uniform(0.02, 0.06);
  const swayHz = kind === 'train' ? rng.uniform(0.5, 1) : rng.uniform(0.5, 1.2);
  const swayAmp = kind === 'bus' ? rng.uniform(0.3, 0.8) : kind === 'train' ? rng.uniform(0.1, 0.3) : rng.uniform(0.05, 0.2);
  const swayPhase = rng.uniform(0, 2 * Math.PI);
  // Rail joints every 25 m give a periodic knock in a train.
  const jointHz = kind === 'train' ? speed / 25 : 0;
  const jointPhase = rng.uniform(0, 1);
  const heading = rng.uniform(0, 2 * Math.PI);
  const grade = rng.uniform(-0.3, 0.3);
  return {
    accel: (i) => {
      const t = i * DT;
      let z = bounceAmp * (bounce[i] as number) + vibAmp * (vib[i] as number);
      if (jointHz > 0) {
        const since = ((t * jointHz + jointPhase) % 1) / jointHz;
        z += 0.6 * Math.exp(-since / 0.04) * Math.cos(2 * Math.PI * 18 * since);
      }
      const lateral = speed * yawRate + swayAmp * Math.sin(2 * Math.PI * swayHz * t + swayPhase);
      return [lateral, longAmp * longWave(t), z];
    },
    swing: (t) => [0.02 * Math.sin(2 * Math.PI * swayHz * t), 0.03 * Math.sin(2 * Math.PI * swayHz * t + swayPhase)],
    yaw: (t) => heading + yawRate * t,
    altitude: (t) => grade * t,
    speedMps: 0,
    params: { vehicleSpeedMps: r3(speed), yawRadps: r3(yawRate), vibrationMps2: r3(vibAmp), railJointHz: r3(jointHz) },
  };
}

/**
 * Synthesises one 2.56 s window for a clip of `head`/`label`. The result depends only
 * on `rng`. Throws when `label` is not one of the head's labels.
 */
export function generateInertialClip(head: WatchHead, label: string, rng: Rng): InertialClip {
  if (!(WATCH_HEADS[head] as readonly string[]).includes(label)) {
    throw new Error(`"${label}" is not a label of the watch head "${head}" (labels: ${WATCH_HEADS[head].join(', ')}).`);
  }
  const n = INERTIAL_WINDOW_SAMPLES;
  const sc = scenarioFor(head, label, rng);
  const motion =
    sc.transport !== 'none' ? vehicle(rng, n, sc.transport)
    : sc.activity === 'still' ? still(rng, n)
    : sc.activity === 'cycling' ? cycling(rng, n)
    : gait(rng, n, sc.activity);

  const mount = randomRotation(rng);
  const orientation = (t: number): Mat => {
    const [pitch, roll] = motion.swing(t);
    return mul(rotZ(motion.yaw(t)), mul(rotX(pitch), mul(rotY(roll), mount)));
  };

  const fieldUt = rng.uniform(25, 65);
  const inclination = (rng.uniform(30, 70) * Math.PI) / 180;
  const earth: Vec = [0, fieldUt * Math.cos(inclination), -fieldUt * Math.sin(inclination)];
  const hardIron: Vec = [rng.normal(0, 2), rng.normal(0, 2), rng.normal(0, 2)];
  // Steel and wiring distort the field indoors and in vehicles; a train's traction
  // current makes it fluctuate.
  const indoor = sc.place === 'indoor';
  const distortStd = sc.transport === 'car' ? 8 : sc.transport === 'bus' ? 12 : sc.transport === 'train' ? 15 : indoor ? 10 : 0.5;
  const staticDisturb: Vec = [rng.normal(0, distortStd), rng.normal(0, distortStd), rng.normal(0, distortStd)];
  const spatial = indoor
    ? [0, 1, 2].map(() => ({ lambdaM: rng.uniform(1, 4), amp: rng.uniform(3, 15), phase: rng.uniform(0, 2 * Math.PI) }))
    : [];
  const traction = sc.transport === 'train' ? [slowWave(rng, 2), slowWave(rng, 2), slowWave(rng, 2)] : null;
  const tractionUt = traction ? rng.uniform(10, 50) : 0;
  const tOffset = rng.uniform(0, 10);
  const field = (t: number): Vec => {
    const b: Vec = [earth[0] + staticDisturb[0], earth[1] + staticDisturb[1], earth[2] + staticDisturb[2]];
    const s = motion.speedMps * (t + tOffset);
    spatial.forEach((c, k) => (b[k] += c.amp * Math.sin((2 * Math.PI * s) / c.lambdaM + c.phase)));
    if (traction) for (let k = 0; k < 3; k++) b[k] += tractionUt * traction[k]!(t + tOffset);
    return b;
  };

  const p0 = rng.uniform(980, 1030);
  const gust = sc.place === 'outdoor' ? resonantNoise(rng, n, 0.3, 0.7) : null;
  const gustHpa = gust ? rng.uniform(0.02, 0.05) : 0;
  const accBias: Vec = [rng.normal(0, 0.05), rng.normal(0, 0.05), rng.normal(0, 0.05)];
  const gyrBias: Vec = [rng.normal(0, 0.005), rng.normal(0, 0.005), rng.normal(0, 0.005)];

  const rows: string[] = [INERTIAL_COLUMNS.join(',')];
  const h = 1e-4;
  for (let i = 0; i < n; i++) {
    const t = i * DT;
    const R = orientation(t);
    const a = motion.accel(i);
    const yaw = motion.yaw(t);
    const aWorld = apply(rotZ(yaw), a);
    const acc = transposeApply(R, [aWorld[0], aWorld[1], aWorld[2] + G]);
    // Body angular velocity: vee(Rᵀ dR/dt), dR/dt by a central difference.
    const Rp = orientation(t + h);
    const Rm = orientation(t - h);
    const dR = Rp.map((v, k) => (v - (Rm[k] as number)) / (2 * h)) as Mat;
    const Rt: Mat = [R[0], R[3], R[6], R[1], R[4], R[7], R[2], R[5], R[8]];
    const W = mul(Rt, dR);
    const gyr: Vec = [(W[7] - W[5]) / 2, (W[2] - W[6]) / 2, (W[3] - W[1]) / 2];
    const mag = transposeApply(R, field(t));
    const p = p0 - HPA_PER_M * motion.altitude(t) + gustHpa * (gust ? (gust[i] as number) : 0) + rng.normal(0, 0.012);
    const vals = [
      t.toFixed(2),
      ...acc.map((v, k) => (v + accBias[k]! + rng.normal(0, 0.02)).toFixed(4)),
      ...gyr.map((v, k) => (v + gyrBias[k]! + rng.normal(0, 0.003)).toFixed(5)),
      ...mag.map((v, k) => (v + hardIron[k]! + rng.normal(0, 0.4)).toFixed(3)),
      p.toFixed(4),
    ];
    rows.push(vals.join(','));
  }
  return {
    csv: `${rows.join('\n')}\n`,
    params: {
      source: 'physical motion model with seeded noise (synthetic, not a recording)',
      scenario: sc,
      ...motion.params,
      earthFieldUt: r3(fieldUt),
      disturbanceStdUt: distortStd,
      pressureHpa: r3(p0),
    },
  };
}

function r3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
