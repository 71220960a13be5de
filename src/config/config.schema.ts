// The single source of truth for Weltra's configuration: names, types, defaults and the documentation
// that config.example.toml repeats. A key is spelled the same in TOML, in the environment
// (WELTRA_<SECTION>__<KEY>) and in code (config.<section>.<key>).
import { Type, type Static, type TSchema } from '@sinclair/typebox'

/** Marks a key as secret: masked by `config show`, never logged, and also accepted as `<key>_file`. */
const secret = { secret: true } as const

export const ConfigSchema = Type.Object({
  server: Type.Object({
    listen: Type.String({
      default: '127.0.0.1:8080',
      description: 'Address and port to listen on. Use "0.0.0.0:8080" inside a container.'
    }),
    public_url: Type.String({
      default: '',
      description: 'The URL people and Meta use to reach Weltra, e.g. "https://crm.example.com". The one source for links in emails and for webhook URLs. Empty: http://localhost:<port>.'
    }),
    trusted_proxies: Type.Array(Type.String(), {
      default: [],
      description: 'Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For / -Proto headers are trusted, e.g. ["127.0.0.1"]. Empty: headers are ignored.'
    }),
    tls_cert_file: Type.String({
      default: '',
      description: 'PEM certificate chain for serving HTTPS directly (reloaded on SIGHUP). Leave empty behind a reverse proxy.'
    }),
    tls_key_file: Type.String({ default: '', description: 'PEM private key matching tls_cert_file.' }),
    allow_signup: Type.Boolean({
      default: false,
      description: 'Let anyone open an account at /register (each new account gets its own workspace). Off: people join by invitation only.'
    }),
    shutdown_timeout_ms: Type.Integer({
      default: 10000,
      minimum: 1000,
      maximum: 120000,
      description: 'How long a graceful shutdown may wait for in-flight requests before closing connections.'
    })
  }, { additionalProperties: false }),
  storage: Type.Object({
    data_dir: Type.String({
      default: './data',
      description: 'Holds weltra.db, backups/, media/, .runtime/ and (when generated) master.key.'
    }),
    runtime_dir: Type.String({
      default: '',
      description: 'Where the binary extracts its embedded files (must allow executing the SQLite addon). Empty: <data_dir>/.runtime.'
    }),
    backup_keep: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 1000,
      description: 'How many automatic pre-migration backups to keep in <data_dir>/backups.'
    })
  }, { additionalProperties: false }),
  security: Type.Object({
    master_key: Type.String({
      default: '',
      ...secret,
      description: 'Master encryption key: 32 random bytes, base64. Empty: read <data_dir>/master.key, or create it on the very first run. Back it up apart from your data.'
    }),
    previous_master_keys: Type.Array(Type.String(), {
      default: [],
      ...secret,
      description: 'Old master keys still accepted for decryption while `weltra keys rotate` re-seals data (file form: one key per line).'
    })
  }, { additionalProperties: false }),
  session: Type.Object({
    idle_timeout_minutes: Type.Integer({
      default: 720,
      minimum: 5,
      maximum: 43200,
      description: 'Sign out after this long without activity (12 hours by default).'
    }),
    absolute_timeout_days: Type.Integer({
      default: 30,
      minimum: 1,
      maximum: 365,
      description: 'Sign out this long after signing in, however active (30 days by default).'
    })
  }, { additionalProperties: false }),
  email: Type.Object({
    transport: Type.Union(['log', 'smtp', 'resend'].map(l => Type.Literal(l)), {
      default: 'log',
      description: 'log | smtp | resend. "log" prints each email (with its links) to the server log, so a first install works without a mail server.'
    }),
    from: Type.String({
      default: 'Weltra <weltra@localhost>',
      description: 'Sender address, e.g. "Acme Support <crm@acme.example>".'
    }),
    smtp_host: Type.String({ default: '', description: 'SMTP server host name (transport = "smtp").' }),
    smtp_port: Type.Integer({ default: 587, minimum: 1, maximum: 65535, description: 'SMTP port: 587 (STARTTLS), 465 (TLS) or 25.' }),
    smtp_security: Type.Union(['starttls', 'tls', 'none'].map(l => Type.Literal(l)), {
      default: 'starttls',
      description: 'starttls (port 587) | tls (port 465) | none (only for a relay on localhost).'
    }),
    smtp_user: Type.String({ default: '', description: 'SMTP user name; empty for no authentication.' }),
    smtp_password: Type.String({ default: '', ...secret, description: 'SMTP password.' }),
    resend_api_key: Type.String({ default: '', ...secret, description: 'Resend API key (transport = "resend").' }),
    resend_base_url: Type.String({ default: 'https://api.resend.com', description: 'Resend API base URL (change only for testing).' })
  }, { additionalProperties: false }),
  whatsapp: Type.Object({
    graph_base_url: Type.String({
      default: 'https://graph.facebook.com',
      description: "Meta's Graph API base URL. Change only to point Weltra at a test server; media downloads from this origin are allowed even when it is not public."
    }),
    graph_api_version: Type.String({
      default: 'v25.0',
      pattern: '^v[0-9]+\\.[0-9]+$',
      description: 'Graph API version for newly connected numbers, e.g. "v25.0". Meta retires versions about two years after release: bump it deliberately.'
    }),
    graph_timeout_seconds: Type.Integer({ default: 15, minimum: 1, maximum: 120, description: 'How long one Graph API call (or media download) may take.' }),
    send_rate_per_second: Type.Integer({
      default: 80,
      minimum: 1,
      maximum: 1000,
      description: "Most messages sent per second from one WhatsApp number (Meta's throughput: 80 by default, up to 1,000 for upgraded numbers, 20 for Coexistence numbers)."
    }),
    media_hosts: Type.Array(Type.String(), {
      default: ['lookaside.fbsbx.com', '*.fbsbx.com', '*.fbcdn.net', '*.whatsapp.net'],
      description: 'Hosts media may be downloaded from (https only; "*." matches subdomains). Private and loopback addresses are always refused, except graph_base_url.'
    })
  }, { additionalProperties: false }),
  outgoing_webhooks: Type.Object({
    allow_private_addresses: Type.Boolean({
      default: false,
      description: 'Let workspaces send webhooks to private, loopback and link-local addresses (your own network). Off: only public addresses are reached, so a webhook URL cannot be used to probe this server\'s network.'
    }),
    allow_http: Type.Boolean({
      default: false,
      description: 'Accept webhook URLs without TLS (http://). Off: https only, since deliveries carry customer messages.'
    }),
    timeout_seconds: Type.Integer({ default: 10, minimum: 1, maximum: 60, description: 'How long a receiver may take to answer one delivery before it counts as failed and is retried.' })
  }, { additionalProperties: false }),
  privacy: Type.Object({
    account_purge_days: Type.Integer({
      default: 30,
      minimum: 0,
      maximum: 30,
      description: 'Days between someone deleting their account and its permanent purge (0: at the next daily run). Never more than 30: the privacy policy promises it.'
    })
  }, { additionalProperties: false }),
  log: Type.Object({
    level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), {
      default: 'info',
      description: 'fatal | error | warn | info | debug | trace | silent. Logs are JSON lines on stdout.'
    })
  }, { additionalProperties: false }),
  ui: Type.Object({
    default_locale: Type.String({
      default: 'en',
      description: 'Language used when the browser asks for none we have (a file in locales/, e.g. "en", "pt-BR").'
    }),
    default_time_zone: Type.String({
      default: 'UTC',
      description: 'IANA time zone for dates until a user picks their own, e.g. "America/Sao_Paulo".'
    })
  }, { additionalProperties: false })
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>
export type SectionName = keyof Config

/** The schema of one key, with Weltra's `secret` marker. */
export type KeySchema = TSchema & { secret?: boolean, default?: unknown, description?: string }

/** Lists every section and key of the schema, in declaration order. */
export function listKeys (): Array<{ section: SectionName, key: string, schema: KeySchema }> {
  const out: Array<{ section: SectionName, key: string, schema: KeySchema }> = []
  for (const [section, sectionSchema] of Object.entries(ConfigSchema.properties)) {
    for (const [key, schema] of Object.entries((sectionSchema as { properties: Record<string, KeySchema> }).properties)) {
      out.push({ section: section as SectionName, key, schema })
    }
  }
  return out
}
