// The end-to-end harness owns the server process. Each spec file calls `useSori()` once: it
// starts the release binary on a free loopback port with a fresh temporary database before the
// file's tests, and stops it after them. Tests can stop, kill and restart it (same port, same
// database) to exercise reconnects and crash recovery.

import { test, expect, type Page } from "@playwright/test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(__dirname, "..", "..");
// Cargo puts the binary under CARGO_TARGET_DIR when it is set; cargo-leptos still writes the
// site into the workspace's target/site.
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(root, "target");
const binary = process.env.SORI_BIN ?? path.join(targetDir, "release", "sori");
const siteRoot = process.env.SORI_SITE_ROOT ?? path.join(root, "target", "site");
const startTimeoutMs = 15_000;

export class Sori {
  private child: ChildProcess | null = null;
  private dataDir = "";
  private addr = "127.0.0.1:0";
  private logs: string[] = [];

  /**
   * `env` adds settings for this server (a spec that needs a limit raised says so). They are
   * applied last: a `DATABASE_URL` there replaces the temporary SQLite file, so several
   * servers can share one PostgreSQL database (see deployment.ts).
   */
  constructor(private readonly env: Record<string, string> = {}) {}

  /** The base URL, e.g. http://127.0.0.1:41234 */
  get origin(): string {
    return `http://${this.addr}`;
  }

  /** The address it listens on, e.g. 127.0.0.1:41234 (as a proxy names its upstream). */
  get address(): string {
    return this.addr;
  }

  url(pathname: string): string {
    return `${this.origin}${pathname}`;
  }

  /** Starts on a fresh database. */
  async start(): Promise<void> {
    if (!existsSync(binary)) {
      throw new Error(`${binary} is missing: build it first (make build)`);
    }
    this.dataDir = mkdtempSync(path.join(tmpdir(), "sori-e2e-"));
    this.addr = "127.0.0.1:0";
    await this.launch();
  }

  /** Starts again on the same port and database after stop() or kill(). */
  async restart(): Promise<void> {
    await this.launch();
  }

  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  async stop(): Promise<void> {
    await this.signal("SIGTERM");
  }

  /** Crash: SIGKILL, no chance to clean up. */
  async kill(): Promise<void> {
    await this.signal("SIGKILL");
  }

  /** Stops the server and deletes its database. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** The instance id its `/healthz` reports (fresh at every start). */
  async instanceId(): Promise<string> {
    const response = await fetch(this.url("/healthz"));
    if (!response.ok) throw new Error(`${this.url("/healthz")} answered ${response.status}`);
    const body = (await response.json()) as { instance: string };
    return body.instance;
  }

  /** The server's output so far, for failure messages. */
  output(): string {
    return this.logs.join("");
  }

  private async launch(): Promise<void> {
    const child = spawn(binary, [], {
      cwd: this.dataDir,
      env: {
        ...process.env,
        SORI_ADDR: this.addr,
        SORI_SITE_ROOT: siteRoot,
        DATABASE_URL: `sqlite://${path.join(this.dataDir, "sori.db")}`,
        RUST_LOG: process.env.SORI_E2E_LOG ?? "info,sqlx=warn",
        NO_COLOR: "1",
        ...this.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    const bound = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`sori did not start in ${startTimeoutMs} ms:\n${this.output()}`)),
        startTimeoutMs,
      );
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        this.logs.push(text);
        const match = /listening on http:\/\/([0-9.]+:\d+)/.exec(this.output());
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`sori exited with ${code} while starting:\n${this.output()}`));
      });
    });
    this.addr = bound;
  }

  private async signal(name: NodeJS.Signals): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(name);
    await exited;
  }
}

/** Registers a Sori server for the calling spec file. */
export function useSori(env: Record<string, string> = {}): Sori {
  const sori = new Sori(env);
  test.beforeAll(async () => {
    await sori.start();
  });
  test.afterAll(async () => {
    await sori.dispose();
  });
  return sori;
}

/** Waits until the WebAssembly has hydrated the page, so its buttons are live. */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator("html")).toHaveAttribute("data-hydrated", "true");
}
