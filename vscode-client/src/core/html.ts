/**
 * Preparing the self-contained report page for a webview.
 *
 * Pure module: must not import `vscode`.
 */

/**
 * The policy for the run-timeline page: its own inline scripts and styles,
 * data: images and fonts, and nothing from the network.
 */
export const REPORT_CSP =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
    "img-src data:; font-src data:; connect-src 'none'; frame-src 'none'; form-action 'none'";

/** Inserts a Content-Security-Policy meta tag as the first element of <head>. */
export function withContentSecurityPolicy(html: string, policy: string = REPORT_CSP): string {
    const meta = `<meta http-equiv="Content-Security-Policy" content="${policy.replace(/"/g, '&quot;')}">`;
    const head = /<head(\s[^>]*)?>/i.exec(html);
    if (head) {
        const at = head.index + head[0].length;
        return html.slice(0, at) + meta + html.slice(at);
    }
    const htmlTag = /<html(\s[^>]*)?>/i.exec(html);
    if (htmlTag) {
        const at = htmlTag.index + htmlTag[0].length;
        return `${html.slice(0, at)}<head>${meta}</head>${html.slice(at)}`;
    }
    return `<!DOCTYPE html><html><head>${meta}</head><body>${html}</body></html>`;
}

export function escapeHtml(text: string): string {
    return text
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
}

/** A small page shown while a report is being made, or when it failed. */
export function messagePage(title: string, message: string): string {
    return withContentSecurityPolicy(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>' +
            `<body style="font-family: var(--vscode-font-family); padding: 1em">` +
            `<h2>${escapeHtml(title)}</h2><p>${escapeHtml(message)}</p></body></html>`,
    );
}
