// ESLint flat config: typescript-eslint with type information for src/ and test/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
    { ignores: ['dist/**', 'out/**', 'node_modules/**', '*.vsix', '.code-server/**', 'test/e2e-results/**'] },
    {
        files: ['**/*.mjs'],
        extends: [js.configs.recommended],
        languageOptions: { globals: globals.node },
    },
    {
        files: ['src/**/*.ts', 'test/**/*.ts'],
        extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked, ...tseslint.configs.stylisticTypeChecked],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        rules: {
            '@typescript-eslint/no-explicit-any': 'error',
            '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
            '@typescript-eslint/no-floating-promises': 'error',
            '@typescript-eslint/explicit-function-return-type': ['error', { allowExpressions: true }],
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
            '@typescript-eslint/consistent-type-definitions': 'off',
            eqeqeq: ['error', 'always'],
            curly: 'error',
            'no-console': 'error',
        },
    },
    {
        // Pure logic: testable in plain Node, so no VS Code API.
        files: ['src/core/**/*.ts', 'src/common/constants.ts'],
        rules: {
            'no-restricted-imports': [
                'error',
                {
                    paths: [
                        { name: 'vscode', message: 'src/core must not depend on the VS Code API.' },
                        { name: 'vscode-languageclient', message: 'src/core must not depend on the client.' },
                        { name: 'vscode-languageclient/node', message: 'src/core must not depend on the client.' },
                    ],
                },
            ],
        },
    },
    {
        files: ['test/**/*.ts'],
        rules: {
            'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Tests run without VS Code.' }] }],
            '@typescript-eslint/explicit-function-return-type': 'off',
            '@typescript-eslint/no-floating-promises': [
                'error',
                {
                    allowForKnownSafeCalls: [
                        { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'before', 'after', 'suite'] },
                    ],
                },
            ],
        },
    },
);
