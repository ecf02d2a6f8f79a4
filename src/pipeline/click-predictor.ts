import type { ClickEvent } from '../../schemas/click-event';
import { loadCheckpoint } from '../model/checkpoint';
import type { ModelLoader } from '../registry/store';
import { eventsToBatch } from '../stream/event-codec';
import { featureSpecOfManifest } from './feature-spec-of';

/**
 * The registry's loader for serving code: a verified version directory becomes a predictor of
 * click events, encoded with the feature spec the version was trained with (so a raw value
 * means the same embedding row as in training). Use it as
 * `loadVersion(registry, model, 'latest', clickModelLoader)`; the predictor owns a trainer on
 * the current tfjs backend until `dispose()`.
 */
export const clickModelLoader: ModelLoader<ClickEvent> = async (dir, manifest) => {
  const spec = featureSpecOfManifest(manifest);
  const { trainer } = await loadCheckpoint(dir);
  return {
    version: manifest.version,
    predict: (events) =>
      events.length === 0 ? new Float32Array(0) : trainer.predict(eventsToBatch(events, spec)),
    dispose: () => trainer.dispose(),
  };
};
