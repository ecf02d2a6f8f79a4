import type { Activities } from '../../../activities';
import type {
  EvaluateInput,
  OfflineTrainingInput,
  PromoteInput,
  RecurringWindowInput,
  RecurringWindowResult,
  VersionInfo,
} from '../../../schemas/workflow-io';

/**
 * Small stand-ins for the pipeline's activities, registered on a real worker against the real
 * Temporal server: they keep versions in memory and record every call, so the workflow logic
 * (hand-over, pause, continue-as-new, offsets) can be asserted exactly and quickly.
 */
export interface FakeWorld {
  versions: Map<string, VersionInfo>;
  windowCalls: RecurringWindowInput[];
  promoted: PromoteInput[];
  /** NE the evaluation gives each version (default 0.8). */
  ne: Map<string, number>;
  /** Milliseconds each window takes. */
  windowMs: number;
  /** NE the evaluation gives the next offline versions, when set. */
  candidateNe?: number | undefined;
  /** How many of the next recurring versions the (fake) publish gate holds. */
  holdNext: number;
  discarded: string[];
}

export function createFakeWorld(windowMs = 30): FakeWorld {
  return {
    versions: new Map(),
    windowCalls: [],
    promoted: [],
    ne: new Map(),
    windowMs,
    holdNext: 0,
    discarded: [],
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function nextVersion(world: FakeWorld): string {
  return `v${String(world.versions.size + 1).padStart(6, '0')}`;
}

type Fakes = Pick<
  Activities,
  | 'trainOfflineModel'
  | 'trainRecurringWindow'
  | 'promoteVersion'
  | 'discardVersion'
  | 'describeServingVersion'
  | 'evaluateVersions'
  | 'checkTopic'
  | 'findDailyVersion'
>;

export function fakeActivities(world: FakeWorld): Fakes {
  return {
    async trainOfflineModel(input: OfflineTrainingInput) {
      const version = nextVersion(world);
      if (world.candidateNe !== undefined) world.ne.set(version, world.candidateNe);
      world.versions.set(version, {
        model: input.model,
        version,
        phase: 'offline',
        parent: null,
        metrics: { ne: 0.8 },
        offsets: {},
      });
      return {
        model: input.model,
        version,
        metrics: { ne: 0.8, auc: 0.7 },
        widths: { bottom: [8, 4], top: [8, 1] },
        summary: 'fake offline run',
      };
    },

    async trainRecurringWindow(input: RecurringWindowInput): Promise<RecurringWindowResult> {
      world.windowCalls.push(input);
      await sleep(world.windowMs);
      const from = world.versions.get(input.fromVersion);
      if (!from) throw new Error(`unknown version ${input.fromVersion}`);
      const start = input.startOffsets ?? from.offsets;
      let offset = Number(start[input.topic]?.['0'] ?? 0);
      let parent = input.fromVersion;
      const versions: string[] = [];
      const held: RecurringWindowResult['held'] = [];
      // A window bounded by time ends at its first version boundary past `windowSeconds`: the
      // fake's `windowMs` stands for that time, so such a window publishes one version.
      const count =
        input.windowSeconds === undefined ? input.versions : Math.min(input.versions, 1);
      for (let i = 0; i < count; i++) {
        offset += input.eventsPerVersion;
        const version = nextVersion(world);
        world.versions.set(version, {
          model: input.model,
          version,
          phase: 'recurring',
          parent,
          metrics: { ne: 0.79 },
          offsets: { [input.topic]: { '0': String(offset) } },
        });
        versions.push(version);
        if (world.holdNext > 0) {
          // Held: published, not served; the window ends and the next starts after its offsets.
          world.holdNext--;
          held.push({ version, reasons: ['NE regressed (fake gate)'] });
          break;
        }
        parent = version;
      }
      return {
        lastVersion: parent,
        versions,
        held,
        head: versions.at(-1) ?? input.head ?? input.fromVersion,
        offsets: { [input.topic]: { '0': String(offset) } },
        consumed: input.eventsPerVersion * input.versions,
        trained: input.eventsPerVersion * input.versions - input.versions,
        deadLettered: input.versions,
        eventsPerSecond: 1000,
        metrics: { ne: 0.79, auc: 0.71 },
        lag: 5,
        widths: { bottom: [8, 4], top: [8, 1] },
      };
    },

    async promoteVersion(input: PromoteInput) {
      world.promoted.push(input);
      const info = world.versions.get(input.version);
      if (!info) throw new Error(`unknown version ${input.version}`);
      return info;
    },

    async discardVersion(input: PromoteInput) {
      world.discarded.push(input.version);
      const info = world.versions.get(input.version);
      if (!info) throw new Error(`unknown version ${input.version}`);
      return info;
    },

    async describeServingVersion({ model }: { model: string }) {
      const all = [...world.versions.values()].filter((v) => v.model === model);
      return all.filter((v) => v.phase === 'recurring').at(-1) ?? all.at(-1) ?? null;
    },

    async checkTopic() {
      // Every topic of the fake world exists.
    },

    async findDailyVersion() {
      // Fake offline versions record no window, so no nominal time has a version yet.
      return null;
    },

    async evaluateVersions(input: EvaluateInput) {
      return {
        events: input.events ?? 5000,
        candidate: { ne: world.ne.get(input.candidate) ?? 0.8 },
        baseline: { ne: world.ne.get(input.baseline) ?? 0.8 },
      };
    },
  };
}
