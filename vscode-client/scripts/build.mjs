// Bundles src/extension.ts and its dependencies into dist/extension.js.
//   node scripts/build.mjs               development build with source maps
//   node scripts/build.mjs --production  minified, no source maps (used by `vsce package`)
//   node scripts/build.mjs --watch       rebuild on change
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Prints problems the way VS Code's esbuild problem matchers expect. */
const problemReporter = {
    name: 'problem-reporter',
    setup(build) {
        build.onStart(() => console.log('[build] started'));
        build.onEnd((result) => {
            for (const { text, location } of result.errors) {
                console.error(`✘ [ERROR] ${text}`);
                if (location) {
                    console.error(`    ${location.file}:${location.line}:${location.column}:`);
                }
            }
            console.log(`[build] finished${result.errors.length > 0 ? ' with errors' : ''}`);
        });
    },
};

const context = await esbuild.context({
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    // VS Code 1.91 runs extensions on Node 20.
    target: 'node20',
    external: ['vscode'],
    mainFields: ['module', 'main'],
    minify: production,
    sourcemap: !production,
    sourcesContent: false,
    logLevel: 'warning',
    plugins: [problemReporter],
});

if (watch) {
    await context.watch();
} else {
    const result = await context.rebuild();
    await context.dispose();
    if (result.errors.length > 0) {
        process.exit(1);
    }
}
