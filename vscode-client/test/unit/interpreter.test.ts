import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PYTHON, expandVariables, reportArgs, resolveInterpreter, serverArgs } from '../../src/core/interpreter';

const base = { workspaceFolder: '/ws', home: '/home/me', env: { VENV: '/opt/venv' } };

describe('interpreter', () => {
    it('the setting wins over the Python extension', () => {
        assert.deepEqual(resolveInterpreter({ ...base, setting: '/usr/bin/python3.12', pythonExtension: '/ws/.venv/bin/python' }), {
            command: '/usr/bin/python3.12',
            source: 'setting',
        });
    });

    it('then the Python extension, then python3', () => {
        assert.deepEqual(resolveInterpreter({ ...base, setting: '  ', pythonExtension: '/ws/.venv/bin/python' }), {
            command: '/ws/.venv/bin/python',
            source: 'python-extension',
        });
        assert.deepEqual(resolveInterpreter({ ...base, setting: undefined, pythonExtension: undefined }), {
            command: DEFAULT_PYTHON,
            source: 'default',
        });
    });

    it('expands variables in the setting', () => {
        assert.equal(expandVariables('${workspaceFolder}/.venv/bin/python', base), '/ws/.venv/bin/python');
        assert.equal(expandVariables('${userHome}/py', base), '/home/me/py');
        assert.equal(expandVariables('${env:VENV}/bin/python', base), '/opt/venv/bin/python');
        assert.equal(expandVariables('${env:MISSING}x', base), 'x');
        assert.equal(expandVariables('~/venv/bin/python', base), '/home/me/venv/bin/python');
        assert.equal(expandVariables('${workspaceFolder}/p', { ...base, workspaceFolder: undefined }), '${workspaceFolder}/p');
        assert.equal(expandVariables('${unknown}', base), '${unknown}');
    });

    it('builds the server and report command lines', () => {
        assert.deepEqual(serverArgs([]), ['-m', 'treelane', 'serve']);
        assert.deepEqual(serverArgs(['--log-level', 'debug', '']), ['-m', 'treelane', 'serve', '--log-level', 'debug']);
        assert.deepEqual(reportArgs('r1', '/tmp/r1.html'), ['-m', 'treelane', 'report', 'r1', '-o', '/tmp/r1.html']);
    });
});
