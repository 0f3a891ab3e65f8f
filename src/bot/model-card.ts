/** A guild model's card as /model info shows it: what it learnt from, under which stated licences. */
import type { GuildModel } from '../storage/index.js';
import { LICENCE_LABELS, type Licence } from '../guild/corpus.js';

const MAX_LISTED = 15;

export function modelCardText(model: GuildModel): string {
  if (!model.sources) return 'Sources: not recorded (trained before uploads stated their licences).';
  const removed = new Map((model.removedSources ?? []).map((r) => [r.id, r]));
  const lines = model.sources.slice(0, MAX_LISTED).map((s) => {
    const licence = s.licence && s.licence in LICENCE_LABELS ? LICENCE_LABELS[s.licence as Licence] : 'licence not stated';
    const gone = removed.has(s.id) ? ' — **removed from the corpus since; retrain to drop it**' : '';
    return `• ${s.name} — ${licence}${s.attribution ? `, ${s.attribution}` : ''}, added by <@${s.addedBy}>${gone}`;
  });
  const more = model.sources.length > MAX_LISTED ? `\n…and ${model.sources.length - MAX_LISTED} more (/corpus list)` : '';
  const counts = new Map<string, number>();
  for (const s of model.sources) {
    const label = s.licence && s.licence in LICENCE_LABELS ? LICENCE_LABELS[s.licence as Licence] : 'not stated';
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const summary = [...counts].map(([label, n]) => `${n} ${label}`).join(', ');
  const warning = removed.size > 0 ? `\n⚠ ${removed.size} source${removed.size === 1 ? ' was' : 's were'} removed from the corpus after training.` : '';
  return `Sources (${model.sources.length}: ${summary}):\n${lines.join('\n')}${more}${warning}`;
}
