// What the welcome page says about this instance: each item is a fact an admin can act on.
import { publicUrl } from '../../config/load-config.js'
import { databaseFile, type Deps } from '../../deps.js'
import type { Translate } from '../../platform/i18n/i18n.js'
import { hasChannels } from '../channels/channels.service.js'

export interface Check { state: 'ok' | 'warn' | 'error', title: string, text: string }

/** The setup checklist and the instance facts, translated. */
export function setupChecklist (deps: Pick<Deps, 'config' | 'keyStatus' | 'dataDir' | 'assets' | 'db'>, t: Translate): { checks: Check[], instance: Array<{ label: string, value: string }> } {
  const url = publicUrl(deps.config)
  const https = url.startsWith('https://')
  const checks: Check[] = [
    { state: 'ok', title: t('checks.database.ok.title'), text: t('checks.database.ok.text', { path: databaseFile(deps.dataDir) }) },
    deps.keyStatus.source === 'generated' || deps.keyStatus.source === 'file'
      ? { state: 'warn', title: t('checks.key.generated.title'), text: t('checks.key.generated.text', { path: deps.keyStatus.file ?? '' }) }
      : { state: 'ok', title: t('checks.key.configured.title'), text: t('checks.key.configured.text') },
    https
      ? { state: 'ok', title: t('checks.https.ok.title'), text: t('checks.https.ok.text', { url }) }
      : { state: 'warn', title: t('checks.https.missing.title'), text: t('checks.https.missing.text') },
    deps.config.email.transport === 'log'
      ? { state: 'warn', title: t('checks.email.log.title'), text: t('checks.email.log.text') }
      : { state: 'ok', title: t('checks.email.configured.title'), text: t('checks.email.configured.text', { transport: deps.config.email.transport === 'smtp' ? `SMTP (${deps.config.email.smtp_host})` : 'Resend' }) },
    // Connecting a number happens after setup, in Settings → WhatsApp numbers (/settings/channels).
    hasChannels(deps)
      ? { state: 'ok', title: t('checks.whatsapp.ok.title'), text: t('checks.whatsapp.ok.text') }
      : { state: 'warn', title: t('checks.whatsapp.none.title'), text: t('checks.whatsapp.none.text') }
  ]
  const instance = [
    { label: t('instance.version'), value: deps.assets.version },
    { label: t('instance.publicUrl'), value: url },
    { label: t('instance.dataDir'), value: deps.dataDir },
    { label: t('instance.timeZone'), value: deps.config.ui.default_time_zone }
  ]
  return { checks, instance }
}
