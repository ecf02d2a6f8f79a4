import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelVersion } from '../../schemas/manifest';
import type { RegistryStore } from '../registry/store';
import { exportSavedModel, tfServingVersionNumber } from './savedmodel';

/**
 * `agp serve --export-dir DIR`: keeps DIR/<model>/ holding exactly the version the scoring
 * service serves, as a SavedModel, so a TensorFlow Serving pointed at DIR serves the same
 * version. TF Serving's default policy serves the highest version number present, so after a
 * new version is written the other numbers are removed: a registry rollback then reaches TF
 * Serving too. Exports run one at a time per model, in the background; when versions change
 * faster than they export, only the newest wanted is written.
 */
export class ExportFollower {
  private readonly wanted = new Map<string, ModelVersion>();
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly store: RegistryStore,
    private readonly dir: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The service now serves `version` of `model`; export it (if not already there). */
  serving(model: string, version: ModelVersion): void {
    this.wanted.set(model, version);
    if (!this.running.has(model)) {
      const run = this.drain(model).finally(() => this.running.delete(model));
      this.running.set(model, run);
    }
  }

  /** Resolves once every export asked for so far is written (or failed and logged). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  private async drain(model: string): Promise<void> {
    let done: ModelVersion | null = null;
    for (;;) {
      const version = this.wanted.get(model);
      if (version === undefined || version === done) return;
      try {
        const target = path.join(this.dir, model, String(tfServingVersionNumber(version)));
        const exists = await stat(path.join(target, 'saved_model.pb')).then(
          () => true,
          () => false,
        );
        if (!exists) {
          const result = await exportSavedModel(this.store, model, version, this.dir);
          this.log(
            `agp serve: ${model}: exported ${version} to ${result.dir} (${(result.bytes / 1024 ** 2).toFixed(1)} MiB)`,
          );
        }
        await this.removeOthers(model, version);
      } catch (error) {
        // Serving goes on; the export directory keeps what it had until the next version.
        this.log(
          `agp serve: ${model}: cannot export ${version}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      done = version;
    }
  }

  private async removeOthers(model: string, keep: ModelVersion): Promise<void> {
    const base = path.join(this.dir, model);
    const keepName = String(tfServingVersionNumber(keep));
    for (const name of await readdir(base)) {
      // Only TF Serving's version directories (integers); unfinished exports of other
      // processes (".N.tmp-…") and anything else an operator put there stay.
      if (/^\d+$/.test(name) && name !== keepName) {
        await rm(path.join(base, name), { recursive: true, force: true });
      }
    }
  }
}
