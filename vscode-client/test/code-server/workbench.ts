/**
 * Driving VS Code's workbench the way a user does: the command palette, quick picks,
 * notifications, views and the Problems panel (selectors of VS Code 1.100's DOM).
 */
import type { Locator, Page } from 'playwright-core';

const TIMEOUT = 120_000;

export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = TIMEOUT): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 250));
    }
}

/** The visible quick input (palette or a quick pick). */
export function quickInput(page: Page): Locator {
    return page.locator('.quick-input-widget:visible');
}

/** Opens the command palette and runs the command whose label is `label`. */
export async function runCommand(page: Page, label: string): Promise<void> {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = quickInput(page).locator('.quick-input-box input');
    await input.waitFor({ timeout: TIMEOUT });
    await input.fill(`>${label}`);
    const row = quickInput(page).locator('.monaco-list-row', { hasText: label }).first();
    await row.waitFor({ timeout: TIMEOUT });
    await row.click();
}

/** Picks the quick-pick item whose text contains `text` (waits for the pick to show it). */
export async function pick(page: Page, text: string | RegExp, placeholder?: string | RegExp): Promise<void> {
    if (placeholder !== undefined) {
        await waitUntil(`a quick pick "${String(placeholder)}"`, async () => {
            const current = (await quickInput(page).locator('.quick-input-box input').getAttribute('placeholder').catch(() => null)) ?? '';
            return typeof placeholder === 'string' ? current.includes(placeholder) : placeholder.test(current);
        });
    }
    const row = quickInput(page).locator('.monaco-list-row', { hasText: text }).first();
    await row.waitFor({ timeout: TIMEOUT });
    await row.click();
}

/** Types into the visible input box (showInputBox or a quick pick filter) and presses Enter. */
export async function answerInput(page: Page, value: string): Promise<void> {
    const input = quickInput(page).locator('.quick-input-box input');
    await input.waitFor({ timeout: TIMEOUT });
    await input.fill(value);
    await input.press('Enter');
}

/** Notification toasts currently shown. */
export function toasts(page: Page, text?: string | RegExp): Locator {
    const all = page.locator('.notifications-toasts .notification-toast-container');
    return text === undefined ? all : all.filter({ hasText: text });
}

/** Waits for a toast whose text matches and returns it. */
export async function toast(page: Page, text: string | RegExp): Promise<Locator> {
    const found = toasts(page, text).first();
    await found.waitFor({ timeout: TIMEOUT });
    return found;
}

/** Clicks a button of a toast. */
export async function clickToastButton(toastLocator: Locator, button: string): Promise<void> {
    await toastLocator.hover();
    await toastLocator.locator('.monaco-button', { hasText: button }).first().click();
}

/** The texts of every notification with an error icon, in toasts or in the notification center. */
export async function errorNotifications(page: Page): Promise<string[]> {
    const rows = page.locator('.notifications-list-container .monaco-list-row').filter({ has: page.locator('.codicon-error') });
    return rows.allInnerTexts();
}

/** Shows the Treelane view container and returns the Runs view's tree. */
export async function runsView(page: Page): Promise<Locator> {
    const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^.*Runs/ }) });
    if (!(await pane.locator('.monaco-list').isVisible().catch(() => false))) {
        await runCommand(page, 'View: Show Treelane');
    }
    const tree = page.locator('[id="workbench.view.extension.treelane"] .monaco-list').first();
    await tree.waitFor({ timeout: TIMEOUT });
    return tree;
}

/** A row of the Runs tree whose text matches every pattern. */
export function treeRow(tree: Locator, ...patterns: (string | RegExp)[]): Locator {
    let rows = tree.locator('.monaco-list-row');
    for (const p of patterns) {
        rows = rows.filter({ hasText: p });
    }
    return rows.first();
}

/** The status bar item the extension contributes (id `<extension id>.<item id>`). */
export function statusItem(page: Page): Locator {
    return page.locator('[id="treelane.treelane.treelane.status"]');
}
