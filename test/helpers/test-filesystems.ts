/**
 * Small real file systems for disk-fault tests (root only): a tmpfs of a few hundred KiB,
 * filled to ENOSPC or remounted read-only, and an ext4 image on a loop device that turns
 * read-only under open files through ext4's own error path (`errors=remount-ro` and
 * `trigger_fs_error`), the way a failing disk does.
 *
 * Why two kinds: Linux refuses `mount -o remount,ro` (EBUSY) while any file on the file system
 * is open for writing, and a running pod holds its segment file and pod.log open, so a tmpfs
 * can only be made read-only under a pod's runtime dir (no file held open there); ext4's error
 * path makes open files read-only too.
 *
 * Every mount is made on a new dir under os.tmpdir() and undone by `unmountAll` (call it from
 * afterAll, after the pods are killed), which also runs after a failed test.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const mounted: { dir: string; loop?: string; image?: string }[] = [];

function run(command: string, args: readonly string[]): string {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function hasCommand(command: string): boolean {
  try {
    run("sh", ["-c", `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/** Why tmpfs tests cannot run here (not root, no mount), or undefined when they can. */
export function tmpfsSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "not root: mounting a tmpfs needs root";
  if (!hasCommand("mount") || !hasCommand("umount")) return "mount/umount not found";
  return undefined;
}

/** Why ext4 loop-device tests cannot run here, or undefined when they can. */
export function ext4SkipReason(): string | undefined {
  const tmpfs = tmpfsSkipReason();
  if (tmpfs) return tmpfs;
  if (!fs.existsSync("/dev/loop-control")) return "no /dev/loop-control: loop devices are not available";
  for (const command of ["losetup", "mkfs.ext4", "e2fsck"]) if (!hasCommand(command)) return `${command} not found`;
  return undefined;
}

function newMountDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `podd-${label}-`));
}

/** Mount a new tmpfs of `sizeKiB` KiB, private (0700: podd refuses a runtime dir open to others); returns its dir. */
export function mountTmpfs(sizeKiB: number): string {
  const dir = newMountDir("tmpfs");
  run("mount", ["-t", "tmpfs", "-o", `size=${sizeKiB}k,mode=0700`, "tmpfs", dir]);
  mounted.push({ dir });
  return dir;
}

/** Remount a tmpfs read-only or read-write (read-only fails with EBUSY while a file on it is open for writing). */
export function remount(dir: string, mode: "ro" | "rw"): void {
  run("mount", ["-o", `remount,${mode}`, dir]);
}

/** Fill the file system under `dir` with `<dir>/filler` until a write fails with ENOSPC; returns the filler's path. */
export function fillUp(dir: string): string {
  const filler = path.join(dir, "filler");
  const fd = fs.openSync(filler, "a");
  const chunk = Buffer.alloc(4096, 0x2e);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

export interface Ext4Mount {
  dir: string;
  loop: string;
  image: string;
}

/** Make an ext4 image of `sizeMiB` MiB, attach it to a loop device and mount it with errors=remount-ro. */
export function mountExt4(sizeMiB: number): Ext4Mount {
  const dir = newMountDir("ext4");
  const image = `${dir}.img`;
  fs.writeFileSync(image, "");
  fs.truncateSync(image, sizeMiB * 1024 * 1024);
  run("mkfs.ext4", ["-q", "-F", image]);
  const loop = run("losetup", ["-f", "--show", image]).trim();
  const entry = { dir, loop, image };
  mounted.push(entry);
  run("mount", ["-o", "errors=remount-ro", loop, dir]);
  return entry;
}

/** Whether ext4's error trigger exists for this mount (a sysfs file of the kernel's ext4). */
export function canTriggerExt4Error(mount: Ext4Mount): boolean {
  return fs.existsSync(ext4ErrorTrigger(mount));
}

function ext4ErrorTrigger(mount: Ext4Mount): string {
  return path.join("/sys/fs/ext4", path.basename(mount.loop), "trigger_fs_error");
}

/**
 * Put what is written so far on the image (syncfs), then raise an ext4 error: the kernel
 * remounts the file system read-only at once, and every write after it, through files open
 * before or after, fails with EROFS.
 */
export function turnExt4ReadOnly(mount: Ext4Mount): void {
  run("sync", ["-f", mount.dir]);
  fs.writeFileSync(ext4ErrorTrigger(mount), "podd disk-fault test\n");
}

/** After the pod let go of it: unmount, repair (e2fsck) and mount the image read-write again, as an operator would. */
export function repairExt4(mount: Ext4Mount): void {
  run("umount", [mount.dir]);
  try {
    run("e2fsck", ["-f", "-y", mount.loop]);
  } catch (error) {
    // Exit 1: errors were corrected (expected after the error trigger).
    if ((error as { status?: number }).status !== 1) throw error;
  }
  run("mount", ["-o", "errors=remount-ro", mount.loop, mount.dir]);
}

/** Unmount (lazily if busy) and remove every file system made here, newest first. Never throws. */
export function unmountAll(): void {
  for (const entry of mounted.splice(0).reverse()) {
    for (const args of [[entry.dir], ["-l", entry.dir]]) {
      try {
        run("umount", args);
        break;
      } catch {
        // busy or not mounted: try lazily, then give up on this one
      }
    }
    if (entry.loop) {
      try {
        run("losetup", ["-d", entry.loop]);
      } catch {
        // already detached
      }
    }
    fs.rmSync(entry.dir, { recursive: true, force: true });
    if (entry.image) fs.rmSync(entry.image, { force: true });
  }
}
