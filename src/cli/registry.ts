import { parseArgs } from 'node:util';
import type { Manifest, ModelVersion } from '../../schemas/manifest';
import { infraConfig } from '../config/env';
import { exportSavedModel } from '../export/savedmodel';
import { initBackend } from '../model/backend';
import { AgpError, ConfigError } from '../errors';
import { formatJudgementLines, formatWindowLines } from './format-window';
import { openRegistry, registryLocationFromEnv } from '../registry/open-registry';
import type { ModelListing, RegistryStore, UnreadableVersion } from '../registry/store';
import { failedVersions } from '../registry/verified';

const USAGE = `usage:
  agp registry ls [model]                     every model and its versions (or one model's);
                                              each version is verified, and one whose files do
                                              not match its manifest is marked CORRUPT
  agp registry show <model> [version]         a version's manifest (default: latest)
  agp registry verify <model> [version]       check every file against the manifest's SHA-256
  agp registry promote <model> <version>      keep a version forever and mark it promoted; a held
                                              version also becomes latest (the recurring phase
                                              continues from it)
  agp registry discard <model> <version>      record that a held version is not to be served
  agp registry rollback <model> [version]     move latest back (default: the previous version)
  agp registry label <model> <label> <version>
                                              point version label <label> at a version (agp serve
                                              answers /v1/models/<model>/labels/<label>; a label
                                              set here overrides the built-in stable/canary); the
                                              version must be in the registry and verify
  agp registry label <model> <label> --delete remove a label
  agp registry export <model> [version] --format savedmodel --out <dir>
                                              write a TensorFlow SavedModel of the version as
                                              <dir>/<model>/<n>/ (TF Serving's model base path;
                                              signature serving_default: dense float32 [N, d] and
                                              sparse string [N, c] raw values → probability [N])

options:
  --root <dir>     registry directory (default: $AGP_DATA_DIR/registry, i.e. .data/registry)
  --skip-verify    ls: do not checksum the versions (no CORRUPT marks)
  --json           machine-readable output (errors too: {"ok": false, "error": …})
  --reason <text>  why (promote, discard, rollback, label): kept in the model's history
  --delete         label: remove the label instead of setting it
  --format <f>     export format: savedmodel (the only one)
  --out <dir>      export: the model base path to write into
`;

/** Where the command writes; tests pass their own. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CommandIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** `agp registry …`: inspect and manage the model registry. */
export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        root: { type: 'string' },
        json: { type: 'boolean', default: false },
        'skip-verify': { type: 'boolean', default: false },
        reason: { type: 'string' },
        delete: { type: 'boolean', default: false },
        format: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.err(`agp registry: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, model, version, ...extra] = positionals;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const arity: Record<string, [number, number]> = {
    ls: [0, 1],
    show: [1, 2],
    verify: [1, 2],
    promote: [2, 2],
    discard: [2, 2],
    rollback: [1, 2],
    export: [1, 2],
    // <model> <label> <version>, or <model> <label> --delete
    label: values.delete ? [2, 2] : [3, 3],
  };
  const bounds = action === undefined ? undefined : arity[action];
  const given = positionals.length - 1;
  const extraAllowed = action === 'label' ? 1 : 0;
  if (!bounds || given < bounds[0] || given > bounds[1] || extra.length > extraAllowed) {
    io.err(
      `agp registry: ${action === undefined || !bounds ? `unknown action '${action ?? ''}'` : `wrong arguments for '${action}'`}\n\n${USAGE}`,
    );
    return 2;
  }
  const out = (text: string): void => {
    io.out(text.endsWith('\n') ? text : `${text}\n`);
  };
  const json = (value: unknown): void => out(JSON.stringify(value, null, 2));
  try {
    return await act(action as Action, model, version, extra[0], values, io, out, json);
  } catch (error) {
    // A script that asked for JSON gets JSON, also when the command fails.
    if (!values.json) throw error;
    json({
      ok: false,
      error: {
        kind: error instanceof AgpError ? error.kind : 'Error',
        message: error instanceof Error ? error.message : String(error),
      },
    });
    return 1;
  }
}

type Action = 'ls' | 'show' | 'verify' | 'promote' | 'discard' | 'rollback' | 'export' | 'label';

async function act(
  action: Action,
  model: string | undefined,
  version: string | undefined,
  /** The third positional: `label`'s version. */
  third: string | undefined,
  values: {
    delete?: boolean | undefined;
    root?: string | undefined;
    json?: boolean | undefined;
    'skip-verify'?: boolean | undefined;
    reason?: string | undefined;
    format?: string | undefined;
    out?: string | undefined;
  },
  io: CommandIo,
  out: (text: string) => void,
  json: (value: unknown) => void,
): Promise<number> {
  const store = await openRegistry(
    registryLocationFromEnv(infraConfig().dataDir, process.env, values.root),
  );
  switch (action) {
    case 'ls': {
      const unreadable: UnreadableVersion[] = [];
      const listings = await store.list(model, (problem) => unreadable.push(problem));
      const corrupt = values['skip-verify']
        ? new Map<string, string>()
        : await failedVersions(store, listings);
      if (values.json) json(withCorrupt(listings, corrupt));
      else
        out(
          listings.length
            ? formatListings(listings, corrupt)
            : `registry ${store.location} is empty`,
        );
      // On stderr, so `--json` stdout stays the listing a script expects.
      for (const u of unreadable) {
        io.err(`agp registry: skipped ${u.model}/versions/${u.name}: ${u.problem}\n`);
      }
      for (const l of listings) {
        for (const v of l.versions) {
          const problem = corrupt.get(`${l.model}/${v.version}`);
          if (problem === undefined) continue;
          io.err(
            `agp registry: CORRUPT ${l.model} ${v.version}${v.latest ? ' (latest: whatever loads latest fails; `agp registry rollback` moves it to a version that verifies)' : ''}: ${problem}\n`,
          );
        }
      }
      return 0;
    }
    case 'show':
    case 'verify': {
      const m = model as string;
      const manifest =
        action === 'verify'
          ? await store.verify(m, asRef(version))
          : await store.get(m, asRef(version));
      if (values.json) {
        json(
          action === 'verify'
            ? { ok: true, model: m, version: manifest.version, files: manifest.files.length }
            : await withFlags(store, manifest),
        );
      } else if (action === 'verify') {
        out(`${m} ${manifest.version}: ${manifest.files.length} files match their checksums`);
      } else {
        out(await formatManifest(store, manifest));
      }
      return 0;
    }
    case 'promote': {
      const state = await store.promote(model as string, asVersion(version), values.reason);
      const latest = await store.latest(model as string);
      if (values.json) json(state);
      else
        out(
          `${model} ${version} promoted (kept by retention)` +
            (latest === version ? '; it is latest' : ''),
        );
      return 0;
    }
    case 'discard': {
      const state = await store.discard(model as string, asVersion(version), values.reason);
      if (values.json) json(state);
      else out(`${model} ${version} discarded (stays listed; its offsets stay skipped)`);
      return 0;
    }
    case 'rollback': {
      const result = await store.rollback(
        model as string,
        version === undefined ? undefined : asVersion(version),
        values.reason,
      );
      if (values.json) json(result);
      else out(`${model}: latest moved from ${result.from ?? '(none)'} to ${result.to}`);
      return 0;
    }
    case 'label': {
      // `version` holds the label here: agp registry label <model> <label> <version>.
      const label = version as string;
      if (values.delete) {
        const state = await store.deleteLabel(model as string, label, values.reason);
        if (values.json) json(state);
        else out(`${model}: label ${label} removed`);
        return 0;
      }
      const state = await store.setLabel(model as string, label, asVersion(third), values.reason);
      if (values.json) json(state);
      else out(`${model}: label ${label} → ${third}`);
      return 0;
    }
    case 'export': {
      if (values.format !== 'savedmodel') {
        throw new ConfigError(
          `--format ${values.format === undefined ? 'is missing' : `'${values.format}' is unknown`}: the export writes --format savedmodel`,
        );
      }
      if (values.out === undefined)
        throw new ConfigError('--out <dir> is missing: where to write the export');
      await initBackend();
      const result = await exportSavedModel(store, model as string, asRef(version), values.out);
      if (values.json) json({ ok: true, model, ...result });
      else
        out(
          `${model} ${result.version}: SavedModel written to ${result.dir} (${(result.bytes / 1024 ** 2).toFixed(1)} MiB, signature serving_default)`,
        );
      return 0;
    }
  }
  return 2;
}

function asRef(version: string | undefined): ModelVersion | 'latest' {
  return version === undefined || version === 'latest' ? 'latest' : asVersion(version);
}

function asVersion(version: string | undefined): ModelVersion {
  if (version === undefined || !/^v\d{6,}$/.test(version)) {
    throw new ConfigError(`'${version ?? ''}' is not a version (expected e.g. v000001)`);
  }
  return version as ModelVersion;
}

async function withFlags(store: RegistryStore, manifest: Manifest) {
  const [latest, state] = await Promise.all([
    store.latest(manifest.model),
    store.state(manifest.model),
  ]);
  return {
    manifest,
    latest: latest === manifest.version,
    promoted: state.promoted.includes(manifest.version),
    labels: Object.entries(state.labels)
      .filter(([, v]) => v === manifest.version)
      .map(([label]) => label),
    held: manifest.gate?.held === true && !state.promoted.includes(manifest.version),
    discarded: state.discarded.includes(manifest.version),
    manifestPath: store.manifestPath(manifest.model, manifest.version),
  };
}

/** The listings with `corrupt: <problem>` on each version that failed verification. */
function withCorrupt(listings: readonly ModelListing[], corrupt: ReadonlyMap<string, string>) {
  return listings.map((l) => ({
    ...l,
    versions: l.versions.map((v) => {
      const problem = corrupt.get(`${l.model}/${v.version}`);
      return problem === undefined ? v : { ...v, corrupt: problem };
    }),
  }));
}

/**
 * One row per version: the tidy table of `ls`. `corrupt` holds the versions that failed
 * verification (keyed `model/version`), marked CORRUPT.
 */
export function formatListings(
  listings: readonly ModelListing[],
  corrupt: ReadonlyMap<string, string> = new Map(),
): string {
  const header = ['MODEL', 'VERSION', 'PARENT', 'PHASE', 'CREATED (UTC)', 'NE', 'AUC', 'SIZE', ''];
  const rows = listings.flatMap((l) =>
    l.versions.map((v) => [
      l.model,
      v.version,
      v.parent ?? '-',
      v.phase,
      v.createdAt.slice(0, 19).replace('T', ' '),
      metric(v.metrics['ne']),
      metric(v.metrics['auc']),
      formatBytes(v.bytes),
      [
        v.latest ? 'latest' : '',
        v.promoted ? 'promoted' : '',
        // A daily candidate that failed its judgement is held like a gated recurring version.
        v.held ? (v.phase === 'offline' ? 'held(candidate-failed)' : 'held') : '',
        v.discarded ? 'discarded' : '',
        corrupt.has(`${l.model}/${v.version}`) ? 'CORRUPT' : '',
      ]
        .filter(Boolean)
        .join(','),
    ]),
  );
  return table([header, ...rows]);
}

async function formatManifest(store: RegistryStore, manifest: Manifest): Promise<string> {
  const flags = await withFlags(store, manifest);
  const tags = [
    flags.latest ? 'latest' : '',
    flags.promoted ? 'promoted' : '',
    flags.held ? 'held' : '',
    flags.discarded ? 'discarded' : '',
    ...flags.labels.map((label) => `label ${label}`),
  ].filter(Boolean);
  const lines = [
    `${manifest.model} ${manifest.version}${tags.length ? ` (${tags.join(', ')})` : ''}`,
    `  parent     ${manifest.parent ?? '-'}`,
    `  phase      ${manifest.phase}`,
    `  created    ${manifest.createdAt}`,
    `  config     ${manifest.configHash}`,
  ];
  if (manifest.backend) lines.push(`  backend    ${manifest.backend}`);
  if (manifest.gate) {
    lines.push(
      `  gate       ${manifest.gate.held ? 'held' : 'passed'}` +
        (manifest.gate.comparedWith ? ` (vs ${manifest.gate.comparedWith})` : ''),
    );
    for (const reason of manifest.gate.reasons) lines.push(`             ${reason}`);
  }
  for (const skipped of manifest.skipped ?? []) {
    lines.push(`  skipped    ${skipped.version} (held): ${JSON.stringify(skipped.toOffsets)}`);
  }
  if (manifest.widths) {
    lines.push(
      `  widths     bottom ${manifest.widths.bottom.join('-')} · top ${manifest.widths.top.join('-')}`,
    );
  }
  const range = manifest.dataRange;
  if (range.kind === 'offline') {
    // A window's sources are listed file by file below; the reader's one-line name is not.
    const source = manifest.window ? `the ${manifest.window.kind} window below` : range.source;
    lines.push(`  data       ${source}, ${range.rows} rows`);
  } else {
    lines.push(`  data       Kafka offsets [from, to):`);
    for (const [topic, partitions] of Object.entries(range.toOffsets)) {
      const parts = Object.entries(partitions).map(
        ([p, to]) => `${p}: ${range.fromOffsets[topic]?.[p] ?? '?'}→${to}`,
      );
      lines.push(`             ${topic} {${parts.join(', ')}}`);
    }
    if (range.eventTime) {
      lines.push(`  events     ${range.eventTime.min} → ${range.eventTime.max}`);
    }
  }
  if (manifest.window) lines.push(...formatWindowLines(manifest.window));
  if (manifest.judgement) lines.push(...formatJudgementLines(manifest.judgement));
  const metrics = Object.entries(manifest.metrics).sort(([a], [b]) => a.localeCompare(b));
  if (metrics.length) {
    lines.push('  metrics');
    for (const [name, value] of metrics) lines.push(`    ${name.padEnd(12)} ${metric(value)}`);
  }
  const total = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
  lines.push(`  files      ${manifest.files.length}, ${formatBytes(total)}`);
  const fileRows = manifest.files.map((f) => [
    `    ${f.path}`,
    formatBytes(f.bytes),
    `sha256:${f.sha256.slice(0, 16)}…`,
  ]);
  if (fileRows.length) lines.push(table(fileRows));
  lines.push(`  manifest   ${flags.manifestPath}`);
  return lines.join('\n');
}

function metric(value: number | undefined): string {
  if (value === undefined) return '-';
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1000 ? value.toFixed(1) : value.toPrecision(4);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Left-aligned columns separated by two spaces, trailing blanks trimmed. */
function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
