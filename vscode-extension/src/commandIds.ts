// Command identifiers, shared by package.json's contributions, the status bar and the tooltip links.

export const Commands = {
    start: "djangoRunserver.start",
    stop: "djangoRunserver.stop",
    restart: "djangoRunserver.restart",
    /** Run the server with debugpy in every process, and attach to each. */
    debug: "djangoRunserver.debug",
    openBrowser: "djangoRunserver.openBrowser",
    showLog: "djangoRunserver.showLog",
    restartBackend: "djangoRunserver.restartBackend",
    /** The status bar item's click: start a stopped or failed server, stop a running one. */
    toggle: "djangoRunserver.toggle",
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

/** VS Code's own command that opens the Settings editor at a setting, for links to ours. */
export const openSettingsCommand = "workbench.action.openSettings";
