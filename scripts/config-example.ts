// Rewrites config.example.toml from the config schema (npm run config:example).
import { writeFileSync } from 'node:fs'
import { renderExampleConfig } from '../src/config/example.js'

writeFileSync(new URL('../config.example.toml', import.meta.url), renderExampleConfig())
console.log('config.example.toml written')
