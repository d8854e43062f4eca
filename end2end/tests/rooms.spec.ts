import { test, expect, type Page } from "@playwright/test";
import { useSori, waitForHydration } from "../support/sori";
import { newPerson } from "../support/people";

const sori = useSori();

function roomsNav(page: Page) {
  return page.getByRole("navigation", { name: "Rooms" });
}

async function createRoom(page: Page, name: string, topic: string, isPrivate = false) {
  await roomsNav(page).getByRole("button", { name: "New room", exact: true }).click();
  await expect(page.getByRole("heading", { name: "New room", level: 1 })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel("Room name", { exact: true }).fill(name);
  await page.getByLabel("Topic", { exact: true }).fill(topic);
  if (isPrivate) await page.getByRole("checkbox", { name: "Private", exact: true }).check();
  await page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(page.getByRole("heading", { name, level: 1, exact: true })).toBeVisible();
}

test("create a room, rename it, change its topic, delete it", async ({ browser }) => {
  const { context, page } = await newPerson(sori, browser, "owner1", "Owner One");
  await createRoom(page, "개발팀", "Daily standups");
  await expect(page.getByText("Daily standups")).toBeVisible();
  const link = roomsNav(page).getByRole("link", { name: "개발팀", exact: true });
  await expect(link).toHaveAttribute("aria-current", "page");

  await page.getByRole("link", { name: "Room settings", exact: true }).click();
  await waitForHydration(page);
  await page.getByLabel("Room name", { exact: true }).fill("Platform team");
  await page.getByLabel("Topic", { exact: true }).fill("Weekly planning");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  await expect(roomsNav(page).getByRole("link", { name: "Platform team", exact: true })).toBeVisible();

  await page.getByRole("link", { name: "Back to Platform team" }).click();
  await expect(page.getByRole("heading", { name: "Platform team", level: 1 })).toBeVisible();
  await expect(page.getByText("Weekly planning")).toBeVisible();

  await page.getByRole("link", { name: "Room settings", exact: true }).click();
  await page.getByRole("button", { name: "Delete room", exact: true }).click();
  await waitForHydration(page);
  await page.getByRole("button", { name: "Delete this room", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Browse rooms", level: 1 })).toBeVisible();
  await expect(roomsNav(page).getByRole("link", { name: "Platform team" })).toHaveCount(0);
  await context.close();
});

test("a room name that is too long is explained next to the field", async ({ browser }) => {
  const { context, page } = await newPerson(sori, browser, "owner2", "Owner Two");
  await roomsNav(page).getByRole("button", { name: "New room", exact: true }).click();
  await waitForHydration(page);
  await page.getByLabel("Room name", { exact: true }).fill("방".repeat(81));
  await page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(page.getByLabel("Room name", { exact: true })).toHaveAccessibleDescription(
    "Room name must be at most 80 characters.",
  );
  await context.close();
});

test("a second user joins a public room", async ({ browser }) => {
  const owner = await newPerson(sori, browser, "host", "Host");
  await createRoom(owner.page, "Book club", "This month: Pachinko");

  const guest = await newPerson(sori, browser, "guest", "Guest");
  await roomsNav(guest.page).getByRole("link", { name: "Browse rooms", exact: true }).click();
  await guest.page.getByRole("link", { name: "Book club", exact: true }).click();
  await expect(guest.page.getByRole("heading", { name: "Book club", level: 1 })).toBeVisible();
  await waitForHydration(guest.page);
  await guest.page.getByRole("button", { name: "Join", exact: true }).click();
  await expect(guest.page.getByRole("button", { name: "Leave", exact: true })).toBeVisible();
  await expect(roomsNav(guest.page).getByRole("link", { name: "Book club", exact: true })).toBeVisible();

  await guest.page.getByRole("link", { name: "Members", exact: true }).click();
  const members = guest.page.getByRole("list", { name: "Members" });
  await expect(members.getByRole("listitem")).toHaveCount(2);
  await expect(members).toContainText("Host");
  await expect(members).toContainText("Guest");
  await owner.context.close();
  await guest.context.close();
});

test("a private room stays invisible until the invitation is used", async ({ browser }) => {
  const owner = await newPerson(sori, browser, "keeper", "Keeper");
  await createRoom(owner.page, "Secret garden", "Shh", true);
  const roomUrl = owner.page.url();

  const visitor = await newPerson(sori, browser, "visitor", "Visitor");
  await roomsNav(visitor.page).getByRole("link", { name: "Browse rooms", exact: true }).click();
  await expect(visitor.page.getByRole("heading", { name: "Browse rooms", level: 1 })).toBeVisible();
  await expect(visitor.page.getByText("Secret garden")).toHaveCount(0);
  const hidden = await visitor.page.goto(roomUrl);
  expect(hidden?.status()).toBe(404);
  await expect(visitor.page.getByRole("heading", { name: "Room not found", level: 1 })).toBeVisible();

  await owner.page.getByRole("link", { name: "Room settings", exact: true }).click();
  await waitForHydration(owner.page);
  await owner.page.getByRole("button", { name: "Create invite link", exact: true }).click();
  // The new link is shown once, when it is made; the list names it without its token.
  const invite = owner.page.getByRole("link", { name: /^\/invite\// });
  await expect(invite).toHaveCount(1);
  const invitePath = await invite.getAttribute("href");
  const active = owner.page.getByRole("list", { name: "Active invitation links" });
  await expect(active.getByRole("listitem")).toHaveCount(1);
  await expect(active.getByRole("link")).toHaveCount(0);

  // Visiting the link only asks; the Join button makes the visitor a member.
  await visitor.page.goto(sori.url(invitePath!));
  await expect(visitor.page.getByRole("heading", { name: "Join room Secret garden?", level: 1 })).toBeVisible();
  await expect(roomsNav(visitor.page).getByRole("link", { name: "Secret garden", exact: true })).toHaveCount(0);
  await waitForHydration(visitor.page);
  await visitor.page.getByRole("button", { name: "Join", exact: true }).click();
  await expect(visitor.page.getByRole("heading", { name: "Secret garden", exact: true, level: 1 })).toBeVisible();
  await expect(roomsNav(visitor.page).getByRole("link", { name: "Secret garden", exact: true })).toBeVisible();

  await owner.page.getByRole("button", { name: "Revoke", exact: true }).click();
  await expect(owner.page.getByText("No active invitation links.")).toBeVisible();
  const latecomer = await newPerson(sori, browser, "latecomer", "Latecomer");
  const revoked = await latecomer.page.goto(sori.url(invitePath!));
  expect(revoked?.status()).toBe(410);
  await expect(latecomer.page.getByText("This invitation link has expired or was revoked.")).toBeVisible();
  for (const person of [owner, visitor, latecomer]) await person.context.close();
});

test("an invitation signs the visitor in first, then takes them to the room", async ({ browser }) => {
  const owner = await newPerson(sori, browser, "inviter", "Inviter");
  await createRoom(owner.page, "Back room", "", true);
  await owner.page.getByRole("link", { name: "Room settings", exact: true }).click();
  await waitForHydration(owner.page);
  await owner.page.getByRole("button", { name: "Create invite link", exact: true }).click();
  const invitePath = await owner.page.getByRole("link", { name: /^\/invite\// }).getAttribute("href");

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(sori.url(invitePath!));
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByRole("link", { name: "Create an account" }).click();
  await waitForHydration(page);
  await page.getByLabel("Username", { exact: true }).fill("invitee");
  await page.getByLabel("Display name", { exact: true }).fill("Invitee");
  await page.getByLabel("Password", { exact: true }).fill("correct horse battery");
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Join room Back room?", level: 1 })).toBeVisible();
  await waitForHydration(page);
  await page.getByRole("button", { name: "Join", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Back room", exact: true, level: 1 })).toBeVisible();
  await owner.context.close();
  await context.close();
});

test("a direct conversation opens from a member's name", async ({ browser }) => {
  const alice = await newPerson(sori, browser, "alice", "Alice Kim");
  await createRoom(alice.page, "Hallway", "Say hi");
  const bob = await newPerson(sori, browser, "bob", "Bob Lee");
  await roomsNav(bob.page).getByRole("link", { name: "Browse rooms", exact: true }).click();
  await bob.page.getByRole("link", { name: "Hallway", exact: true }).click();
  await waitForHydration(bob.page);
  await bob.page.getByRole("button", { name: "Join", exact: true }).click();
  await expect(bob.page.getByRole("button", { name: "Leave", exact: true })).toBeVisible();

  await bob.page.getByRole("link", { name: "Members", exact: true }).click();
  await waitForHydration(bob.page);
  const members = bob.page.getByRole("list", { name: "Members" });
  const aliceRow = members.getByRole("listitem").filter({ hasText: "Alice Kim" });
  const bobRow = members.getByRole("listitem").filter({ hasText: "Bob Lee" });
  await expect(bobRow.getByRole("button", { name: "Message" })).toHaveCount(0);
  await aliceRow.getByRole("button", { name: "Message", exact: true }).click();
  await expect(bob.page.getByRole("heading", { name: "Alice Kim", level: 1 })).toBeVisible();
  const dms = roomsNav(bob.page);
  await expect(dms.getByRole("link", { name: "Alice Kim", exact: true })).toBeVisible();

  await alice.page.reload();
  await roomsNav(alice.page).getByRole("link", { name: "Bob Lee", exact: true }).click();
  await expect(alice.page.getByRole("heading", { name: "Bob Lee", level: 1 })).toBeVisible();
  expect(alice.page.url()).toBe(bob.page.url());
  await alice.context.close();
  await bob.context.close();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("creating a room works as a plain form", async ({ page }) => {
    await page.goto(sori.url("/register"));
    await page.getByLabel("Username", { exact: true }).fill("plainform");
    await page.getByLabel("Display name", { exact: true }).fill("Plain Form");
    await page.getByLabel("Password", { exact: true }).fill("correct horse battery");
    await page.getByRole("button", { name: "Create account", exact: true }).click();
    await roomsNav(page).getByRole("button", { name: "New room", exact: true }).click();
    await page.getByLabel("Room name", { exact: true }).fill("No script needed");
    await page.getByLabel("Topic", { exact: true }).fill("Server-rendered all the way");
    await page.getByRole("button", { name: "Create room", exact: true }).click();
    await expect(page.getByRole("heading", { name: "No script needed", level: 1 })).toBeVisible();
    await expect(page.getByText("Server-rendered all the way")).toBeVisible();
    await expect(roomsNav(page).getByRole("link", { name: "No script needed", exact: true })).toBeVisible();
  });
});
