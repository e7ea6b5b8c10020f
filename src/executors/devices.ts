// Which device each slot is pinned to. GPUs are found with nvidia-smi; without one, every slot runs on the CPU.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ConfigError } from "../errors.ts";

const execFileAsync = promisify(execFile);

export interface SlotDevice {
  slot: number;
  /** "cpu" or "cuda:N" */
  device: string;
  /** Extra environment for the slot's processes (CUDA_VISIBLE_DEVICES for a GPU). */
  env: Record<string, string>;
}

/** GPU indices nvidia-smi lists, or [] when there is no NVIDIA GPU or driver. */
export async function listGpus(): Promise<number[]> {
  try {
    const { stdout } = await execFileAsync("nvidia-smi", ["--query-gpu=index", "--format=csv,noheader"], { timeout: 10_000 });
    return stdout
      .split("\n")
      .map((line) => Number.parseInt(line.trim(), 10))
      .filter((index) => Number.isInteger(index));
  } catch {
    return [];
  }
}

export async function assignDevices(slots: number, devices: "auto" | string[], gpus?: number[]): Promise<SlotDevice[]> {
  const available = devices === "auto" ? ((gpus ?? (await listGpus())).map((index) => `cuda:${index}`)) : devices;
  const pool = available.length > 0 ? available : ["cpu"];
  const gpuPool = pool.filter((device) => device.startsWith("cuda:"));
  if (gpuPool.length > 0 && slots > gpuPool.length) {
    throw new ConfigError(
      [`slots: ${slots} slots but ${gpuPool.length} GPU(s) (${gpuPool.join(", ")}); each slot needs its own GPU, or the fixed time budget would make results depend on contention`],
      `Lower slots to ${gpuPool.length}, or set "devices": ["cpu"] to run on the CPU.`,
    );
  }
  return Array.from({ length: slots }, (_, slot) => {
    const device = gpuPool.length > 0 ? gpuPool[slot]! : pool[slot % pool.length]!;
    const env: Record<string, string> = {};
    if (device.startsWith("cuda:")) env.CUDA_VISIBLE_DEVICES = device.slice("cuda:".length);
    else env.CUDA_VISIBLE_DEVICES = "";
    return { slot, device, env };
  });
}
