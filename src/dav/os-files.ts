// Metadata files that desktop OSes scatter over every share they mount: Finder's .DS_Store and
// AppleDouble "._name" files, Explorer's Thumbs.db and desktop.ini.

export type OsFilesMode = 'off' | 'hide' | 'refuse';

export const OS_FILES_MODES: OsFilesMode[] = ['off', 'hide', 'refuse'];

export function isOsMetadataName(name: string): boolean {
  if (name === '.DS_Store' || name.startsWith('._')) return true;
  const lower = name.toLowerCase();
  return lower === 'thumbs.db' || lower === 'desktop.ini';
}
