// The workflow bundle's entry: the worker bundles every workflow exported from here.
export * from './smoke';
export * from './offline-training';
export * from './recurring-training';
export * from './daily-retraining';
