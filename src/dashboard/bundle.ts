// The front end (src/dashboard/web) is bundled with esbuild when a dashboard or report first
// needs it, in memory: nothing built is committed or written, and the sources are the truth.
import { join } from "node:path";
import { EnvironmentError } from "../errors.ts";

export interface WebBundle {
  js: string;
  css: string;
}

const ENTRY = join(import.meta.dirname, "web", "main.ts");
let cached: Promise<WebBundle> | null = null;

/** The bundle, built once per process (about half a second). */
export function webBundle(): Promise<WebBundle> {
  cached ??= build().catch((error: unknown) => {
    cached = null;
    throw error;
  });
  return cached;
}

async function build(): Promise<WebBundle> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new EnvironmentError("the dashboard's front end needs esbuild, which is not installed", "Run `npm install` in the autoresearch directory, then retry.");
  }
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    outdir: "dashboard",
    format: "iife",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const js = result.outputFiles.find((file) => file.path.endsWith(".js"))?.text ?? "";
  const css = result.outputFiles.find((file) => file.path.endsWith(".css"))?.text ?? "";
  return { js, css };
}
