// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for tests/browser.py.
// Reads one JSON command per line on stdin, answers one JSON line on stdout: {id, ok, result|error}.
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { createInterface } from "node:readline";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const { chromium } = require("playwright-core");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const userDataDir = mkdtempSync(join(tmpdir(), "ka2-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 800 },
  locale: "fr-BE",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
context.setDefaultTimeout(Number(process.env.BROWSER_TIMEOUT_MS || 90000));
const page = context.pages()[0] || (await context.newPage());
const problems = [];
page.on("console", (message) => {
  if (message.type() === "error") problems.push(`console: ${message.text()}`);
});
page.on("pageerror", (error) => problems.push(`pageerror: ${error.message}`));

const ops = {
  goto: ({ url }) => page.goto(url).then(() => page.url()),
  reload: () => page.reload().then(() => page.url()),
  viewport: ({ width, height }) => page.setViewportSize({ width, height }),
  emulate: ({ reducedMotion }) => page.emulateMedia({ reducedMotion }),
  click: ({ selector, text }) => locate(selector, text).click(),
  fill: ({ selector, value }) => page.locator(selector).fill(value),
  select: ({ selector, value }) => page.locator(selector).selectOption(value),
  check: ({ selector }) => page.locator(selector).check(),
  text: ({ selector }) => page.locator(selector).first().innerText(),
  fullScreenshot: ({ path }) => page.screenshot({ path, fullPage: true }).then(() => path),
  press: ({ key }) => page.keyboard.press(key),
  type: ({ text }) => page.keyboard.type(text),
  wait: ({ selector, text, state }) => locate(selector, text).waitFor({ state: state || "visible" }),
  count: ({ selector, text }) => locate(selector, text, false).count(),
  texts: ({ selector }) => page.locator(selector).allInnerTexts(),
  html: ({ selector }) => page.locator(selector).first().innerHTML(),
  attribute: ({ selector, name }) => page.locator(selector).first().getAttribute(name),
  evaluate: ({ expression }) => page.evaluate(expression),
  focused: () => page.evaluate(() => {
    const el = document.activeElement;
    return el ? { tag: el.tagName.toLowerCase(), id: el.id, cls: el.className, text: el.textContent.trim() } : null;
  }),
  screenshot: ({ path }) => page.screenshot({ path }).then(() => path),
  axe: async () => {
    if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
    const results = await page.evaluate(() =>
      window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
    return results.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
    }));
  },
  problems: () => problems.splice(0),
};

// A visible element matching `selector` (and containing `text`): the last one, newest in a chat log.
function locate(selector, text, last = true) {
  let locator = page.locator(selector);
  if (text) locator = locator.filter({ hasText: text });
  return last ? locator.last() : locator;
}

async function close() {
  await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const { id, op, ...args } = JSON.parse(line);
  let answer;
  try {
    if (!ops[op]) throw new Error(`unknown op ${op}`);
    answer = { id, ok: true, result: (await ops[op](args)) ?? null };
  } catch (error) {
    answer = { id, ok: false, error: String(error.message || error) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await close();
