// Lint rules that enforce the architecture: schemas <- src <- activities <- workflows.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';

const temporalBan = {
  group: ['@temporalio/*'],
  message: 'src/ and schemas/ are a library: no Temporal imports (see STYLE.md rule 1).',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.cache/**',
      '.data/**',
      'dist/**',
      'bench/results/**',
      'reports/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { import: importPlugin },
    rules: {
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import/no-cycle': 'error',
    },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js'] } } },
  },
  {
    files: ['src/**/*.ts', 'schemas/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            temporalBan,
            {
              group: ['**/activities/**', '**/workflows/**'],
              message: 'src/ must not depend on activities/ or workflows/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'node:*',
                'fs',
                'path',
                'os',
                'crypto',
                'child_process',
                'net',
                'http',
                'https',
                'stream',
              ],
              message: 'Workflows are deterministic: no Node builtins.',
            },
            {
              group: ['**/src/**', '@tensorflow/*', 'kafkajs'],
              message: 'Workflows only orchestrate: no library, tensor or Kafka code.',
            },
            {
              group: ['**/activities', '**/activities/**'],
              allowTypeImports: true,
              message: 'Workflows import activities with `import type` only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
