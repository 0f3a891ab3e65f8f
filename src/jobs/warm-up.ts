/** Run once in each worker at start-up so the first /compose does not pay for loading. */
import { preloadSoundfonts } from '../audio/soundfonts.js';
import { getModel } from './compose.js';

export interface WarmUpRequest {
  modelDir: string;
  /** SoundFont name; unset = the bundled default. */
  soundfont?: string;
  soundfontDir?: string;
}

/** @throws MotifError MODEL_NOT_FOUND / MODEL_CORRUPT, SOUNDFONT_NOT_FOUND / SOUNDFONT_INVALID. */
export async function warmUp(req: WarmUpRequest): Promise<{ modelName: string }> {
  const model = await getModel(req.modelDir);
  preloadSoundfonts(req.soundfont ? [req.soundfont] : undefined, req.soundfontDir);
  return { modelName: String((model as { spec?: { name?: unknown } }).spec?.name ?? req.modelDir) };
}
