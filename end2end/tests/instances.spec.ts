// Two instances on one PostgreSQL database behind nginx (the shipped deploy/nginx/sori.conf,
// over TLS), balanced round robin with no stickiness: two people chat with their sockets on
// different instances, and keep chatting after one instance is killed. Needs scripts/with-postgres.sh (see support/deployment.ts).

import { test, expect, type APIRequestContext, type Browser, type Page } from "@playwright/test";
import { useDeployment, PageSockets, upstreamHeader } from "../support/deployment";
import { newPerson } from "../support/people";
import { waitForHydration } from "../support/sori";
import { connection, messages, online, posts } from "../support/room";

// A departure is announced 100 ms after a person's last socket in the room ends (the default
// is 5 s): the reloads that place the sockets leave no stale "Online" entry behind for long,
// so the list a page shows comes from the sockets that are really open.
const deployment = useDeployment({ SORI_PRESENCE_GRACE_MS: "100" });
// nginx serves https with a certificate from the harness's own CA, which Chromium does not
// know; everything else about TLS (wss, Secure and __Host- cookies) is as in production.
test.use({ ignoreHTTPSErrors: true });

async function say(page: Page, text: string) {
  await page.getByRole("textbox", { name: "Message", exact: true }).fill(text);
  await page.getByRole("textbox", { name: "Message", exact: true }).press("Enter");
}

/** A post as its list item reads: the author first, the text last (time and actions between). */
function post(author: string, body: string): RegExp {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escape(author)}\\b.*${escape(body)}$`);
}

/** Which instance (its address) answered one request through nginx, and its instance id. */
async function healthz(request: APIRequestContext) {
  const response = await request.get(deployment.url("/healthz"));
  expect(response.ok()).toBe(true);
  const body = (await response.json()) as { instance: string };
  return { upstream: response.headers()[upstreamHeader.toLowerCase()], instance: body.instance };
}

/** Opens the room on `page` and waits until its one socket is connected; returns where it went. */
async function openRoom(page: Page, sockets: PageSockets, roomUrl: string): Promise<string> {
  await page.goto(roomUrl);
  await waitForHydration(page);
  await expect(connection(page)).toHaveText("Connected");
  await expect.poll(() => sockets.upstreams()).toHaveLength(1);
  return sockets.upstreams()[0];
}

/** Two people in one public room, each watched for where their socket goes. */
async function conversation(browser: Browser, roomName: string) {
  const minji = await newPerson(deployment, browser, "minji", "Minji");
  await minji.page.getByRole("navigation", { name: "Rooms" }).getByRole("button", { name: "New room", exact: true }).click();
  await waitForHydration(minji.page);
  await minji.page.getByLabel("Room name", { exact: true }).fill(roomName);
  await minji.page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(minji.page.getByRole("heading", { name: roomName, level: 1 })).toBeVisible();
  const roomUrl = minji.page.url();

  const jisoo = await newPerson(deployment, browser, "jisoo", "Jisoo");
  await jisoo.page.goto(roomUrl);
  await waitForHydration(jisoo.page);
  await jisoo.page.getByRole("button", { name: "Join", exact: true }).click();
  await expect(jisoo.page.getByRole("textbox", { name: "Message", exact: true })).toBeVisible();
  return {
    minji: { ...minji, sockets: await PageSockets.watch(minji.page) },
    jisoo: { ...jisoo, sockets: await PageSockets.watch(jisoo.page) },
    roomUrl,
  };
}

test("nginx alternates between the two instances on consecutive requests", async ({ request }) => {
  const ids = await Promise.all(deployment.instances.map((sori) => sori.instanceId()));
  expect(new Set(ids).size).toBe(2);
  const answers = [];
  for (let i = 0; i < 6; i++) answers.push(await healthz(request));
  // Each answer names the instance nginx says it sent the request to.
  for (const { upstream, instance } of answers) {
    expect(instance).toBe(await deployment.instanceAt(upstream).instanceId());
  }
  const order = answers.map((answer) => answer.instance);
  const [a, b] = [order[0], ids.find((id) => id !== order[0])];
  expect(order).toEqual([a, b, a, b, a, b]);
});

// Before the test that kills an instance: the doctor must see both.
test("the doctor page, through nginx over TLS, finds both instances and no problem", async ({ page }) => {
  await page.goto(deployment.url("/doctor?idle=2"));
  await waitForHydration(page);
  await page.getByRole("button", { name: "Run checks", exact: true }).click();
  const status = page.getByRole("status", { name: "Doctor status", exact: true });
  await expect(status).toHaveText("Every check passed.", { timeout: 30_000 });
  const results = page.getByRole("list", { name: "Results", exact: true }).getByRole("listitem");
  await expect(results).toHaveText([
    /^ok WebSocket upgrade: /,
    /^ok Secure connection: wss, and Sori sees the request as https$/,
    /^ok Round trip: /,
    /^ok Several instances: 2 instances answered, and a message crossed between them$/,
    /^ok Idle connections: /,
  ]);
});

test("two people on different instances chat, see each other online, and lose nothing when one instance is killed", async ({
  browser,
  request,
}) => {
  // Two sign-ups, placing the sockets, a crash and a reconnect: more than one page's worth.
  test.setTimeout(60_000);
  const { minji, jisoo, roomUrl } = await conversation(browser, "Scale-out");
  const minjiAt = await openRoom(minji.page, minji.sockets, roomUrl);
  // Round robin puts Jisoo's socket wherever the count of requests before it lands. Until it
  // is on the other instance, reload; every second try first sends one more request through
  // nginx, so that the parity changes even if a reload always makes the same number.
  let jisooAt = await openRoom(jisoo.page, jisoo.sockets, roomUrl);
  for (let attempt = 1; jisooAt === minjiAt && attempt <= 6; attempt++) {
    if (attempt % 2 === 0) await healthz(request);
    jisooAt = await openRoom(jisoo.page, jisoo.sockets, roomUrl);
  }
  expect(jisooAt, "the two sockets should be on different instances").not.toBe(minjiAt);
  expect([minjiAt, jisooAt].sort()).toEqual(deployment.instances.map((sori) => sori.address).sort());

  // Every post is awaited where it must arrive before the next is written, so both timelines
  // have one order to compare with.
  const said: RegExp[] = [];
  async function exchange(from: typeof minji, to: typeof minji, author: string, body: string) {
    await say(from.page, body);
    await expect(messages(to.page).getByText(body, { exact: true })).toHaveCount(1);
    said.push(post(author, body));
  }

  await exchange(minji, jisoo, "Minji", "Hello from my instance");
  await exchange(jisoo, minji, "Jisoo", "Hi, I am on the other one");
  // Presence across instances: each sees the other, whose socket is on the other instance.
  for (const page of [minji.page, jisoo.page]) {
    await expect(online(page).getByRole("listitem")).toHaveText(["Jisoo @jisoo", "Minji @minji"], { timeout: 5_000 });
  }

  // Minji's instance dies without a chance to clean up, and she writes at once. Posting is an
  // HTTP request: the dead instance refuses the connection and nginx passes it to the
  // survivor, which her socket reconnects to as well.
  const doomed = deployment.instanceAt(minjiAt);
  await doomed.kill();
  await say(minji.page, "Written as my instance died");
  await expect(messages(jisoo.page).getByText("Written as my instance died", { exact: true })).toHaveCount(1);
  said.push(post("Minji", "Written as my instance died"));
  await expect(connection(minji.page)).toHaveText("Connected");
  await expect.poll(() => minji.sockets.upstreams()).toEqual([jisooAt]);

  await exchange(jisoo, minji, "Jisoo", "Still here on the survivor");
  await exchange(minji, jisoo, "Minji", "Me too, reconnected");
  await exchange(jisoo, minji, "Jisoo", "Nothing lost?");

  for (const page of [minji.page, jisoo.page]) {
    await expect(posts(page)).toHaveText(said);
    await expect(online(page).getByRole("listitem")).toHaveText(["Jisoo @jisoo", "Minji @minji"], { timeout: 5_000 });
  }
  // The stored history says the same: each post once, in order.
  for (const page of [minji.page, jisoo.page]) {
    await page.reload();
    await waitForHydration(page);
    await expect(posts(page)).toHaveText(said);
  }
  await minji.context.close();
  await jisoo.context.close();
});
