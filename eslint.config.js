// Style: neostandard (the Fastify organisation's own), TypeScript-aware. Plus the house rules of
// ARCHITECTURE.md, enforced: platform never imports features; only src/platform/crypto imports
// node:crypto; only src/config reads process.env; features never import another feature's store;
// no import cycles.
import neostandard, { resolveIgnoresFromGitignore } from 'neostandard'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'

const cryptoRule = {
  paths: [
    { name: 'node:crypto', message: 'Only src/platform/crypto may use node:crypto: import from src/platform/crypto/index.js.' },
    { name: 'crypto', message: 'Only src/platform/crypto may use node:crypto: import from src/platform/crypto/index.js.' }
  ]
}

export default [
  ...neostandard({ ts: true, ignores: [...resolveIgnoresFromGitignore(), 'static/vendor/**'] }),
  {
    files: ['src/**/*.ts'],
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js']
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'no-restricted-imports': ['error', {
        ...cryptoRule,
        patterns: [{ group: ['**/features/*/*.store.js'], message: 'Use the other feature\'s service, never its store.' }]
      }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only src/config reads process.env; take values from deps.config.' }]
    }
  },
  {
    files: ['src/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        ...cryptoRule,
        patterns: [{ group: ['**/features/**'], message: 'platform/ is domain-free: it never imports features/.' }]
      }]
    }
  },
  {
    files: ['src/platform/crypto/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/features/**'], message: 'platform/ is domain-free: it never imports features/.' }] }]
    }
  },
  {
    files: ['src/features/*/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        ...cryptoRule,
        patterns: [{ group: ['../*/*.store.js', '!./*'], message: 'Use the other feature\'s service, never its store.' }]
      }]
    }
  },
  {
    files: ['static/js/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', localStorage: 'readonly', navigator: 'readonly', Element: 'readonly', HTMLElement: 'readonly', HTMLDialogElement: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', console: 'readonly', Notification: 'readonly', EventSource: 'readonly', Audio: 'readonly' }
    }
  },
  {
    files: ['src/config/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' }
  }
]
