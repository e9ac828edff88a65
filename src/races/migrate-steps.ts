/**
 * migrate_vma_collect against a concurrent CPU fault, as steps (filled in by the
 * migration commit; empty: every migrate_to_device runs as one step).
 */
import type { CutStep } from "./kernel-steps.ts";

export const migrateCuts: CutStep[] = [];
