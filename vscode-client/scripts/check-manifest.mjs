// Checks package.json against the code and the rules the extension relies on.
// Run: node scripts/check-manifest.mjs   (part of `npm test`)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const contributes = pkg.contributes ?? {};
const failures = [];
let checks = 0;

function check(ok, message) {
    checks += 1;
    if (!ok) {
        failures.push(message);
    }
}

function sourceFiles(dir) {
    return readdirSync(dir).flatMap((name) => {
        const path = join(dir, name);
        return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
    });
}

const sources = sourceFiles(join(root, 'src')).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
const allSource = sources.map((s) => s.text).join('\n');

// --- entry point and packaging basics
check(pkg.main === './dist/extension.js' || pkg.main === 'dist/extension.js', `main must point at dist/extension.js (is ${pkg.main})`);
check(typeof pkg.publisher === 'string' && pkg.publisher.length > 0, 'publisher is required by vsce');
check(typeof pkg.repository === 'object' && typeof pkg.repository.url === 'string', 'repository.url is required for a non-interactive vsce');
check(existsSync(join(root, 'LICENSE')), 'LICENSE is missing');
check(existsSync(join(root, 'README.md')), 'README.md is missing');
check(existsSync(join(root, '.vscodeignore')), '.vscodeignore is missing');
check(/vsce package/.test(pkg.scripts?.package ?? ''), 'npm script "package" must run vsce package');

// --- engines vs. the language client and @types/vscode
const engine = /(\d+)\.(\d+)/.exec(pkg.engines?.vscode ?? '');
check(engine !== null, 'engines.vscode is missing');
const clientMajor = Number(/(\d+)/.exec(pkg.dependencies?.['vscode-languageclient'] ?? '')?.[1]);
if (engine && clientMajor >= 10) {
    check(Number(engine[1]) > 1 || Number(engine[2]) >= 91, 'vscode-languageclient 10+ needs engines.vscode ^1.91');
}
const types = /(\d+)\.(\d+)/.exec(pkg.devDependencies?.['@types/vscode'] ?? '');
if (engine && types) {
    check(
        Number(types[1]) < Number(engine[1]) || (types[1] === engine[1] && Number(types[2]) <= Number(engine[2])),
        '@types/vscode must not be newer than engines.vscode',
    );
}

// --- activation
const activation = pkg.activationEvents ?? [];
check(Array.isArray(activation) && activation.length > 0, 'activationEvents must be present');
check(activation.includes('workspaceContains:treelane.toml'), 'activationEvents must include workspaceContains:treelane.toml');
check(!activation.includes('*'), 'no "*" activation');

// --- workspace trust
const untrusted = pkg.capabilities?.untrustedWorkspaces;
check(untrusted?.supported === 'limited', 'capabilities.untrustedWorkspaces.supported must be "limited"');
check(typeof untrusted?.description === 'string' && untrusted.description.length > 0, 'untrustedWorkspaces needs a description');
for (const key of ['treelane.python', 'treelane.serverArgs']) {
    check(untrusted?.restrictedConfigurations?.includes(key), `untrustedWorkspaces.restrictedConfigurations must list ${key}`);
}

// --- settings
const properties = contributes.configuration?.properties ?? {};
for (const key of ['treelane.python', 'treelane.serverArgs', 'treelane.trace.server']) {
    check(key in properties, `setting ${key} is not contributed`);
}
check(
    JSON.stringify(properties['treelane.trace.server']?.enum) === JSON.stringify(['off', 'messages', 'verbose']),
    'treelane.trace.server must be off/messages/verbose',
);

// --- commands
const serverCommands = [...allSource.matchAll(/:\s*'(treelane\.[a-z]+)'/g)].map((m) => m[1]).filter((id) => !id.startsWith('treelane.ui'));
const commands = contributes.commands ?? [];
const contributed = new Set(commands.map((c) => c.command));
const constants = readFileSync(join(root, 'src/common/constants.ts'), 'utf8');
const uiBlock = /export const UiCommand = \{([\s\S]*?)\} as const;/.exec(constants)?.[1] ?? '';
const uiIds = new Set([...uiBlock.matchAll(/'(treelane\.ui\.[\w.]+)'/g)].map((m) => m[1]));
check(uiIds.size > 0, 'UiCommand not found in src/common/constants.ts');
check(
    /Object\.values\(UiCommand\)[\s\S]*registerCommand\(/.test(readFileSync(join(root, 'src/commands/index.ts'), 'utf8')),
    'src/commands/index.ts must register every UiCommand',
);
for (const c of commands) {
    check(typeof c.title === 'string' && c.title.length > 0, `command ${c.command} has no title`);
    check(c.category === 'Treelane', `command ${c.command} must have category "Treelane"`);
    check(c.command.startsWith('treelane.ui.'), `command ${c.command} must live under treelane.ui.* (server commands keep their own ids)`);
    check(!serverCommands.includes(c.command), `command ${c.command} collides with a server command`);
    check(uiIds.has(c.command), `command ${c.command} is contributed but not registered in code (UiCommand)`);
}
for (const id of uiIds) {
    check(contributed.has(id), `UiCommand ${id} is registered but not contributed in package.json`);
}

// --- menus refer to contributed commands; trusted-only commands are hidden when untrusted
const menus = contributes.menus ?? {};
const palette = menus.commandPalette ?? [];
for (const [menu, entries] of Object.entries(menus)) {
    for (const entry of entries) {
        check(contributed.has(entry.command), `menu ${menu} refers to unknown command ${entry.command}`);
    }
}
const readOnlyBlock = /READ_ONLY_UI_COMMANDS[^=]*=\s*new Set<UiCommandId>\(\[([\s\S]*?)\]\)/.exec(constants)?.[1] ?? '';
const readOnlyKeys = new Set([...readOnlyBlock.matchAll(/UiCommand\.(\w+)/g)].map((m) => m[1]));
const keyToId = new Map([...uiBlock.matchAll(/(\w+):\s*'(treelane\.ui\.[\w.]+)'/g)].map((m) => [m[1], m[2]]));
const readOnlyIds = new Set([...readOnlyKeys].map((k) => keyToId.get(k)));
check(readOnlyIds.size > 0, 'READ_ONLY_UI_COMMANDS not found');
for (const id of uiIds) {
    if (readOnlyIds.has(id)) {
        continue;
    }
    const entries = palette.filter((p) => p.command === id);
    check(entries.length > 0, `palette entry missing for ${id}`);
    for (const entry of entries) {
        check(entry.when === 'false' || /isWorkspaceTrusted/.test(entry.when ?? ''), `palette entry for ${id} needs isWorkspaceTrusted`);
    }
    for (const [menu, list] of Object.entries(menus)) {
        for (const entry of list.filter((e) => e.command === id)) {
            check(entry.when === 'false' || /isWorkspaceTrusted/.test(entry.when ?? ''), `${menu} entry for ${id} needs isWorkspaceTrusted`);
        }
    }
}

// --- activation covers the palette and the view
const views = Object.values(contributes.views ?? {}).flat().map((v) => v.id);
for (const event of activation) {
    const [kind, id] = event.split(':');
    if (kind === 'onCommand') {
        check(contributed.has(id), `activation event ${event} refers to an unknown command`);
    }
    if (kind === 'onView') {
        check(views.includes(id), `activation event ${event} refers to an unknown view`);
    }
}
for (const entry of palette) {
    if (entry.when !== 'false') {
        check(activation.includes(`onCommand:${entry.command}`), `palette command ${entry.command} has no onCommand activation`);
    }
}
check(views.includes('treelane.runs'), 'the treelane.runs view is not contributed');
check(activation.includes('onView:treelane.runs'), 'activationEvents must include onView:treelane.runs');
check(allSource.includes('RUNS_VIEW_ID') && constants.includes("'treelane.runs'"), 'treelane.runs view is not created in code');
for (const container of contributes.viewsContainers?.activitybar ?? []) {
    check(existsSync(join(root, container.icon)), `view container icon ${container.icon} is missing`);
}

if (failures.length > 0) {
    console.error(`manifest: ${failures.length} of ${checks} checks failed:`);
    for (const f of failures) {
        console.error(`  ✘ ${f}`);
    }
    process.exit(1);
}
console.log(`manifest: all ${checks} checks passed`);
