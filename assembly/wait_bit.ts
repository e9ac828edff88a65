// wait_var_event / wake_up_var (kernel/sched/wait_bit.c): a task sleeps until a
// variable changes and whoever changes it wakes the task, which then goes on with
// its own work. refsim's one sleeper is a truncate waiting for a busy fsdax page to
// go idle (dax_break_layout, fs/dax.c); the final put wakes it
// (free_zone_device_folio, 6.15 mm/memremap.c; free_devmap_managed_page in 5.x:
// wake_up_var on the page). As in the kernel, the waker does not call into the
// sleeper's file: the sleeper's continuation is registered here once, at init.

function noSleeper(pfn: u32): void {}

let sleeper: (pfn: u32) => void = noSleeper;

/** The work a woken sleeper does on page pfn (truncate.ts's daxPageIdle). */
export function initWaitBit(onWake: (pfn: u32) => void): void {
  sleeper = onWake;
}

/** wake_up_var(&page): the page pfn went idle; a sleeper waiting on it goes on. */
export function wakeUpVar(pfn: u32): void {
  sleeper(pfn);
}
