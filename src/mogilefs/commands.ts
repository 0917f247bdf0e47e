// Every command the tracker door answers, by the name clients send. Admin commands (what mogadm
// changes) can be switched off as a whole (DoorSettings.admin).
import { createClass, createDomain, deleteClass, deleteDomain, getDomains, updateClass } from './cmd-classes.ts';
import { createDevice, createHost, deleteHost, getDevices, getHosts, setState, setWeight, updateHost } from './cmd-hosts.ts';
import { deleteKey, renameKey, updateClass as updateFileClass } from './cmd-keys.ts';
import { fileDebug, fileInfo, getPaths, listKeys } from './cmd-read.ts';
import { serverSetting, serverSettings, setServerSetting } from './cmd-settings.ts';
import { createClose, createOpen } from './cmd-write.ts';
import type { Command } from './context.ts';

const nothing: Command = async () => ({});

export const FILE_COMMANDS: Record<string, Command> = {
  create_open: createOpen,
  create_close: createClose,
  get_paths: getPaths,
  delete: deleteKey,
  rename: renameKey,
  updateclass: updateFileClass,
  list_keys: listKeys,
  file_info: fileInfo,
  file_debug: fileDebug,
  get_domains: getDomains,
  get_hosts: getHosts,
  get_devices: getDevices,
  noop: nothing,
  server_settings: serverSettings,
  server_setting: serverSetting,
  // MogileFS's trackers cache the tables; ours read them briefly cached, so there is nothing to clear.
  clear_cache: nothing,
};

export const ADMIN_COMMANDS: Record<string, Command> = {
  create_domain: createDomain,
  delete_domain: deleteDomain,
  create_class: createClass,
  update_class: updateClass,
  delete_class: deleteClass,
  create_host: createHost,
  update_host: updateHost,
  delete_host: deleteHost,
  create_device: createDevice,
  set_state: setState,
  set_weight: setWeight,
  set_server_setting: setServerSetting,
};
