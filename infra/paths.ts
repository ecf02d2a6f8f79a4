import path from 'node:path';

/** The repository root (this file lives in infra/). */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** Downloads, shared by every data directory: the cache does not depend on AGP_DATA_DIR. */
export const CACHE_DIR = path.join(REPO_ROOT, '.cache');

/** The state layout under one data directory. */
export interface StatePaths {
  dataDir: string;
  pids: string;
  logs: string;
  temporalDb: string;
  kafkaDir: string;
  kafkaLogDirs: string;
  lock: string;
}

export function statePaths(dataDir: string): StatePaths {
  return {
    dataDir,
    pids: path.join(dataDir, 'pids'),
    logs: path.join(dataDir, 'logs'),
    temporalDb: path.join(dataDir, 'temporal', 'temporal.db'),
    kafkaDir: path.join(dataDir, 'kafka'),
    kafkaLogDirs: path.join(dataDir, 'kafka', 'data'),
    lock: path.join(dataDir, 'pids', 'infra.lock'),
  };
}
