// Every command the protocol layer adds to or replaces in ftp-srv's registry (the file
// commands are in ../commands.ts).
import type { CommandSpec } from '../connection.ts';
import { dataCommands } from '../passive.ts';
import { tlsCommands } from '../tls.ts';
import { attributeCommands } from './attributes.ts';
import { featureCommands } from './features.ts';
import { hashCommands } from './hash.ts';
import { loginCommands } from './login.ts';
import { mlsxCommands } from './mlsx.ts';

export const protocolCommands: Record<string, CommandSpec> = {
  ...tlsCommands,
  ...dataCommands,
  ...loginCommands,
  ...featureCommands,
  ...mlsxCommands,
  ...hashCommands,
  ...attributeCommands,
};
