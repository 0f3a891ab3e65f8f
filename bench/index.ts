/**
 * `npm run bench [-- --json] [-- --only render,train,heavy-uploads,cluster]`: runs every benchmark in one process so the
 * ratios (ours vs stock) come from the same run on the same machine. Prints figures as it goes; with
 * --json the last stdout line is one JSON object with every figure.
 */
type Bench = () => Promise<Record<string, number>>;

const benches: Record<string, () => Promise<Bench>> = {
  render: async () => (await import('./render.js')).benchRender,
  transcribe: async () => (await import('./transcribe.js')).benchTranscribe,
  train: async () => (await import('./train.js')).benchTrain,
  sample: async () => (await import('./sample.js')).benchSample,
  compose: async () => (await import('./compose.js')).benchCompose,
  'bot-load': async () => (await import('./bot-load.js')).benchBotLoad,
  'heavy-uploads': async () => (await import('./heavy-uploads.js')).benchHeavyUploads,
  queue: async () => (await import('./queue.js')).benchQueue,
  cluster: async () => (await import('./cluster.js')).benchCluster,
};

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? '').split(',')) : undefined;

const results: Record<string, number> = {};
for (const [name, load] of Object.entries(benches)) {
  if (only && !only.has(name)) continue;
  process.stderr.write(`\n== ${name} ==\n`);
  const figures = await (await load())();
  for (const [key, value] of Object.entries(figures)) {
    process.stderr.write(`${key.padEnd(36)} ${formatFigure(value)}\n`);
    results[key] = value;
  }
}
addRatio('train_speedup_vs_stock', results.train_tokens_per_s, results.train_tokens_per_s_stock);
addRatio('sample_speedup_vs_windowed', results.sample_tokens_per_s, results.sample_tokens_per_s_windowed);
addRatio('transcribe_speedup_vs_stock', results.transcribe_x_realtime, results.transcribe_x_realtime_stock);

if (json) process.stdout.write(`${JSON.stringify(results)}\n`);

function addRatio(key: string, ours: number | undefined, theirs: number | undefined): void {
  if (ours === undefined || theirs === undefined || theirs === 0) return;
  results[key] = Number((ours / theirs).toFixed(2));
  process.stderr.write(`${key.padEnd(36)} ${results[key]}x\n`);
}

function formatFigure(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
