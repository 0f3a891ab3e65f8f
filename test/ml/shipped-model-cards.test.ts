/**
 * Every shipped model (models/<name>/) has a card that names each corpus in its weights with its
 * licence, credits them as the datasets' SOURCE.md asks, and never ships GPL data (Nottingham).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { datasetPath, withDatasets } from '../support/datasets.js';

const MODELS = fileURLToPath(new URL('../../models', import.meta.url));
const shipped = readdirSync(MODELS).filter((name) => existsSync(join(MODELS, name, 'spec.json')));
const { itData } = withDatasets(import.meta.url);

interface Spec {
  name: string;
  training?: { data?: { dir: string }[] };
  ensemble?: { members: string[] };
}
const readSpec = (dir: string): Spec => JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')) as Spec;
/** A model's folder and its ensemble members' folders: every network whose weights ship. */
const networkDirsOf = (name: string): string[] => [join(MODELS, name), ...(readSpec(join(MODELS, name)).ensemble?.members ?? []).map((m) => join(MODELS, name, m))];
const cardOf = (name: string): string => readFileSync(join(MODELS, name, 'MODEL_CARD.md'), 'utf8');
const corporaOf = (name: string): string[] => [...new Set(networkDirsOf(name).flatMap((dir) => (readSpec(dir).training?.data ?? []).map((d) => basename(d.dir))))];

/** The credit line a SOURCE.md asks for, when it asks for one in quotes ("credits "…""). */
function requiredCredit(corpus: string): string | undefined {
  const source = readFileSync(datasetPath(corpus, 'SOURCE.md'), 'utf8').replace(/\s+/g, ' ');
  return /credits? "([^"]+)"/.exec(source)?.[1];
}

describe('shipped model cards', () => {
  it('GIVEN the models folder THEN the shipped default and the style models are there', () => {
    expect(shipped).toEqual(expect.arrayContaining(['default', 'folk']));
  });

  it.each(shipped)('GIVEN models/%s THEN its card names every corpus in its weights, with a licence, and no GPL data', (name) => {
    const card = cardOf(name);
    const corpora = corporaOf(name);
    expect(corpora.length).toBeGreaterThan(0);
    for (const corpus of corpora) expect(card, corpus).toContain(corpus);
    expect(corpora).not.toContain('nottingham');
    expect(card).toMatch(/licen[cs]e/i);
    expect(card).toMatch(/## How it was made|## Reproduce|npm run train/);
  });

  it('GIVEN every shipped network, ensemble members included, THEN their weights total under the 30 MB budget', () => {
    const bytes = shipped.flatMap(networkDirsOf).reduce((sum, dir) => sum + statSync(join(dir, 'weights.bin')).size, 0);
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(30 * 1024 * 1024);
  });

  itData('GIVEN cre-folk’s SOURCE.md THEN the credit it asks for is found (so the check below checks something)', () => {
    expect(requiredCredit('cre-folk')).toMatch(/^Ceol Rince na hÉireann MIDI corpus.*CC BY 4\.0$/);
  });

  itData.each(shipped)('GIVEN models/%s THEN every credit its corpora’s SOURCE.md asks for is in the card, word for word', (name) => {
    const card = cardOf(name).replace(/\s+/g, ' ');
    for (const corpus of corporaOf(name)) {
      const credit = requiredCredit(corpus);
      if (credit) expect(card, `${corpus}: ${credit}`).toContain(credit);
    }
  });
});
