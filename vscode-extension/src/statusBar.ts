// Applies a StatusBarModel (statusView.ts) to the real status bar item.

import * as vscode from "vscode";
import { Commands, openSettingsCommand } from "./commandIds";
import { StatusBarModel } from "./statusView";

export class StatusBar implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem("djangoRunserver.status", vscode.StatusBarAlignment.Left, 0);

    constructor() {
        this.item.name = "Django Runserver";
    }

    apply(model: StatusBarModel): void {
        const item = this.item;
        item.text = model.text;
        const tooltip = new vscode.MarkdownString(model.tooltip, true);
        // Trusted only for the commands the links run: ours, and opening a setting.
        tooltip.isTrusted = { enabledCommands: [...Object.values(Commands), openSettingsCommand] };
        item.tooltip = tooltip;
        item.backgroundColor = model.backgroundColor ? new vscode.ThemeColor(model.backgroundColor) : undefined;
        item.command = model.command && { title: "Django Runserver", ...model.command };
        item.accessibilityInformation = { label: model.accessibilityLabel };
        if (model.visible) item.show();
        else item.hide();
    }

    dispose(): void {
        this.item.dispose();
    }
}
