// Plugs the settings loader into a yargs command: `configurable('ftp', y)` in a command's
// builder adds --config and --print-config and, before yargs validates anything, replaces each
// option's value by the strongest of flag > MOGFTP_<NAME> > file > default. Every option the
// command declares takes part, including ones added later, unless `only` names the ones that do
// (`mogftp admin` takes just the cluster-wide db and storage-token from the file's top level).
import type { Argv } from 'yargs';
import { applyDbPasswordFile, DB_COMMANDS, DB_PASSWORD_FILE_OPTION } from './db-password.ts';
import { readConfigFile } from './file.ts';
import type { Section } from './fields.ts';
import { describeConfig, loadConfig, type LoadedConfig, type OptionSpec } from './load.ts';

/** What yargs keeps about declared options (yargs.getOptions(); absent from its typings). */
interface YargsOptionTable {
  key: Record<string, boolean>;
  string: string[];
  number: string[];
  boolean: string[];
  choices: Record<string, unknown[]>;
}

interface YargsInternals {
  getOptions(): YargsOptionTable;
  parsed: false | { defaulted?: Record<string, boolean> };
}

const NOT_SETTINGS = new Set(['help', 'version', 'config', 'print-config', '_', '$0']);

export function configurable<T>(command: Section | 'admin', y: Argv<T>, opts: { only?: readonly string[] } = {}): Argv<T> {
  let loaded: LoadedConfig | null = null;
  const only = opts.only;
  // Every command with --db takes the database password from a file too (db-password.ts).
  if (DB_COMMANDS.includes(command)) y = y.option('db-password-file', { ...DB_PASSWORD_FILE_OPTION, global: true });
  return y
    .option('config', {
      type: 'string',
      describe: only
        ? `YAML or JSON settings file (see config/mogftp.example.yaml); env MOGFTP_CONFIG. Only its top-level ${only.join(' and ')} are read`
        : 'YAML or JSON settings file (see config/mogftp.example.yaml); env MOGFTP_CONFIG. Every option can also be set as MOGFTP_<OPTION>',
    })
    .option('print-config', { type: 'boolean', describe: 'Print the settings in effect, with where each came from, and exit' })
    // yargs passes itself as the second argument; @types/yargs leaves it out.
    .middleware(((argv: Record<string, unknown>, yargs: unknown) => {
      const internals = yargs as YargsInternals;
      const table = internals.getOptions();
      const defaulted = (internals.parsed && internals.parsed.defaulted) || {};
      const options = optionSpecs(table).filter((o) => !only || only.includes(o.key));
      const flags: Record<string, unknown> = {};
      const defaults: Record<string, unknown> = {};
      for (const { key } of options) {
        if (!(key in argv)) continue;
        (defaulted[key] ? defaults : flags)[key] = argv[key];
      }
      const configPath = (argv.config as string | undefined) ?? (process.env.MOGFTP_CONFIG || undefined);
      const file = configPath ? readConfigFile(configPath) : null;
      const cfg = loadConfig({ command, options, flags, env: process.env, file, defaults });
      // After every source is weighed: the file's password goes into the URL the command opens.
      applyDbPasswordFile(cfg.values);
      for (const [key, value] of Object.entries(cfg.values)) {
        argv[key] = value;
        argv[camel(key)] = value;
      }
      if (argv['print-config']) loaded = cfg;
    }) as unknown as (args: unknown) => void, true)
    // After yargs' own checks (unknown flags, required options), so what is printed would run.
    .middleware(() => {
      if (!loaded) return;
      process.stdout.write(JSON.stringify(describeConfig(loaded), null, 2) + '\n');
      process.exit(0);
    }, false);
}

function optionSpecs(table: YargsOptionTable): OptionSpec[] {
  return Object.keys(table.key)
    .filter((key) => !NOT_SETTINGS.has(key))
    .map((key) => ({
      key,
      type: table.boolean.includes(key) ? 'boolean' : table.number.includes(key) ? 'number' : 'string',
      choices: table.choices[key],
    }));
}

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
