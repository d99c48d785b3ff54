// Package livetest is the live browser's acceptance suite, through the
// whole backend (a session driven as an editor drives it) with real Django:
// no request fails while the server reloads, a POST sent during a reload
// reaches its view once, Django sees the request the client sent and the
// client gets the response Django made, and a failed server answers with
// its error page, without losing a request when the fixed server takes the
// address back. The browser's own half runs in Chromium, in
// vscode-extension/test/e2e/browser.test.ts.
package livetest
