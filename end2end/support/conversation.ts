// Setting up a conversation the way people do: someone makes a room through the UI, others
// sign up in their own browser contexts and join it, and everyone ends on its page,
// connected. Shared by the specs of chat, Markdown, mentions, reactions, replies and
// notifications.

import { expect, type Browser, type Page } from "@playwright/test";
import { type Sori, waitForHydration } from "./sori";
import { newPerson } from "./people";
import { connection, messages } from "./room";

type Person = Awaited<ReturnType<typeof newPerson>>;

/** The composer's message box. */
export function messageBox(page: Page) {
  return page.getByRole("textbox", { name: "Message", exact: true });
}

/** Types `text` in the composer and sends it with Enter. */
export async function say(page: Page, text: string) {
  await messageBox(page).fill(text);
  await messageBox(page).press("Enter");
}

/** The message in the log whose text contains `text`. */
export function post(page: Page, text: string) {
  return messages(page).getByRole("listitem").filter({ hasText: text });
}

/** Makes a public room named `name` from the "Rooms" navigation; answers its address. */
export async function createRoom(page: Page, name: string): Promise<string> {
  await page.getByRole("navigation", { name: "Rooms" }).getByRole("button", { name: "New room", exact: true }).click();
  await waitForHydration(page);
  await page.getByLabel("Room name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "Create room", exact: true }).click();
  await expect(page.getByRole("heading", { name, level: 1 })).toBeVisible();
  return page.url();
}

/** `person` opens the room at `roomUrl` and joins it. */
export async function join(person: Person, roomUrl: string) {
  await person.page.goto(roomUrl);
  await waitForHydration(person.page);
  await person.page.getByRole("button", { name: "Join", exact: true }).click();
  await expect(messageBox(person.page)).toBeVisible();
}

/**
 * A public room named `roomName`, made by `owner` (display name; the username is its lower
 * case), joined by each of `others`; everyone ends on the room's page, connected.
 */
export async function roomOf(sori: Sori, browser: Browser, roomName: string, owner: string, others: string[]) {
  const first = await newPerson(sori, browser, owner.toLowerCase(), owner);
  const roomUrl = await createRoom(first.page, roomName);
  const joined: Person[] = [];
  for (const name of others) {
    const person = await newPerson(sori, browser, name.toLowerCase(), name);
    await join(person, roomUrl);
    joined.push(person);
  }
  await first.page.goto(roomUrl);
  for (const page of [first.page, ...joined.map((person) => person.page)]) {
    await waitForHydration(page);
    await expect(connection(page)).toHaveText("Connected");
  }
  return { first, others: joined, roomUrl };
}

/** Two people in one public room, both looking at it and connected. */
export async function twoPeople(sori: Sori, browser: Browser, roomName: string, a: string, b: string) {
  const { first, others, roomUrl } = await roomOf(sori, browser, roomName, a, [b]);
  return { first, second: others[0], roomUrl };
}
