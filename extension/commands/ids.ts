// Every command id the extension registers, once: commands/index.ts must implement exactly these (a typed
// record), and a unit test checks them against package.json's contributes.
export const COMMAND_IDS = [
  'loraStudio.startTraining',
  'loraStudio.stopRun',
  'loraStudio.resumeRun',
  'loraStudio.deleteRun',
  'loraStudio.openRunFolder',
  'loraStudio.showLog',
  'loraStudio.openDashboard',
  'loraStudio.mergeAdapter',
  'loraStudio.composeAdapters',
  'loraStudio.exportGguf',
  'loraStudio.compare',
  'loraStudio.compareMethods',
  'loraStudio.refreshRuns',
  'loraStudio.openDatasetPreview',
  'loraStudio.watchExternalRun',
  'loraStudio.unwatchExternalRun',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];

/** Context key holding the fsPaths of workspace folders that contain adapter_config.json (explorer "Merge Adapter"). */
export const ADAPTER_FOLDERS_KEY = 'loraStudio.adapterFolders';
export const RUNS_VIEW_ID = 'loraStudio.runs';
