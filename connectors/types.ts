/**
 * What a connector gives the import pipeline. Every stream yields pages (arrays) so a connector can pass vendor pages
 * straight through and memory stays flat whatever the size of the organisation.
 */

/** Enabled, Warning, Suspended, Deleted, LockedOut (Microsoft's capabilityStatus; other vendors map onto it). */
export const CAPABILITY_STATUSES = ['Enabled', 'Warning', 'Suspended', 'Deleted', 'LockedOut'] as const;
export type CapabilityStatus = (typeof CAPABILITY_STATUSES)[number];

export const LICENSE_MODELS = ['named_user', 'device', 'concurrent', 'unlimited'] as const;
export type LicenseModel = (typeof LICENSE_MODELS)[number];

/** A subscription as the vendor reports it. */
export interface VendorSubscription {
  /** The vendor's immutable id (Graph skuId, Adobe product profile id, ...). */
  key: string;
  vendor: string;
  /** Publisher part number. */
  sku: string;
  /** The vendor's display name of the plan. */
  name: string;
  licenseModel?: LicenseModel;
  unlimited?: boolean;
  capabilityStatus: CapabilityStatus;
  consumedUnits: number;
  enabledUnits: number;
  suspendedUnits?: number;
  warningUnits?: number;
  lockedOutUnits?: number;
  isTrial?: boolean;
  nextLifecycleAt?: Date | null;
}

/** An account assigned to a subscription. */
export interface VendorAccount {
  subscriptionKey: string;
  /** The vendor's immutable account id. */
  accountId: string;
  email: string | null;
  login?: string | null;
  enabled?: boolean;
  groupInherited?: boolean;
  assignedAt?: Date | null;
  /** Last activity for this account and subscription, when the vendor reports it with the assignment. */
  lastActivityAt?: Date | null;
  lastActivitySource?: string | null;
}

/** Last activity of an account, for one subscription or (without `subscriptionKey`) for all of them. */
export interface UsageSignal {
  accountId: string;
  subscriptionKey?: string;
  lastActivityAt: Date | null;
  source: string;
}

/** A person from a directory (or an HR list). */
export interface DirectoryPerson {
  email: string;
  aliases?: string[];
  displayName?: string | null;
  department?: string | null;
  costCenter?: string | null;
  managerEmail?: string | null;
  /** False when the directory account is disabled or suspended. */
  enabled: boolean;
  /** Set when the person has left. */
  departedAt?: Date | null;
  externalId?: string | null;
}

export interface ConnectorCapabilities {
  /** Reports last activity per account. Without it no seat is ever called idle on this vendor's word. */
  usage: boolean;
  /** Is a directory of persons. */
  directory: boolean;
  /** Reports e-mail addresses for accounts (GitHub, for one, often does not). */
  emails: boolean;
  /** Can remove one seat. */
  removal: boolean;
}

/** One seat to act on, as the inventory knows it. */
export interface SeatRef {
  subscriptionKey: string;
  /** Publisher part number of the subscription. */
  sku: string;
  accountId: string;
  email: string | null;
  login: string | null;
}

/** What the vendor said to a removal. `retryable` failures (throttling, outages) may be tried again later. */
export type RemovalResult =
  | { ok: true; detail?: string }
  | { ok: false; reason: string; code?: string; retryable: boolean };

/** Hooks a connector may use; all optional. */
export interface ConnectorDeps {
  /** Called before each retried vendor call (logs, metrics). */
  onRetry?: (info: { endpoint: string; attempt: number; waitMs: number; reason: string }) => void;
  /** Replaces waiting (tests). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

/** A source of subscriptions, accounts, usage and persons. */
export interface Connector {
  /** The import source name, e.g. `m365`; licenses are owned by (source, subscription key). */
  readonly source: string;
  readonly capabilities: ConnectorCapabilities;
  subscriptions(): AsyncIterable<VendorSubscription[]>;
  accounts(): AsyncIterable<VendorAccount[]>;
  usage?(): AsyncIterable<UsageSignal[]>;
  persons?(): AsyncIterable<DirectoryPerson[]>;
  /** Removes one seat through the vendor's API; present when `capabilities.removal`. */
  removeSeat?(seat: SeatRef): Promise<RemovalResult>;
  /**
   * Gives back a seat that `removeSeat` removed (undo). Absent where the vendor offers no way to, and then
   * `restoreUnsupported` says why, in words for the person who asked for the undo.
   */
  restoreSeat?(seat: SeatRef): Promise<RemovalResult>;
  readonly restoreUnsupported?: string;
}
