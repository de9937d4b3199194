import js from '@eslint/js'
import i18next from 'eslint-plugin-i18next'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/data/**', 'frontend/public/**', '**/*.mjs', '**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  // Every word the web app shows goes through t('…') (frontend/src/i18n): no bare text in JSX, and
  // none in the attributes a user reads or hears.
  {
    files: ['frontend/src/**/*.tsx'],
    ignores: ['**/*.test.tsx'],
    plugins: { i18next },
    rules: {
      'i18next/no-literal-string': [
        'error',
        {
          mode: 'jsx-only',
          'jsx-attributes': { include: ['aria-label', 'aria-description', 'title', 'placeholder', 'alt', 'label', 'description', 'heading', 'hint'] },
          words: { exclude: ['[0-9!-/:-@[-`{-~]+', '[A-Z0-9_-]+', /^[\p{Emoji}\p{P}\p{S}\p{N}\s]+$/u, 'ShareSync', 'QR', 'P2P', 'WebRTC', 'curl', 'URL', 'API', 'ZIP', 'JSON'] },
        },
      ],
    },
  },
)
