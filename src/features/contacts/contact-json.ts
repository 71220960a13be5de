// A contact as JSON, the one shape the public API answers with and outgoing webhooks and archives
// carry (its TypeBox schema documents it in the OpenAPI document).
import { Type } from '@sinclair/typebox'
import { iso, Nullable, OneOf, Time } from '../../platform/http/api.js'
import type { ContactRecord } from './contact-records.service.js'
import { consents } from './contacts-list.store.js'

export const contactSchema = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String(), 'The name your team gave the contact.'),
  display_name: Nullable(Type.String(), 'What people see: the name, else the WhatsApp profile name, @username or number.'),
  profile_name: Nullable(Type.String(), 'The name the customer set in WhatsApp.'),
  username: Nullable(Type.String(), 'The customer\'s WhatsApp username, if any.'),
  whatsapp: Nullable(Type.String(), 'The WhatsApp number (E.164), once the customer has written.'),
  bsuid: Nullable(Type.String(), 'WhatsApp\'s business-scoped user id, when the customer uses a username.'),
  phones: Type.Array(Type.String(), { description: 'Other numbers, E.164.' }),
  emails: Type.Array(Type.String()),
  labels: Type.Array(Type.Object({ id: Type.String(), name: Type.String() })),
  notes: Nullable(Type.String(), 'Private notes of the team.'),
  consent: Type.Object({
    state: OneOf(consents, 'Marketing consent: templates are refused when opted_out.'),
    source: Nullable(Type.String()),
    at: Nullable(Time())
  }),
  fields: Type.Record(Type.String(), Type.String(), { description: 'Custom field values by field key.' }),
  last_inbound_at: Nullable(Time(), 'When the customer last wrote.'),
  created_at: Time(),
  updated_at: Time()
}, { description: 'A contact.' })

export function contactJson (c: ContactRecord): Record<string, unknown> {
  return {
    id: c.id,
    name: c.name,
    display_name: c.displayName,
    profile_name: c.profileName,
    username: c.username,
    whatsapp: c.whatsapp,
    bsuid: c.bsuid,
    phones: c.phones,
    emails: c.emails,
    labels: c.labels,
    notes: c.notes,
    consent: { state: c.consent.state, source: c.consent.source, at: iso(c.consent.at) },
    fields: c.fields,
    last_inbound_at: iso(c.lastInboundAt),
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt)
  }
}
