// The console in a real browser: Debian's Chromium, headless, driven by
// playwright-core. Run by the edba test `console::` (tests/it/console.rs):
//
//   node scripts/tools/console_check.mjs CONSOLE_URL FAILED_EXECUTION FAILED_STATE SCREENSHOT_DIR
//
// It opens the executions page, follows the link to FAILED_EXECUTION (an
// aggregate execution whose EMR step failed), checks that the error and
// cause are shown at the top and that FAILED_STATE is highlighted in the
// graph, opens an event's JSON, then the status page (a file's first
// rejects with their lines, the warehouse tables) and the run page; every page
// must load nothing from anywhere but the console (it works offline).
// Screenshots of each page go to SCREENSHOT_DIR. Exits 1 with the reason on
// the first check that fails.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, failedName, failedState, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: console_check.mjs CONSOLE_URL FAILED_EXECUTION FAILED_STATE SCREENSHOT_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

function check(ok, message) {
  if (!ok) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.EDBA_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const outside = [];
try {
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(base)) return route.continue();
    outside.push(url);
    return route.abort();
  });

  // Executions, newest first; the failed one listed as FAILED.
  await page.goto(base);
  const rows = page.locator('#executions tbody tr');
  check((await rows.count()) >= 2, `the executions page lists ${await rows.count()} executions`);
  const failedRow = page.locator('#executions tbody tr', { hasText: failedName });
  check((await failedRow.getAttribute('data-status')) === 'FAILED', `${failedName} is not listed as FAILED`);
  await page.screenshot({ path: join(shots, 'executions.png'), fullPage: true });

  // Filtering by status keeps only failed executions.
  await page.selectOption('select[name=status]', 'FAILED');
  await Promise.all([page.waitForURL(/status=FAILED/), page.click('button[type=submit]')]);
  const statuses = await page.locator('#executions tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.status));
  check(statuses.length >= 1 && statuses.every((s) => s === 'FAILED'), `filtered statuses: ${statuses}`);

  // The failed execution: error and cause first, the failed state highlighted.
  await Promise.all([page.waitForURL(/\/executions\//), page.click(`a:text("${failedName}")`)]);
  const error = page.locator('#error');
  check(await error.isVisible(), 'no error box on the failed execution');
  const errorText = await error.innerText();
  check(errorText.includes('Edba.RunsFailed'), `the error box does not name the execution's error: ${errorText}`);
  check(errorText.includes(failedState), `the error box does not name the failed state: ${errorText}`);
  const box = await error.boundingBox();
  const graphBox = await page.locator('#graph').boundingBox();
  check(box.y < graphBox.y, 'the error is not above the graph, where the eye lands first');
  const state = page.locator(`#graph g.state[data-state="${failedState}"]`);
  check((await state.count()) === 1, `the graph has no state ${failedState}`);
  const cls = await state.getAttribute('class');
  check(/\b(failed|caught)\b/.test(cls), `${failedState} is drawn as "${cls}", not failed or caught`);
  const fill = await state.locator('rect').getAttribute('fill');
  const ok = await page.locator('#graph g.state.succeeded rect').first().getAttribute('fill');
  check(fill !== ok, 'the failed state is coloured like a succeeded one');
  const notEntered = await page.locator('#graph g.state.not-entered').count();
  check(notEntered >= 1, 'no state is drawn as not entered');
  const failedEvents = page.locator('#history tbody tr[data-type="TaskFailed"]');
  check((await failedEvents.count()) >= 1, 'the history has no TaskFailed event');
  await failedEvents.first().locator('summary').click();
  const json = await failedEvents.first().locator('pre').innerText();
  check(json.includes('"cause"'), `the TaskFailed event's JSON does not show its cause: ${json}`);
  check((await page.locator('#iterations tbody tr').count()) >= 1, 'no Map iteration listed');
  await page.screenshot({ path: join(shots, 'execution-failed.png'), fullPage: true });

  // Files, jobs and runs; the failed run with its exact inputs.
  await Promise.all([page.waitForURL(/\/status$/), page.click('header a[href="/status"]')]);
  check((await page.locator('#files tbody tr').count()) >= 2, 'the status page lists no files');
  const reject = await page.locator('#files ul.rejects li').first().innerText();
  check(/line \d+/.test(reject), `a file's first reject does not give its line: ${reject}`);
  check((await page.locator('#tables tbody tr').count()) >= 1, 'the status page lists no warehouse table');
  await page.screenshot({ path: join(shots, 'status.png'), fullPage: true });
  await Promise.all([page.waitForURL(/\/runs\//), page.locator('#runs tbody tr a').first().click()]);
  check((await page.locator('h1 .badge').innerText()) === 'FAILED', 'the run page does not say FAILED');
  check((await page.locator('#inputs tbody tr').count()) >= 2, 'the run page lists no inputs');
  check(await page.locator('#error').isVisible(), 'the run page shows no error');
  await page.screenshot({ path: join(shots, 'run.png'), fullPage: true });

  check(outside.length === 0, `pages requested other hosts: ${outside.join(', ')}`);
  console.log(`console checks passed; screenshots in ${shots}`);
} catch (e) {
  console.error(`console check failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
