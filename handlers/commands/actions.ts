/** Acting on seats: reclaim, undo, keep, clearing. */
import type { CommandSpec } from '../registry.ts';

export const ACTION_COMMANDS: readonly CommandSpec[] = [];
