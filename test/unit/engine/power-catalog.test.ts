/**
 * The built-in catalog's power states (language/builtin-devices.ts): every device lowers
 * without an error, every power-state line says where its figure comes from (a comment on
 * the line or the comment block just above it), and the states are ordered as the power
 * model assumes (sleep <= idle <= active, sampling <= active).
 */
import { describe, expect, it } from 'vitest';
import { URI } from 'langium';
import { BUILTIN_DEVICES_SOURCE, BUILTIN_DEVICES_URI } from '../../../language/builtin-devices';
import { createSenseServices } from '../../../language/sense-module';
import type * as ast from '../../../language/generated/ast';

const POWER_STATE = /^\s*(idle|sleep|wake|wakelatency|tail|sampling|baseline)\s+[-0-9.]/;

describe('built-in catalog power states', () => {
  it('every power-state figure has its source or reasoning beside it', () => {
    const lines = BUILTIN_DEVICES_SOURCE.split('\n');
    const unsourced: string[] = [];
    lines.forEach((line, i) => {
      if (!POWER_STATE.test(line)) return;
      const commentAbove = lines[i - 1]?.trim().startsWith('//') ?? false;
      if (!line.includes('//') && !commentAbove) unsourced.push(`${i + 1}: ${line.trim()}`);
    });
    expect(unsourced).toEqual([]);
  });

  it('every device lowers without errors, with sleep <= idle <= active and sampling <= active', async () => {
    const services = createSenseServices();
    const doc = services.shared.workspace.LangiumDocuments.getDocument(URI.parse(BUILTIN_DEVICES_URI));
    expect(doc).toBeDefined();
    const devices = (doc!.parseResult.value as ast.Model).devices;
    expect(devices.map((d) => d.name)).toEqual(['snapdragon800', 'tegrak1', 'edison', 'snapdragon8gen3', 'nrf52840', 'host']);
    for (const d of devices) {
      const lowered = services.Sense.lowering.Lowering.device(d);
      expect(lowered.issues.filter((x) => x.severity === 'error').map((x) => x.message), d.name).toEqual([]);
      for (const p of lowered.spec.processors) {
        expect(p.sleepPowerMw, `${d.name}.${p.name}`).toBeLessThanOrEqual(p.idlePowerMw);
        expect(p.idlePowerMw, `${d.name}.${p.name}`).toBeLessThanOrEqual(p.activePowerMw);
        if (p.samplingPowerMw !== undefined) expect(p.samplingPowerMw, `${d.name}.${p.name}`).toBeLessThanOrEqual(p.activePowerMw);
      }
      // A device with a battery senses all day: some local processor can take the sensor stream.
      if (lowered.spec.batteryMah !== undefined) expect(lowered.spec.processors.some((p) => !p.remote && p.samplingPowerMw !== undefined), d.name).toBe(true);
    }
  });
});
