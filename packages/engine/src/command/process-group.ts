import { readdir, readFile } from 'node:fs/promises';

/** Linux /proc: the only place the RSS of another process (and its children) can be read without native code. */
const PROC = '/proc';

/** `/proc/<pid>/stat`: fields after the parenthesised command name (which may itself contain spaces). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * Resident memory (MB) of every live process in a process group: the program and every child it
 * spawned (they inherit the group), so a program cannot dodge its limit by forking. Zombies hold
 * no memory and are skipped. Returns null where /proc is unavailable (not Linux).
 */
export async function processGroupRssMb(pgid: number): Promise<number | null> {
  let entries: string[];
  try {
    entries = await readdir(PROC);
  } catch {
    return null;
  }
  let kb = 0;
  let found = 0;
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (pid) => {
        try {
          const f = statFields(await readFile(`${PROC}/${pid}/stat`, 'utf8'));
          // fields: [0]=state [2]=pgrp; VmRSS in status is in kB whatever the page size
          if (f[0] === 'Z' || Number(f[2]) !== pgid) return;
          const rss = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`${PROC}/${pid}/status`, 'utf8'));
          if (rss) {
            kb += Number(rss[1]);
            found++;
          }
        } catch {
          // the process exited while we looked
        }
      }),
  );
  // Nothing of the group left to measure: no reading, rather than a reading of 0.
  return found > 0 ? kb / 1024 : null;
}

/** True while `pid` exists and is not a zombie (a dead child not yet reaped by its parent). */
export async function isProcessAlive(pid: number): Promise<boolean> {
  try {
    return statFields(await readFile(`${PROC}/${pid}/stat`, 'utf8'))[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Signal a whole process group; a group that is already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}
