/**
 * The shape every connector's output must have before it is staged. A connector validates the vendor's payload
 * against the vendor's contract; this is the second gate, on what the connector made of it.
 */
import { z } from 'zod';
import { CAPABILITY_STATUSES, LICENSE_MODELS } from '../../connectors/types.ts';

const count = z.number().int().min(0);
const optionalDate = z.date().nullish();
const email = z
  .string()
  .trim()
  .max(320)
  .regex(/^[^\s@]+@[^\s@]+$/, 'expected an e-mail address');

export const subscriptionRecord = z.object({
  key: z.string().min(1).max(512),
  vendor: z.string().min(1).max(200),
  sku: z.string().min(1).max(200),
  name: z.string().min(1).max(500),
  licenseModel: z.enum(LICENSE_MODELS).optional(),
  unlimited: z.boolean().optional(),
  capabilityStatus: z.enum(CAPABILITY_STATUSES),
  consumedUnits: count,
  enabledUnits: count,
  suspendedUnits: count.optional(),
  warningUnits: count.optional(),
  lockedOutUnits: count.optional(),
  isTrial: z.boolean().optional(),
  nextLifecycleAt: optionalDate,
});

export const accountRecord = z.object({
  subscriptionKey: z.string().min(1).max(512),
  accountId: z.string().min(1).max(512),
  email: email.nullable(),
  login: z.string().max(320).nullish(),
  enabled: z.boolean().optional(),
  groupInherited: z.boolean().optional(),
  assignedAt: optionalDate,
  lastActivityAt: optionalDate,
  lastActivitySource: z.string().max(200).nullish(),
});

export const usageRecord = z.object({
  accountId: z.string().min(1).max(512),
  subscriptionKey: z.string().min(1).max(512).optional(),
  lastActivityAt: z.date().nullable(),
  source: z.string().min(1).max(200),
});

export const personRecord = z.object({
  email,
  aliases: z.array(email).max(200).optional(),
  displayName: z.string().max(500).nullish(),
  department: z.string().max(500).nullish(),
  costCenter: z.string().max(200).nullish(),
  managerEmail: email.nullish(),
  enabled: z.boolean(),
  departedAt: optionalDate,
  externalId: z.string().max(512).nullish(),
});

/** A record a connector produced does not have the required shape. */
export class RecordError extends Error {}

/** Validates one page; the message names the source, the stream, the record and the field. */
export function validatePage<T>(schema: z.ZodType<T>, page: unknown[], where: string, offset: number): T[] {
  return page.map((item, i) => {
    const parsed = schema.safeParse(item);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(record)';
    throw new RecordError(`${where} #${offset + i + 1}: ${field}: ${issue?.message ?? 'invalid'}`);
  });
}
