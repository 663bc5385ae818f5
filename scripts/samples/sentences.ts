/**
 * Seeded English sentences for the synthetic speech: simple templates filled from small
 * word lists, so every clip says something different while staying pronounceable by
 * every voice.
 */
import type { Rng } from './prng';

const SUBJECTS = [
  'the old man', 'my sister', 'a tall woman', 'the driver', 'our neighbour', 'the teacher',
  'a young boy', 'the doctor', 'her friend', 'the farmer', 'a small child', 'the pilot',
  'my brother', 'the nurse', 'a quiet girl', 'the baker', 'his mother', 'the captain',
] as const;
const VERBS = [
  'carried', 'painted', 'found', 'opened', 'watched', 'cleaned', 'bought', 'dropped',
  'moved', 'fixed', 'counted', 'followed', 'covered', 'lifted', 'pushed', 'ordered',
] as const;
const ADJECTIVES = [
  'red', 'heavy', 'broken', 'green', 'wooden', 'shiny', 'little', 'empty', 'yellow',
  'ancient', 'cold', 'bright', 'narrow', 'silver', 'dusty', 'warm', 'purple', 'round',
] as const;
const OBJECTS = [
  'box', 'window', 'basket', 'bicycle', 'letter', 'lamp', 'table', 'garden', 'bottle',
  'chair', 'blanket', 'kettle', 'ladder', 'river boat', 'map', 'piano', 'bucket', 'coat',
] as const;
const PLACES = [
  'near the station', 'after dinner', 'in the morning', 'behind the school', 'before the rain',
  'at the market', 'by the river', 'on the hill', 'during the storm', 'next to the bridge',
  'in the kitchen', 'under the old tree', 'at midnight', 'across the street',
] as const;
const QUESTIONS = [
  'where did you put the', 'have you seen the', 'who left the', 'why is there a', 'can you bring the',
] as const;
const NUMBERS = ['two', 'three', 'seven', 'nine', 'twelve', 'forty', 'a hundred'] as const;

/** Returns one seeded sentence of roughly 1.5 to 3 seconds of speech. */
export function makeSentence(rng: Rng): string {
  const form = rng.int(0, 3);
  switch (form) {
    case 0:
      return `${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} the ${rng.pick(ADJECTIVES)} ${rng.pick(OBJECTS)} ${rng.pick(PLACES)}.`;
    case 1:
      return `${rng.pick(QUESTIONS)} ${rng.pick(ADJECTIVES)} ${rng.pick(OBJECTS)} ${rng.pick(PLACES)}?`;
    case 2:
      return `${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${rng.pick(NUMBERS)} ${rng.pick(ADJECTIVES)} ${rng.pick(OBJECTS)}s.`;
    default:
      return `${rng.pick(PLACES)}, ${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} a ${rng.pick(ADJECTIVES)} ${rng.pick(OBJECTS)}.`;
  }
}
