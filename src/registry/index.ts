/** The model registry: publish, list, get, verify, load and watch versioned checkpoints. */
export type { Announcer } from './announcer';
export { AnnouncementError } from './announcer';
export { hashConfig } from './config-hash';
export { PublishConflictError } from './conflict';
export type { PublishFaults, PublishStep } from './fs-publish';
export { openFsRegistry, type FsRegistryOptions, type FsRegistryStore } from './fs-store';
export { openRegistry, registryLocationFromEnv, type OpenRegistryOptions } from './open-registry';
export { openS3Registry, type S3RegistryOptions, type S3RegistryStore } from './s3-store';
export {
  createKafkaAnnouncer,
  DEFAULT_REGISTRY_TOPIC,
  type KafkaAnnouncer,
} from './kafka-announcer';
export { loadVersion } from './load';
export { watchRegistry, type RegistryWatch, type WatchOptions } from './registry-watch';
export type {
  FetchedVersion,
  ModelListing,
  ModelLoader,
  Predictor,
  PublishFile,
  PublishOptions,
  PublishSource,
  RegistryStore,
  RollbackResult,
  UnreadableVersion,
  VersionRef,
  VersionSummary,
} from './store';
export { compareVersions, formatVersion, versionNumber } from './version';
