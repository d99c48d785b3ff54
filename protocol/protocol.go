// Package protocol declares every method and wire type spoken between an
// editor and the django-runserver backend. README.md beside this file is the
// specification. The VS Code extension's src/protocol.ts is generated from
// this file by ./generate: change this file, then run go generate ./protocol.
//
// The transport is JSON-RPC 2.0 with LSP Content-Length framing on the
// backend's stdin and stdout. The lifecycle, workspace folders, saves,
// diagnostics and messages reuse the LSP shapes; everything specific to
// running Django lives under the "runserver/" prefix.
package protocol

//go:generate go run ./generate

// Methods sent by the editor.
const (
	// MethodInitialize is the first request; see InitializeParams.
	MethodInitialize = "initialize"
	// MethodInitialized is the notification that follows the initialize reply.
	MethodInitialized = "initialized"
	// MethodShutdown stops every server; afterwards only exit is accepted.
	MethodShutdown = "shutdown"
	// MethodExit ends the backend: code 0 after shutdown, 1 otherwise.
	MethodExit = "exit"
	// MethodSetTrace is LSP's $/setTrace; accepted and ignored.
	MethodSetTrace = "$/setTrace"

	// MethodDidChangeWorkspaceFolders adds and removes folders.
	MethodDidChangeWorkspaceFolders = "workspace/didChangeWorkspaceFolders"
	// MethodDidChangeConfiguration replaces the settings; see ConfigurationParams.
	MethodDidChangeConfiguration = "workspace/didChangeConfiguration"
	// MethodDidSave is a reload trigger for the folder holding the document.
	MethodDidSave = "textDocument/didSave"

	// MethodStart starts a folder's server; see StartParams. Replies Status.
	MethodStart = "runserver/start"
	// MethodStop stops a folder's server; see FolderParams. Replies Status
	// once the server is stopped and its port is free.
	MethodStop = "runserver/stop"
	// MethodRestart restarts (or starts) a folder's server. Replies Status.
	MethodRestart = "runserver/restart"
	// MethodStatus asks for a folder's Status.
	MethodStatus = "runserver/status"
)

// Methods sent by the backend.
const (
	// MethodDidChangeStatus carries a Status on every state change.
	MethodDidChangeStatus = "runserver/didChangeStatus"
	// MethodLog carries one line of Django's output; see LogParams.
	MethodLog = "runserver/log"
	// MethodPublishDiagnostics is LSP's textDocument/publishDiagnostics.
	MethodPublishDiagnostics = "textDocument/publishDiagnostics"
	// MethodShowMessage is LSP's window/showMessage.
	MethodShowMessage = "window/showMessage"
	// MethodShowMessageRequest is LSP's window/showMessageRequest, used to
	// offer the fix for a port conflict.
	MethodShowMessageRequest = "window/showMessageRequest"
	// MethodLogMessage is LSP's window/logMessage, used for the backend's own
	// status lines.
	MethodLogMessage = "window/logMessage"
	// MethodDebugReady says where a debugger attaches to a server process
	// started with debug; see DebugReadyParams.
	MethodDebugReady = "runserver/debugReady"
	// MethodDebugGone says that process is gone; see DebugGoneParams.
	MethodDebugGone = "runserver/debugGone"
	// MethodShowDocument is LSP's window/showDocument, used to open the file
	// of a traceback frame a page's user clicked, at its line; sent only
	// to an editor whose capabilities say it supports it.
	MethodShowDocument = "window/showDocument"
)

// RequestType is a request of Method whose params are P and whose result is
// R. The generator writes each as vscode-jsonrpc's RequestType, so that an
// editor's calls are typed as the backend answers them.
type RequestType[P, R any] struct{ Method string }

// NotificationType is a notification of Method whose params are P.
type NotificationType[P any] struct{ Method string }

// The runserver/ messages, typed. The LSP ones have their types in every
// LSP client library.
var (
	// StartRequest starts a folder's server. Replies starting, the current
	// Status, or failed at once.
	StartRequest = RequestType[StartParams, Status]{MethodStart}
	// StopRequest stops a folder's server. Replies once the process tree is
	// gone and the port is free.
	StopRequest = RequestType[FolderParams, Status]{MethodStop}
	// RestartRequest restarts (or starts) a folder's server.
	RestartRequest = RequestType[FolderParams, Status]{MethodRestart}
	// StatusRequest asks for a folder's Status.
	StatusRequest = RequestType[FolderParams, Status]{MethodStatus}

	// DidChangeStatusNotification carries a folder's Status on every state
	// change.
	DidChangeStatusNotification = NotificationType[Status]{MethodDidChangeStatus}
	// LogNotification carries one line of Django's output.
	LogNotification = NotificationType[LogParams]{MethodLog}
	// DebugReadyNotification says where a debugger attaches to a new server
	// process.
	DebugReadyNotification = NotificationType[DebugReadyParams]{MethodDebugReady}
	// DebugGoneNotification says a process announced by debugReady is gone;
	// the debug session stays attached for the next one.
	DebugGoneNotification = NotificationType[DebugGoneParams]{MethodDebugGone}
)

// ErrServerNotInitialized is the JSON-RPC error code for a request that
// arrives before initialize.
const ErrServerNotInitialized = -32002

// DiagnosticSource is the source of every diagnostic the backend publishes.
const DiagnosticSource = "runserver"

// DiagnosticRequestFailed is the code of a diagnostic for an exception a
// request raised while the server served it (an HTTP 500). Its
// relatedInformation names the request and the project's other frames.
const DiagnosticRequestFailed = "request-failed"

// SettingsSection is the key of the backend's settings inside
// ConfigurationParams.Settings and InitializationOptions.Settings.
const SettingsSection = "djangoRunserver"

// FolderSettingsSection is the key of the per-folder overrides inside
// ConfigurationParams.Settings: an object mapping folder URIs to Settings.
const FolderSettingsSection = "djangoRunserverFolders"

// State is the lifecycle state of one folder's Django server.
type State string

// The states, and the transitions between them, are described in README.md.
const (
	StateStopped   State = "stopped"
	StateStarting  State = "starting"
	StateRunning   State = "running"
	StateReloading State = "reloading"
	StateStopping  State = "stopping"
	StateFailed    State = "failed"
)

// TriggerKind says what caused a reload.
type TriggerKind string

// The trigger kinds.
const (
	TriggerSave    TriggerKind = "save"
	TriggerWatch   TriggerKind = "watch"
	TriggerCommand TriggerKind = "command"
	TriggerCrash   TriggerKind = "crash"
)

// Trigger is the cause of the latest reload.
type Trigger struct {
	Kind TriggerKind `json:"kind"`
	// Path is the changed file, for save and watch triggers.
	Path string `json:"path,omitempty"`
}

// ErrorCode classifies a failed Status.
type ErrorCode string

// The error codes.
const (
	CodeStartupFailed      ErrorCode = "startup-failed"
	CodePythonNotFound     ErrorCode = "python-not-found"
	CodeManagePyNotFound   ErrorCode = "manage-py-not-found"
	CodeDjangoNotFound     ErrorCode = "django-not-found"
	CodeCrashed            ErrorCode = "crashed"
	CodePortInUse          ErrorCode = "port-in-use"
	CodePermissionDenied   ErrorCode = "permission-denied"
	CodeAddressUnavailable ErrorCode = "address-unavailable"
	CodeInvalidAddress     ErrorCode = "invalid-address"
	CodeInvalidSettings    ErrorCode = "invalid-settings"
	CodeStartupTimeout     ErrorCode = "startup-timeout"
	CodeFolderGone         ErrorCode = "folder-gone"
	CodeDebugpyNotFound    ErrorCode = "debugpy-not-found"
)

// Holder is the process that holds a port.
type Holder struct {
	PID     int    `json:"pid"`
	Command string `json:"command,omitempty"`
}

// Error explains why a server is failed: what happened, why, and what to do.
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	// ExitCode is the exit status of a process that ended on its own.
	ExitCode *int `json:"exitCode,omitempty"`
	// Port, Holder and SuggestedAddress describe a port conflict.
	Port             int     `json:"port,omitzero"`
	Holder           *Holder `json:"holder,omitempty"`
	SuggestedAddress string  `json:"suggestedAddress,omitempty"`
	// File (absolute path) and Line (1-based) locate a traceback.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitzero"`
	// Exception is the exception type of a traceback, e.g. "SyntaxError".
	Exception string `json:"exception,omitempty"`
	// Setting is the settings key (a JSON name of Settings, such as
	// "python" or "address") the error concerns, when one does. Message
	// names no setting of any editor: each face points to Setting in its
	// own terms.
	Setting string `json:"setting,omitempty"`
}

// Status is the state of one folder's server.
type Status struct {
	// Folder is the workspace folder URI.
	Folder  string `json:"folder"`
	State   State  `json:"state"`
	Address string `json:"address"`
	// URL is set once the address is known, e.g. "http://127.0.0.1:8000/".
	URL string `json:"url,omitempty"`
	// PID is the Django process, while one runs.
	PID int `json:"pid,omitzero"`
	// Reloads counts the reloads since the last start.
	Reloads int `json:"reloads"`
	// LastReloadMs is the time from the latest trigger until the server
	// accepted connections again.
	LastReloadMs *float64 `json:"lastReloadMs,omitempty"`
	Trigger      *Trigger `json:"trigger,omitempty"`
	Error        *Error   `json:"error,omitempty"`
	// Mode is the reload mode in effect (fast, django or off).
	Mode ReloadMode `json:"mode,omitempty"`
	// Watch is how the folder is watched while a fast-mode server is
	// active: "events" or "poll" (also when auto chose polling).
	Watch string `json:"watch,omitempty"`
	// BrowserReload is set while pages get the script that reloads them.
	BrowserReload bool `json:"browserReload,omitempty"`
	// BrowserReloadNote says why requests during a reload can fail on
	// this platform (the socket can't be handed on), or is empty.
	BrowserReloadNote string `json:"browserReloadNote,omitempty"`
	// Runserver is the runserver command the latest process runs, in fast
	// mode, once the process has said (before it serves).
	Runserver *Runserver `json:"runserver,omitempty"`
	// Start says how the latest server process started in fast mode: forked
	// from a preloader (warm) or in a fresh interpreter (cold).
	Start StartKind `json:"start,omitempty"`
	// ColdReason says why the latest reload started cold in fast mode:
	// preloading is off or can't work here, the preloader was not ready, or
	// it was discarded because what it imported changed.
	ColdReason string `json:"coldReason,omitempty"`
	// SetUpAhead is set when the latest process is warm and was forked
	// from the preloader that had set Django up (settings, apps, models),
	// so it skipped Django's set-up; a warm process without it was forked
	// from the preloaded modules and set Django up itself.
	SetUpAhead bool `json:"setUpAhead,omitempty"`
	// Debug is set while the server runs under the debugger.
	Debug *DebugStatus `json:"debug,omitempty"`
}

// DebugStatus is the debugger's part of a Status.
type DebugStatus struct {
	// Host and Port are where a debugger attaches to the live process, once
	// it listens.
	Host string `json:"host,omitempty"`
	Port int    `json:"port,omitzero"`
	// Attached is true once a debugger has sent configurationDone.
	Attached bool `json:"attached"`
	// Paused is true while a thread is stopped in the debugger.
	Paused bool `json:"paused"`
	// ReloadPending is true while a change waits for execution to continue.
	ReloadPending bool `json:"reloadPending"`
}

// Runserver is the runserver command a server runs, and the features its
// server can't have.
type Runserver struct {
	// Command is the command's module, e.g.
	// "daphne.management.commands.runserver".
	Command string `json:"command"`
	// Server is whose server the command runs.
	Server ServerKind `json:"server"`
	// Off lists the features this server can't have, each with why; empty
	// when it has them all.
	Off []FeatureOff `json:"off,omitempty"`
}

// ServerKind says whose server a runserver command runs.
type ServerKind string

// The server kinds.
const (
	// ServerDjango is runserver's own WSGI server (Django's command, or one
	// that keeps its inner_run, as staticfiles' does).
	ServerDjango ServerKind = "django"
	// ServerDaphne is Daphne's runserver (Channels projects), which serves
	// the ASGI application on Twisted.
	ServerDaphne ServerKind = "daphne"
	// ServerOther is a runserver that runs a server of its own, which the
	// backend can't serve through.
	ServerOther ServerKind = "other"
)

// FeatureOff is a feature of fast mode that the server can't have.
type FeatureOff struct {
	Feature Feature `json:"feature"`
	// Reason says why, and what it means for the user.
	Reason string `json:"reason"`
}

// Feature names a feature of fast mode.
type Feature string

// The features.
const (
	// FeatureBrowserReload: HTML pages get the script that reloads them.
	FeatureBrowserReload Feature = "browserReload"
	// FeatureKeptSocket: the backend keeps the address across reloads, so
	// no request fails during one.
	FeatureKeptSocket Feature = "keptSocket"
)

// StartKind says how a server process started.
type StartKind string

// The start kinds.
const (
	StartWarm StartKind = "warm"
	StartCold StartKind = "cold"
)

// PreloadMode chooses whether reloads fork from a preloaded interpreter.
type PreloadMode string

// The preload modes.
const (
	// PreloadAuto preloads where forking is safe: Linux.
	PreloadAuto PreloadMode = "auto"
	// PreloadOn also preloads on macOS, whose system libraries are known to
	// crash in some forked processes. Windows has no fork: always cold.
	PreloadOn PreloadMode = "on"
	// PreloadOff starts every process cold.
	PreloadOff PreloadMode = "off"
)

// ReloadMode chooses how code changes reach the server.
type ReloadMode string

// The reload modes.
const (
	ReloadFast   ReloadMode = "fast"
	ReloadDjango ReloadMode = "django"
	ReloadOff    ReloadMode = "off"
)

// WatchMode chooses how the backend notices changed files.
type WatchMode string

// The watch modes.
const (
	// WatchAuto uses file events, and polls where they can't be trusted:
	// network, virtual-machine and FUSE filesystems, WSL's Windows drives.
	WatchAuto   WatchMode = "auto"
	WatchEvents WatchMode = "events"
	WatchPoll   WatchMode = "poll"
)

// PortConflictAction chooses what happens when the address is taken.
type PortConflictAction string

// The port conflict actions.
const (
	PortConflictAsk      PortConflictAction = "ask"
	PortConflictNextFree PortConflictAction = "nextFree"
	PortConflictFail     PortConflictAction = "fail"
)

// Settings are the backend's settings, under "djangoRunserver". Every key is
// optional; README.md gives the defaults.
type Settings struct {
	Python         string             `json:"python,omitempty"`
	ManagePy       string             `json:"managePy,omitempty"`
	Address        string             `json:"address,omitempty"`
	Args           []string           `json:"args,omitempty"`
	Env            map[string]string  `json:"env,omitempty"`
	EnvFile        string             `json:"envFile,omitempty"`
	Reload         ReloadMode         `json:"reload,omitempty"`
	WatchExclude   []string           `json:"watchExclude,omitempty"`
	OnPortConflict PortConflictAction `json:"onPortConflict,omitempty"`
	// StartupTimeout is how long, in seconds, a server may take to accept
	// connections before it is killed and reported failed.
	StartupTimeout float64 `json:"startupTimeout,omitzero"`
	// Watch chooses file events or polling; empty means auto.
	Watch WatchMode `json:"watch,omitempty"`
	// PollInterval is the time, in seconds, between two polls.
	PollInterval float64 `json:"pollInterval,omitzero"`
	// BrowserReload gives HTML pages the script that reloads them (fast
	// mode only); nil means on.
	BrowserReload *bool `json:"browserReload,omitempty"`
	// Preload chooses whether reloads fork from a preloaded interpreter;
	// empty means auto.
	Preload PreloadMode `json:"preload,omitempty"`
}

// SettingEffect says when a changed setting reaches a running server.
type SettingEffect string

// The setting effects.
const (
	// EffectRestart: the running server keeps the old value until it is
	// restarted. The backend doesn't restart it by itself; an editor offers
	// runserver/restart.
	EffectRestart SettingEffect = "restart"
	// EffectAtOnce: the backend applies the new value to a running server at
	// once.
	EffectAtOnce SettingEffect = "atOnce"
	// EffectNextLaunch: the value is read when it is next needed, by the
	// next process the server launches (a reload or a start) or the next
	// port conflict, so no restart is needed.
	EffectNextLaunch SettingEffect = "nextLaunch"
)

// SettingEffects says, for each key of Settings, when a change to it takes
// effect. The engine behaves so (its tests check it), README.md's Settings
// table says so, and an editor reads it to offer a restart.
var SettingEffects = map[string]SettingEffect{
	"python":         EffectRestart,
	"managePy":       EffectRestart,
	"address":        EffectRestart,
	"args":           EffectRestart,
	"env":            EffectRestart,
	"envFile":        EffectRestart,
	"reload":         EffectRestart,
	"watchExclude":   EffectAtOnce,
	"onPortConflict": EffectNextLaunch,
	"startupTimeout": EffectNextLaunch,
	"watch":          EffectAtOnce,
	"pollInterval":   EffectAtOnce,
	"browserReload":  EffectRestart,
	"preload":        EffectNextLaunch,
}

// WorkspaceFolder is LSP's WorkspaceFolder.
type WorkspaceFolder struct {
	URI  string `json:"uri"`
	Name string `json:"name"`
}

// ClientInfo is LSP's clientInfo.
type ClientInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// InitializeParams is the subset of LSP's InitializeParams the backend reads.
type InitializeParams struct {
	ProcessID             *int                   `json:"processId,omitempty"`
	ClientInfo            *ClientInfo            `json:"clientInfo,omitempty"`
	RootURI               string                 `json:"rootUri,omitempty"`
	WorkspaceFolders      []WorkspaceFolder      `json:"workspaceFolders,omitempty"`
	InitializationOptions *InitializationOptions `json:"initializationOptions,omitempty"`
	Capabilities          *ClientCapabilities    `json:"capabilities,omitempty"`
}

// ClientCapabilities is the subset of LSP's ClientCapabilities the backend
// reads.
type ClientCapabilities struct {
	Window *WindowClientCapabilities `json:"window,omitempty"`
}

// WindowClientCapabilities is the window part of ClientCapabilities.
type WindowClientCapabilities struct {
	ShowDocument *ShowDocumentClientCapabilities `json:"showDocument,omitempty"`
}

// ShowDocumentClientCapabilities is LSP's capability of the same name:
// with Support, a click on a traceback frame opens it in the editor;
// without, the page copies "file:line".
type ShowDocumentClientCapabilities struct {
	Support bool `json:"support"`
}

// InitializationOptions carries the settings at start-up, in the same shape as
// ConfigurationParams.Settings.
type InitializationOptions struct {
	Settings map[string]any `json:"settings,omitempty" ts:"SettingsPayload"`
}

// SettingsPayload is the shape of ConfigurationParams.Settings and
// InitializationOptions.Settings. The backend decodes those as maps, so that
// a value of the wrong type fails its own key (invalid-settings) and not the
// whole message; a ts tag gives an editor this type instead.
type SettingsPayload struct {
	// Settings are the global settings, under SettingsSection.
	Settings Settings `json:"djangoRunserver"`
	// Folders maps a folder URI to the settings that override the global
	// ones for it, under FolderSettingsSection.
	Folders map[string]Settings `json:"djangoRunserverFolders,omitempty"`
}

// SaveOptions is LSP's SaveOptions.
type SaveOptions struct {
	IncludeText bool `json:"includeText"`
}

// TextDocumentSyncOptions is LSP's TextDocumentSyncOptions.
type TextDocumentSyncOptions struct {
	OpenClose bool         `json:"openClose"`
	Change    int          `json:"change"`
	Save      *SaveOptions `json:"save,omitempty"`
}

// WorkspaceFoldersServerCapabilities is LSP's capability of the same name.
type WorkspaceFoldersServerCapabilities struct {
	Supported           bool `json:"supported"`
	ChangeNotifications bool `json:"changeNotifications"`
}

// WorkspaceServerCapabilities is the workspace part of ServerCapabilities.
type WorkspaceServerCapabilities struct {
	WorkspaceFolders WorkspaceFoldersServerCapabilities `json:"workspaceFolders"`
}

// ServerCapabilities is the subset of LSP's ServerCapabilities the backend
// advertises.
type ServerCapabilities struct {
	TextDocumentSync TextDocumentSyncOptions     `json:"textDocumentSync"`
	Workspace        WorkspaceServerCapabilities `json:"workspace"`
}

// ServerInfo is LSP's serverInfo.
type ServerInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// InitializeResult is the reply to initialize.
type InitializeResult struct {
	Capabilities ServerCapabilities `json:"capabilities"`
	ServerInfo   ServerInfo         `json:"serverInfo"`
}

// WorkspaceFoldersChangeEvent is LSP's event of the same name.
type WorkspaceFoldersChangeEvent struct {
	Added   []WorkspaceFolder `json:"added"`
	Removed []WorkspaceFolder `json:"removed"`
}

// DidChangeWorkspaceFoldersParams is LSP's params of the same name.
type DidChangeWorkspaceFoldersParams struct {
	Event WorkspaceFoldersChangeEvent `json:"event"`
}

// ConfigurationParams is the params of workspace/didChangeConfiguration:
// {settings: {djangoRunserver: Settings, djangoRunserverFolders?: {uri: Settings}}}.
type ConfigurationParams struct {
	Settings map[string]any `json:"settings" ts:"SettingsPayload"`
}

// TextDocumentIdentifier is LSP's TextDocumentIdentifier.
type TextDocumentIdentifier struct {
	URI string `json:"uri"`
}

// DidSaveTextDocumentParams is LSP's params of textDocument/didSave.
type DidSaveTextDocumentParams struct {
	TextDocument TextDocumentIdentifier `json:"textDocument"`
}

// FolderParams names a workspace folder. Folder may be left out when exactly
// one folder has a manage.py.
type FolderParams struct {
	Folder string `json:"folder,omitempty"`
}

// StartParams is the params of runserver/start. Address, when set, overrides
// the address setting for this start.
type StartParams struct {
	Folder  string `json:"folder,omitempty"`
	Address string `json:"address,omitempty"`
	// Debug runs every Django process of this server under debugpy.
	Debug bool `json:"debug,omitempty"`
}

// DebugReadyParams is the params of runserver/debugReady: the server
// process PID waits for a debugger on Host:Port, a Debug Adapter Protocol
// server (attach to it as to debugpy's adapter). Host:Port stays the same
// for the server's life: a debugger attached there already has PID in its
// session, and attaches nothing more.
type DebugReadyParams struct {
	Folder string `json:"folder"`
	PID    int    `json:"pid"`
	Host   string `json:"host"`
	Port   int    `json:"port"`
}

// DebugGoneParams is the params of runserver/debugGone: the process PID,
// announced by runserver/debugReady, is gone. Its threads leave the debug
// session, which stays attached for the next process.
type DebugGoneParams struct {
	Folder string `json:"folder"`
	PID    int    `json:"pid"`
}

// Stream names an output stream of Django.
type Stream string

// The streams.
const (
	StreamStdout Stream = "stdout"
	StreamStderr Stream = "stderr"
)

// LogParams is the params of runserver/log: one line of Django's output,
// without its line ending.
type LogParams struct {
	Folder string `json:"folder"`
	Stream Stream `json:"stream"`
	Text   string `json:"text"`
}

// Position is LSP's zero-based Position.
type Position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// Range is LSP's Range.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// DiagnosticSeverity is LSP's DiagnosticSeverity.
type DiagnosticSeverity int

// The severities the backend uses.
const (
	SeverityError   DiagnosticSeverity = 1
	SeverityWarning DiagnosticSeverity = 2
)

// Diagnostic is LSP's Diagnostic.
type Diagnostic struct {
	Range    Range              `json:"range"`
	Severity DiagnosticSeverity `json:"severity"`
	Code     string             `json:"code,omitempty"`
	Source   string             `json:"source"`
	Message  string             `json:"message"`
	// RelatedInformation is LSP's relatedInformation: for a request's
	// exception, the request and the project's other frames.
	RelatedInformation []DiagnosticRelatedInformation `json:"relatedInformation,omitempty"`
	// Data is LSP's data field: what the backend knows beyond the message.
	Data *DiagnosticData `json:"data,omitempty"`
}

// Location is LSP's Location.
type Location struct {
	URI   string `json:"uri"`
	Range Range  `json:"range"`
}

// DiagnosticRelatedInformation is LSP's DiagnosticRelatedInformation.
type DiagnosticRelatedInformation struct {
	Location Location `json:"location"`
	Message  string   `json:"message"`
}

// DiagnosticData is the data of a diagnostic.
type DiagnosticData struct {
	// Setting is the settings key the diagnostic concerns, as in
	// Error.Setting: a bind error concerns "address". An editor may show
	// the diagnostic where that setting is set instead.
	Setting string `json:"setting,omitempty"`
}

// PublishDiagnosticsParams is LSP's params of the same name. An empty
// Diagnostics list clears the file.
type PublishDiagnosticsParams struct {
	URI         string       `json:"uri"`
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// MessageType is LSP's MessageType.
type MessageType int

// The message types.
const (
	MessageError   MessageType = 1
	MessageWarning MessageType = 2
	MessageInfo    MessageType = 3
	MessageLog     MessageType = 4
)

// ShowMessageParams is LSP's params of window/showMessage and window/logMessage.
type ShowMessageParams struct {
	Type    MessageType `json:"type"`
	Message string      `json:"message"`
}

// MessageActionItem is LSP's MessageActionItem.
type MessageActionItem struct {
	Title string `json:"title"`
}

// ShowMessageRequestParams is LSP's params of window/showMessageRequest.
type ShowMessageRequestParams struct {
	Type    MessageType         `json:"type"`
	Message string              `json:"message"`
	Actions []MessageActionItem `json:"actions"`
}

// ShowDocumentParams is LSP's params of window/showDocument.
type ShowDocumentParams struct {
	URI       string `json:"uri"`
	External  bool   `json:"external,omitempty"`
	TakeFocus bool   `json:"takeFocus,omitempty"`
	// Selection is the frame's line, from its start to its end.
	Selection *Range `json:"selection,omitempty"`
}

// ShowDocumentResult is LSP's result of window/showDocument.
type ShowDocumentResult struct {
	Success bool `json:"success"`
}
