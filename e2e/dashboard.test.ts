import { StatusResponse } from '@agent-forge/contracts';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startUxStack, type UxStack } from './support/ux-stack';

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against the real
 * stack behind the entry proxy: open it, start a pipeline from the page, pause and resume it from
 * the page, watch progress reach 100 %, save a checkpoint, and take a screenshot.
 *
 * Screenshot: .agent-forge/test-artifacts/dashboard.png, and also DASHBOARD_SCREENSHOT when set
 * (`DASHBOARD_SCREENSHOT=docs/dashboard.png DASHBOARD_EXECUTOR=forge npm test -- e2e/dashboard`
 * refreshes the README's picture with the forge's real curves).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const ROOT = path.resolve(__dirname, '..');
const FORGE = process.env.DASHBOARD_EXECUTOR === 'forge';

if (!HAVE_CHROMIUM) {
  // eslint-disable-next-line no-console
  console.warn(`e2e/dashboard.test.ts SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); .ci/run installs it.`);
}
const describeBrowser = HAVE_CHROMIUM ? describe : describe.skip;

/** Poll the page's total progress from here (waitForFunction would eval in the page: the CSP forbids it). */
async function waitForProgress(page: Page, atLeast: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await page.getByTestId('total-progress').textContent()) ?? '';
    if (Number(text.replace('%', '')) >= atLeast) return;
    if (Date.now() > deadline) throw new Error(`total progress stayed at ${text}, expected ≥ ${atLeast}%`);
    await page.waitForTimeout(100);
  }
}

describeBrowser(`dashboard in Chromium (${CHROMIUM})`, () => {
  let ux: UxStack;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const problems: string[] = [];

  beforeAll(async () => {
    userDataDir = mkdtempSync(path.join(os.tmpdir(), 'af-chromium-'));
    [ux, context] = await Promise.all([
      startUxStack('e2e-dash', FORGE ? { DEFAULT_EXECUTOR: 'forge' } : {}),
      chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 900 },
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      }),
    ]);
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    // Script errors and CSP violations (reported as console errors) fail the test.
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()} ${msg.location().url}`);
    });
    page.on('response', (res) => {
      if (res.status() >= 400) problems.push(`HTTP ${res.status()} ${res.url()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await ux?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('starts a pipeline from the page, pauses and resumes it there, and shows it reach 100 %', async () => {
    const requests: { url: string; auth: string | undefined }[] = [];
    page.on('request', (req) => requests.push({ url: req.url(), auth: req.headers().authorization }));
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));

    await page.goto(`${ux.entryUrl}/dashboard`);
    await page.getByTestId('start-button').waitFor();
    await page.locator('#live.live-open').waitFor();

    // A token typed into the header field is kept in localStorage and sent with every call and
    // socket (with auth off, as here, the server ignores it; with auth on it is the stack's own).
    const token = ux.token ?? 'dashboard-test-token';
    await page.getByTestId('token-input').fill(token);
    await page.getByRole('button', { name: 'Save' }).click();
    // (page code as strings: this file is type-checked without the DOM library)
    expect(await page.evaluate("localStorage.getItem('agent-forge.token')")).toBe(token);
    const sinceToken = requests.length;
    const problemsBefore = problems.length; // with auth on, the calls made before the token was given are 401s

    await page.getByTestId('phase-cognate').check();
    await page.getByTestId('phase-evomerge').check();
    await page.getByTestId('config-input').fill(JSON.stringify(FORGE ? { executor: 'forge' } : { executor: 'dry-run', dry_run: { steps: 40, step_ms: 100 } }));
    await page.getByTestId('start-button').click();
    await page.waitForURL(/#\/sessions\/[0-9a-f-]{36}$/);
    const sessionId = /#\/sessions\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const status = async (): Promise<StatusResponse> => StatusResponse.parse(await (await fetch(`${ux.entryUrl}/api/v1/pipeline/status/${sessionId}`)).json());

    // Running, with progress coming in live.
    await page.locator('[data-testid=session-status][data-status=running]').waitFor();
    await waitForProgress(page, 10);

    // Pause from the page: the session is paused and its progress stops.
    await page.getByTestId('btn-pause').click();
    await page.locator('[data-testid=session-status][data-status=paused]').waitFor();
    expect((await status()).status).toBe('paused');
    expect(await page.getByTestId('btn-pause').isDisabled()).toBe(true);
    const pausedAt = await page.getByTestId('total-progress').textContent();
    await page.waitForTimeout(1_000);
    expect(await page.getByTestId('total-progress').textContent()).toBe(pausedAt);

    // Save a checkpoint from the page while paused.
    await page.getByTestId('checkpoint-name').fill('from-the-page');
    await page.getByTestId('checkpoint-save').click();
    await page.getByTestId('checkpoints-body').getByText('from-the-page').waitFor();

    // Resume from the page and watch it finish.
    await page.getByTestId('btn-resume').click();
    await page.locator('[data-testid=session-status][data-status=running]').waitFor();
    await page.locator('[data-testid=total-progress]', { hasText: /^100%$/ }).waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=session-status][data-status=completed]').waitFor();
    expect((await status()).status).toBe('completed');

    // Timeline, gates (theater verdict not evaluated yet), charts and the event log are filled.
    await page.locator('[data-testid=phase-evomerge][data-status=completed]').waitFor();
    await page.getByTestId('gates-evomerge').waitFor();
    expect(await page.getByTestId('gates-cognate').getByTestId('theater').first().textContent()).toBe('not evaluated');
    await page.getByTestId('chart-cpu').waitFor();
    expect(await page.getByTestId('event-log').locator('li').count()).toBeGreaterThan(5);
    await page.waitForTimeout(1_200); // let the charts take their last data

    // Every API call and socket carried the token.
    const api = requests.slice(sinceToken).filter((r) => r.url.includes('/api/v1/'));
    expect(api.length).toBeGreaterThan(3);
    expect(api.filter((r) => r.auth !== `Bearer ${token}`).map((r) => r.url)).toEqual([]);
    expect(sockets.some((u) => u.includes(`/ws/dashboard?session_id=${sessionId}`) && u.includes(`token=${encodeURIComponent(token)}`))).toBe(true);

    const artifact = path.join(ROOT, '.agent-forge', 'test-artifacts', 'dashboard.png');
    mkdirSync(path.dirname(artifact), { recursive: true });
    await page.screenshot({ path: artifact, fullPage: true });
    if (process.env.DASHBOARD_SCREENSHOT) {
      await page.locator('header.top').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.resolve(ROOT, process.env.DASHBOARD_SCREENSHOT), clip: { x: 0, y: 0, width: 1280, height: 1180 }, fullPage: true });
    }

    // Back to the list: the session is there, completed, at 100 %.
    await page.getByRole('link', { name: '← Sessions' }).click();
    const row = page.locator(`tr[data-session="${sessionId}"]`);
    await row.getByText('completed').waitFor();
    await row.getByText('100%').waitFor();
    // With a token the page asks the security endpoint who it is; without auth that route is a 404.
    expect(problems.slice(problemsBefore).filter((p) => !p.includes('/api/v1/auth/whoami'))).toEqual([]);
    expect(problems.slice(0, problemsBefore).filter((p) => !/\b401\b|UNAUTHENTICATED|4401/.test(p))).toEqual([]);
  }, 90_000);
});
