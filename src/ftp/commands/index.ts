// Every command the protocol layer puts in ftp-srv's registry (ftp-srv-adapter.ts createFtpSrv).
import type { CommandSpec, Handler } from '../connection.ts';
import { dataCommands } from '../passive.ts';
import { tlsCommands } from '../tls.ts';
import { attributeCommands } from './attributes.ts';
import { featureCommands } from './features.ts';
import { hashCommands } from './hash.ts';
import { listingHandlers } from './listing.ts';
import { loginCommands } from './login.ts';
import { mlsxCommands } from './mlsx.ts';
import { pathHandlers } from './paths.ts';
import { transferHandlers } from './transfers.ts';

/**
 * Our handlers for every command that touches files. They replace ftp-srv's own (which map
 * every failure to one fixed code, buffer listings and commit killed uploads) and keep its
 * syntax and description for HELP; errors reach the client through replies.ts only.
 */
export const fileHandlers: Record<string, Handler> = {
  ...transferHandlers,
  ...listingHandlers,
  ...pathHandlers,
};

/** Commands we add, or replace whole (HELP shows our syntax and description). */
export const protocolCommands: Record<string, CommandSpec> = {
  ...tlsCommands,
  ...dataCommands,
  ...loginCommands,
  ...featureCommands,
  ...mlsxCommands,
  ...hashCommands,
  ...attributeCommands,
};
