#!/usr/bin/env node
// Loads one page in headless Chromium and checks it: no console error, no uncaught exception, no
// failed load, no dialog; then runs the steps given, in order. Talks the Chrome DevTools Protocol
// over --remote-debugging-pipe (fd 3: to Chromium, fd 4: from it; JSON messages ended by \0), so
// it needs no port and no npm package. Chromium is killed at the deadline: this never hangs.
//
//   node page_check.js URL|FILE [options] [steps]
//
// Options:
//   --timeout-ms N      whole run, Chromium start to exit (default 30000)
//   --viewport WxH      CSS pixels (default 1280x800)
//   --chromium PATH     default $CHROMIUM or /usr/bin/chromium
// Steps, run in the order given after the page has loaded:
//   --eval EXPR         evaluates EXPR in the page, prints {"eval": EXPR, "result": VALUE} on stdout
//   --assert EXPR       evaluates EXPR; fails unless the result is true
//   --click EXPR        EXPR gives an element: scrolled into view, clicked at its centre by the mouse
//   --screenshot FILE   PNG of the whole page
//   --wait-ms N         lets N ms pass
//
// Exit status: 0 when the page loaded cleanly and every step passed; 1 on a problem with the page
// or a failed step (each reported on stderr); 2 on a usage error; 3 when Chromium could not be
// started or spoke no CDP; 4 on the timeout.
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const url = require('url');

const EXIT_PROBLEM = 1, EXIT_USAGE = 2, EXIT_NO_BROWSER = 3, EXIT_TIMEOUT = 4;

function usage(message) {
  process.stderr.write(`page_check: ${message}\n` +
    'usage: node page_check.js URL|FILE [--timeout-ms N] [--viewport WxH] [--chromium PATH]\n' +
    '         [--eval EXPR] [--assert EXPR] [--click EXPR] [--screenshot FILE] [--wait-ms N] ...\n');
  process.exit(EXIT_USAGE);
}

function parseArgs(argv) {
  const config = {
    target: null, timeoutMs: 30000, width: 1280, height: 800,
    chromium: process.env.CHROMIUM || '/usr/bin/chromium', steps: []
  };
  const stepKinds = new Set(['--eval', '--assert', '--click', '--screenshot', '--wait-ms']);
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      if (config.target) usage(`a second page: ${arg}`);
      config.target = arg;
      continue;
    }
    if (i + 1 >= argv.length) usage(`${arg} needs a value`);
    const value = argv[++i];
    if (stepKinds.has(arg)) config.steps.push({ kind: arg.slice(2), value });
    else if (arg === '--timeout-ms') config.timeoutMs = positiveNumber(arg, value);
    else if (arg === '--chromium') config.chromium = value;
    else if (arg === '--viewport') {
      const m = /^(\d+)x(\d+)$/.exec(value);
      if (!m) usage(`--viewport wants WxH, not ${value}`);
      config.width = Number(m[1]);
      config.height = Number(m[2]);
    } else usage(`unknown option ${arg}`);
  }
  if (!config.target) usage('no page given');
  for (const step of config.steps)
    if (step.kind === 'wait-ms') positiveNumber('--wait-ms', step.value);
  return config;
}

function positiveNumber(name, value) {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) usage(`${name} wants a number, not ${value}`);
  return n;
}

// A path is taken as a file; anything with a scheme as a URL.
function pageUrl(target) {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) ? target : url.pathToFileURL(path.resolve(target)).href;
}

// One CDP connection over the two pipes: numbered commands answered by promises, events
// dispatched to listeners by method name (flat sessions: events carry their sessionId).
class Cdp {
  constructor(toBrowser, fromBrowser) {
    this.toBrowser = toBrowser;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    this.closed = false;
    let buffered = '';
    fromBrowser.setEncoding('utf8');
    fromBrowser.on('data', (chunk) => {
      buffered += chunk;
      let end;
      while ((end = buffered.indexOf('\0')) >= 0) {
        const text = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        let message;
        try {
          message = JSON.parse(text);
        } catch (e) {
          this.fail(new Error(`unreadable DevTools message: ${text.slice(0, 200)}`));
          return;
        }
        this.dispatch(message);
      }
    });
    fromBrowser.on('close', () => this.fail(new Error('Chromium closed the DevTools pipe')));
    toBrowser.on('error', (e) => this.fail(e));
  }

  dispatch(message) {
    if (message.id !== undefined) {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`));
      else waiter.resolve(message.result);
      return;
    }
    for (const listener of this.listeners.get(message.method) || []) listener(message.params, message.sessionId);
  }

  fail(error) {
    this.closed = true;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  send(method, params = {}, sessionId = undefined) {
    if (this.closed) return Promise.reject(new Error(`${method}: DevTools pipe closed`));
    const id = this.nextId++;
    const message = { id, method, params };
    if (sessionId) message.sessionId = sessionId;
    this.toBrowser.write(JSON.stringify(message) + '\0');
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
  }

  on(method, listener) {
    if (!this.listeners.has(method)) this.listeners.set(method, []);
    this.listeners.get(method).push(listener);
  }

  once(method, predicate = () => true) {
    return new Promise((resolve) => this.on(method, (params, sessionId) => {
      if (predicate(params, sessionId)) resolve(params);
    }));
  }
}

function startChromium(config, userDataDir) {
  const flags = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--hide-scrollbars', `--user-data-dir=${userDataDir}`, '--remote-debugging-pipe', 'about:blank'
  ];
  // Its own process group, so the deadline can kill the renderer and helper processes too.
  return childProcess.spawn(config.chromium, flags, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true });
}

// Everything the page got wrong, as readable lines.
function watchForProblems(cdp, sessionId, problems) {
  const mine = (f) => (params, sid) => { if (sid === sessionId) f(params); };
  cdp.on('Runtime.consoleAPICalled', mine((p) => {
    if (p.type === 'error' || p.type === 'assert')
      problems.push(`console.${p.type}: ${p.args.map((a) => a.value !== undefined ? String(a.value) : a.description || a.type).join(' ')}`);
  }));
  cdp.on('Runtime.exceptionThrown', mine((p) => {
    const d = p.exceptionDetails;
    problems.push(`uncaught exception: ${d.exception && d.exception.description || d.text} at ${d.url || ''}:${d.lineNumber + 1}`);
  }));
  cdp.on('Log.entryAdded', mine((p) => {
    if (p.entry.level === 'error') problems.push(`log error (${p.entry.source}): ${p.entry.text} ${p.entry.url || ''}`);
  }));
  cdp.on('Network.loadingFailed', mine((p) => {
    if (!p.canceled) problems.push(`failed load of request ${p.requestId} (${p.type}): ${p.errorText}`);
  }));
  cdp.on('Page.javascriptDialogOpening', mine((p) => {
    problems.push(`dialog opened (${p.type}): ${p.message}`);
    cdp.send('Page.handleJavaScriptDialog', { accept: false }, sessionId).catch(() => {});
  }));
}

async function evaluate(cdp, sessionId, expression) {
  const reply = await cdp.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId);
  if (reply.exceptionDetails) {
    const d = reply.exceptionDetails;
    throw new Error(`${expression}: threw ${d.exception && d.exception.description || d.text}`);
  }
  return reply.result.value;
}

async function click(cdp, sessionId, expression) {
  const centre = await evaluate(cdp, sessionId, `(() => {
    const element = (${expression});
    if (!element || !element.getBoundingClientRect) return null;
    element.scrollIntoView({ block: 'center', inline: 'center' });
    const box = element.getBoundingClientRect();
    return { x: box.left + box.width / 2, y: box.top + box.height / 2 };
  })()`);
  if (!centre) throw new Error(`--click ${expression}: no such element`);
  const mouse = { x: centre.x, y: centre.y, button: 'left', clickCount: 1 };
  await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x: centre.x, y: centre.y }, sessionId);
  await cdp.send('Input.dispatchMouseEvent', { type: 'mousePressed', ...mouse }, sessionId);
  await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', ...mouse }, sessionId);
}

async function screenshot(cdp, sessionId, file) {
  const shot = await cdp.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, sessionId);
  fs.writeFileSync(file, Buffer.from(shot.data, 'base64'));
  process.stderr.write(`page_check: screenshot ${file}\n`);
}

async function runStep(cdp, sessionId, step, problems) {
  if (step.kind === 'eval') {
    const result = await evaluate(cdp, sessionId, step.value);
    process.stdout.write(JSON.stringify({ eval: step.value, result }) + '\n');
  } else if (step.kind === 'assert') {
    const result = await evaluate(cdp, sessionId, step.value);
    if (result !== true) problems.push(`assertion failed: ${step.value} gave ${JSON.stringify(result)}`);
  } else if (step.kind === 'click') {
    await click(cdp, sessionId, step.value);
  } else if (step.kind === 'screenshot') {
    await screenshot(cdp, sessionId, step.value);
  } else if (step.kind === 'wait-ms') {
    await new Promise((resolve) => setTimeout(resolve, Number(step.value)));
  }
}

// Opens the page in a new tab, waits for its load event, runs the steps; returns the problems.
async function checkPage(cdp, config) {
  const problems = [];
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
  watchForProblems(cdp, sessionId, problems);
  for (const domain of ['Page', 'Runtime', 'Log', 'Network']) await cdp.send(`${domain}.enable`, {}, sessionId);
  await cdp.send('Emulation.setDeviceMetricsOverride',
    { width: config.width, height: config.height, deviceScaleFactor: 1, mobile: false }, sessionId);
  const loaded = cdp.once('Page.loadEventFired', (p, sid) => sid === sessionId);
  const navigation = await cdp.send('Page.navigate', { url: pageUrl(config.target) }, sessionId);
  if (navigation.errorText) {
    problems.push(`navigation to ${config.target} failed: ${navigation.errorText}`);
    return problems;
  }
  await loaded;
  for (const step of config.steps) {
    try {
      await runStep(cdp, sessionId, step, problems);
    } catch (e) {
      problems.push(`--${step.kind} failed: ${e.message}`);
    }
  }
  // Let late console messages and exceptions of the last step arrive.
  await evaluate(cdp, sessionId, 'new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50)))');
  return problems;
}

function killGroup(child) {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch (e) {
    // Already gone.
  }
}

function main() {
  const config = parseArgs(process.argv.slice(2));
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'page-check-'));
  let chromiumLog = '';
  let exitCode = null;
  const browser = startChromium(config, userDataDir);
  const finish = (code, lines) => {
    if (exitCode !== null) return;
    exitCode = code;
    for (const line of lines) process.stderr.write(`page_check: ${line}\n`);
    if (code !== 0 && code !== EXIT_PROBLEM && chromiumLog)
      process.stderr.write(`page_check: Chromium's stderr ended with:\n${chromiumLog.slice(-2000)}\n`);
    // Browser.close was asked for on success: a moment to exit by itself, then it is killed.
    // Exit in any case: 'exit' may never come for a Chromium that failed to start.
    const graceMs = code === 0 || code === EXIT_PROBLEM ? 3000 : 0;
    let gone = false;
    const done = () => {
      if (gone) return;
      gone = true;
      killGroup(browser);
      fs.rmSync(userDataDir, { recursive: true, force: true });
      process.exit(exitCode);
    };
    if (!browser.pid || browser.exitCode !== null || browser.signalCode !== null) return done();
    browser.once('exit', done);
    setTimeout(() => killGroup(browser), graceMs);
    setTimeout(done, graceMs + 2000);
  };

  const deadline = setTimeout(() => finish(EXIT_TIMEOUT, [`timed out after ${config.timeoutMs} ms`]), config.timeoutMs);
  browser.on('error', (e) => finish(EXIT_NO_BROWSER, [`cannot start ${config.chromium}: ${e.message}`]));
  browser.on('exit', (code, signal) => finish(EXIT_NO_BROWSER, [`Chromium exited early (${signal || code})`]));
  browser.stderr.setEncoding('utf8');
  browser.stderr.on('data', (text) => { chromiumLog = (chromiumLog + text).slice(-20000); });
  if (!browser.stdio[3] || !browser.stdio[4]) return finish(EXIT_NO_BROWSER, ['no DevTools pipe']);

  const cdp = new Cdp(browser.stdio[3], browser.stdio[4]);
  cdp.send('Browser.getVersion')
    .catch((e) => { throw Object.assign(e, { noBrowser: true }); })
    .then(() => checkPage(cdp, config))
    .then((problems) => {
      clearTimeout(deadline);
      cdp.send('Browser.close').catch(() => {});
      finish(problems.length ? EXIT_PROBLEM : 0, problems.length ? problems : ['page loaded cleanly, every step passed']);
    })
    .catch((e) => finish(e.noBrowser ? EXIT_NO_BROWSER : EXIT_PROBLEM, [e.message]));
}

main();
