// This file mirrors protocol/protocol.go, the wire contract with the django-runserver backend
// (specified in protocol/README.md). Every custom message is declared here once, as a typed
// constant. protocol/parity_test.go fails when this file, protocol.go and the README's tables
// disagree, so it reads this file as written: string unions, `as const` objects of string values,
// interfaces with one field a line, and RequestType/NotificationType constructions.
//
// It imports only vscode-jsonrpc, so the wire conformance test can use it without VS Code.

import { NotificationType, RequestType } from "vscode-jsonrpc";

/** Key of the global settings inside `settings` / `initializationOptions.settings`. */
export const SettingsSection = "djangoRunserver";
/** Key of the per-folder overrides: an object mapping folder URIs to Settings. */
export const FolderSettingsSection = "djangoRunserverFolders";
/** Source of every diagnostic the backend publishes. */
export const DiagnosticSource = "runserver";
/** JSON-RPC error code for a request that arrives before initialize. */
export const ErrServerNotInitialized = -32002;

export type State = "stopped" | "starting" | "running" | "reloading" | "stopping" | "failed";

export type TriggerKind = "save" | "watch" | "command" | "crash";

/** The cause of the latest reload. */
export interface Trigger {
    kind: TriggerKind;
    /** The changed file, for save and watch triggers. */
    path?: string;
}

/** Why a server failed; a value, so code that branches on it takes the codes from here. */
export const ErrorCode = {
    StartupFailed: "startup-failed",
    PythonNotFound: "python-not-found",
    ManagePyNotFound: "manage-py-not-found",
    DjangoNotFound: "django-not-found",
    Crashed: "crashed",
    PortInUse: "port-in-use",
    PermissionDenied: "permission-denied",
    AddressUnavailable: "address-unavailable",
    InvalidAddress: "invalid-address",
    InvalidSettings: "invalid-settings",
    StartupTimeout: "startup-timeout",
    FolderGone: "folder-gone",
    DebugpyNotFound: "debugpy-not-found",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The process that holds a port. */
export interface Holder {
    pid: number;
    command?: string;
}

/** Why a server is failed: what happened, why, and what to do. */
export interface ServerError {
    code: ErrorCode;
    message: string;
    /** Exit status of a process that ended on its own. */
    exitCode?: number;
    /** port, holder and suggestedAddress describe a port conflict. */
    port?: number;
    holder?: Holder;
    suggestedAddress?: string;
    /** file (absolute path) and line (1-based) locate a traceback. */
    file?: string;
    line?: number;
    /** Exception type of a traceback, e.g. "SyntaxError". */
    exception?: string;
    /**
     * The settings key (a key of Settings, e.g. "address") the error concerns. The message names no
     * setting: each editor points at its own, e.g. VS Code's `djangoRunserver.address`.
     */
    setting?: string;
}

export type ReloadMode = "fast" | "django" | "off";

export type PortConflictAction = "ask" | "nextFree" | "fail";

/** How the backend sees file changes: `auto` picks `events`, or `poll` where events can't be trusted. */
export type WatchMode = "auto" | "events" | "poll";

/** Whether reloads fork from a preloaded interpreter: `auto` on Linux, `on` also on macOS. */
export type PreloadMode = "auto" | "on" | "off";

/** How a server process started: forked from the preloader, or a fresh interpreter. */
export type StartKind = "warm" | "cold";

/** The state of one folder's server. */
export interface Status {
    /** The workspace folder URI. */
    folder: string;
    state: State;
    address: string;
    /** Set once the address is known, e.g. "http://127.0.0.1:8000/". */
    url?: string;
    /** The Django process, while one runs. */
    pid?: number;
    /** Reloads since the last start. */
    reloads: number;
    /** Time from the latest trigger until the server accepted connections again. */
    lastReloadMs?: number;
    trigger?: Trigger;
    error?: ServerError;
    mode?: ReloadMode;
    /** How file changes are seen: "events" or "poll"; set while the backend watches the folder. */
    watch?: WatchMode;
    /** Set while HTML pages get the script that reloads them. */
    browserReload?: boolean;
    /** Why a request during a reload can fail on this platform, or unset. */
    browserReloadNote?: string;
    /** How the latest server process started, while preloading is on. */
    start?: StartKind;
    /** Why the latest reload started cold while preloading is on. */
    coldReason?: string;
    /** Set when the latest process is warm and skipped Django's set-up, done ahead in the preloader. */
    setUpAhead?: boolean;
    /** Set while the server runs under the debugger. */
    debug?: DebugStatus;
}

/** The debugger's part of a Status. */
export interface DebugStatus {
    /** host and port: where a debugger attaches to the live process, once it listens. */
    host?: string;
    port?: number;
    /** A debugger has sent configurationDone. */
    attached: boolean;
    /** A thread is stopped in the debugger. */
    paused: boolean;
    /** A change waits for execution to continue. */
    reloadPending: boolean;
}

/** The backend's settings, under "djangoRunserver". Every key is optional. */
export interface Settings {
    python?: string;
    managePy?: string;
    address?: string;
    args?: string[];
    env?: Record<string, string>;
    envFile?: string;
    reload?: ReloadMode;
    watchExclude?: string[];
    onPortConflict?: PortConflictAction;
    /** Seconds a server may take to accept connections. */
    startupTimeout?: number;
    watch?: WatchMode;
    /** Seconds between two scans of the folder when polling. */
    pollInterval?: number;
    /** HTML pages get the script that reloads them (fast mode only); default true. */
    browserReload?: boolean;
    preload?: PreloadMode;
}

/** `data` of a diagnostic the backend publishes. */
export interface DiagnosticData {
    /** The settings key whose value the diagnostic concerns, e.g. "address" for a bind error. */
    setting?: string;
}

/** `settings` of workspace/didChangeConfiguration, and of initializationOptions. */
export interface SettingsPayload {
    [SettingsSection]: Settings;
    [FolderSettingsSection]?: Record<string, Settings>;
}

/** initializationOptions of initialize. */
export interface InitializationOptions {
    settings?: SettingsPayload;
}

/** Names a workspace folder; may be left out when exactly one folder has a manage.py. */
export interface FolderParams {
    folder?: string;
}

/** Params of runserver/start. `address` overrides the address setting for this start. */
export interface StartParams {
    folder?: string;
    address?: string;
    /** Runs every Django process of this server under debugpy. */
    debug?: boolean;
}

/** Params of runserver/debugReady: process `pid` waits for a debugger, a DAP server at host:port. */
export interface DebugReadyParams {
    folder: string;
    pid: number;
    host: string;
    port: number;
}

/** Params of runserver/debugGone: the process announced by runserver/debugReady is gone. */
export interface DebugGoneParams {
    folder: string;
    pid: number;
}

export type Stream = "stdout" | "stderr";

/** Params of runserver/log: one line of Django's output, without its line ending. */
export interface LogParams {
    folder: string;
    stream: Stream;
    text: string;
}

/** Starts a folder's server. Replies `starting`, the current Status, or `failed` at once. */
export const StartRequest = new RequestType<StartParams, Status, void>("runserver/start");
/** Stops a folder's server. Replies once the process tree is gone and the port is free. */
export const StopRequest = new RequestType<FolderParams, Status, void>("runserver/stop");
/** Restarts (or starts) a folder's server. */
export const RestartRequest = new RequestType<FolderParams, Status, void>("runserver/restart");
/** Asks for a folder's Status. */
export const StatusRequest = new RequestType<FolderParams, Status, void>("runserver/status");

/** A folder's Status, on every state change. */
export const DidChangeStatusNotification = new NotificationType<Status>("runserver/didChangeStatus");
/** One line of Django's output. */
export const LogNotification = new NotificationType<LogParams>("runserver/log");
/** Where a debugger attaches to a new server process. */
export const DebugReadyNotification = new NotificationType<DebugReadyParams>("runserver/debugReady");
/** A process announced by runserver/debugReady is gone, and its debug session with it. */
export const DebugGoneNotification = new NotificationType<DebugGoneParams>("runserver/debugGone");
