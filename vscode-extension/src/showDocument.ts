// window/showDocument: the backend asks to open the file of a traceback frame the user clicked in
// a page. The language client opens it (selection, focus) and replies {success}; this decides
// whether it may, so that only a trusted workspace's own files open, whatever asks.

import { ShowDocumentParams } from "./protocol";

/**
 * mayShowDocument: a file (never `external`, which would hand any URI to the OS) inside one of the
 * workspace folders, in a trusted workspace. Folders and the URI are file:// URIs as vscode.Uri
 * spells them.
 */
export function mayShowDocument(params: Pick<ShowDocumentParams, "uri" | "external">, trusted: boolean, folders: readonly string[]): boolean {
    if (!trusted || params.external) return false;
    let uri: URL;
    try {
        uri = new URL(params.uri);
    } catch {
        return false;
    }
    if (uri.protocol !== "file:") return false;
    const segments = uri.pathname.split("/");
    if (segments.includes("..") || segments.includes(".")) return false;
    return folders.some((folder) => {
        const root = new URL(folder);
        if (root.protocol !== "file:" || root.host !== uri.host) return false;
        const prefix = root.pathname.endsWith("/") ? root.pathname : `${root.pathname}/`;
        return uri.pathname.startsWith(prefix);
    });
}
