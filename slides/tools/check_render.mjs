// check_render.mjs - look at every slide the way the audience will.
//
//   node check_render.mjs --html index.html --pdf slides.pdf --count deck.count --png DIR
//
// Opens the built HTML deck in headless Chromium (CHROME_PATH) at 1280x720,
// shows each slide in turn, keeps a picture of it in DIR/NN.png, and fails
// (exit 1, one line per problem, naming the slide and its heading) when
//  - anything on a slide reaches past its edges: text or code cut off at the
//    bottom or the right, a table or picture too big, a code line too long;
//  - a picture did not load (naturalWidth 0), or a diagram is shrunk so far
//    that its text is too small to read (below 75% of its drawn size);
//  - the HTML, the PDF (pages counted by pdfinfo) and the Markdown
//    (the count deck.py wrote) disagree on how many slides there are.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['html', 'pdf', 'count', 'png'])
    if (!out[k]) throw new Error(`missing --${k}`);
  return out;
}

function pdfPages(pdf) {
  let info;
  try {
    info = execFileSync('pdfinfo', [pdf], { encoding: 'utf8' });
  } catch (e) {
    throw new Error(`cannot count the PDF's pages: pdfinfo (poppler-utils) failed: ${e.message}`);
  }
  const m = info.match(/^Pages:\s+(\d+)/m);
  if (!m) throw new Error(`pdfinfo printed no page count for ${pdf}`);
  return Number(m[1]);
}

// Runs in the page: what is wrong with the slide shown now.
function inspect(index) {
  const MIN_DIAGRAM_SCALE = 0.75;
  const svg = document.querySelectorAll('svg[data-marpit-svg]')[index];
  const section = svg.querySelector('section');
  const box = section.getBoundingClientRect();
  const heading = (section.querySelector('h1, h2, h3')?.textContent || '').trim();
  const problems = [];
  const describe = (el) => {
    const text = (el.textContent || el.getAttribute('alt') || '').trim().replace(/\s+/g, ' ');
    return `<${el.tagName.toLowerCase()}> "${text.slice(0, 50)}${text.length > 50 ? '...' : ''}"`;
  };
  const tolerance = 1;
  if (section.scrollHeight > section.clientHeight + tolerance)
    problems.push(`content is ${section.scrollHeight - section.clientHeight}px taller than the slide`);
  if (section.scrollWidth > section.clientWidth + tolerance)
    problems.push(`content is ${section.scrollWidth - section.clientWidth}px wider than the slide`);
  for (const el of section.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const out = [];
    if (r.right > box.right + tolerance) out.push(`${Math.round(r.right - box.right)}px past the right edge`);
    if (r.bottom > box.bottom + tolerance) out.push(`${Math.round(r.bottom - box.bottom)}px past the bottom`);
    if (r.left < box.left - tolerance) out.push(`${Math.round(box.left - r.left)}px past the left edge`);
    if (r.top < box.top - tolerance) out.push(`${Math.round(box.top - r.top)}px past the top`);
    if (out.length && !el.closest('svg[data-marp-fitting]')) problems.push(`${describe(el)} ${out.join(', ')}`);
    const style = getComputedStyle(el);
    const clips = (o) => o !== 'visible';
    if (clips(style.overflowX) && el.scrollWidth > el.clientWidth + tolerance && el.clientWidth > 0)
      problems.push(`${describe(el)} is cut off on the right (${el.scrollWidth - el.clientWidth}px)`);
    if (clips(style.overflowY) && el.scrollHeight > el.clientHeight + tolerance && el.clientHeight > 0)
      problems.push(`${describe(el)} is cut off at the bottom (${el.scrollHeight - el.clientHeight}px)`);
  }
  for (const img of section.querySelectorAll('img')) {
    if (!img.complete || img.naturalWidth === 0) {
      problems.push(`picture ${describe(img)} did not load`);
      continue;
    }
    // A diagram's text is drawn at 16px; shrunk much below that, the back row cannot read it.
    const scale = img.getBoundingClientRect().width / img.naturalWidth;
    if (img.classList.contains('diagram') && scale < MIN_DIAGRAM_SCALE)
      problems.push(`diagram ${describe(img)} is shrunk to ${Math.round(scale * 100)}%: its text is too small to read (give it a slide of its own, or draw less)`);
  }
  // Only the first problem per element matters; keep the list short.
  return { heading, problems: [...new Set(problems)].slice(0, 6) };
}

async function main() {
  const opt = args();
  const chrome = process.env.CHROME_PATH;
  if (!chrome || !fs.existsSync(chrome))
    throw new Error('CHROME_PATH names no Chromium (make deps installs Debian\'s chromium)');
  const expected = Number(fs.readFileSync(opt.count, 'utf8').trim());
  const pages = pdfPages(opt.pdf);
  fs.rmSync(opt.png, { recursive: true, force: true });
  fs.mkdirSync(opt.png, { recursive: true });

  const browser = await puppeteer.launch({
    executablePath: chrome,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--hide-scrollbars'],
  });
  const failures = [];
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 720, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(path.resolve(opt.html)).href, { waitUntil: 'load' });
    await page.evaluate(() => document.fonts.ready);
    // The on-screen controls are not part of a slide.
    await page.addStyleTag({ content: '.bespoke-marp-osc { display: none !important; }' });
    const count = await page.evaluate(() => document.querySelectorAll('svg[data-marpit-svg]').length);
    if (count !== expected)
      failures.push(`the HTML has ${count} slides, the Markdown ${expected}`);
    if (pages !== expected)
      failures.push(`the PDF has ${pages} pages, the Markdown ${expected} slides`);
    for (let i = 0; i < count; i++) {
      await page.evaluate((n) => { location.hash = `#${n}`; }, i + 1);
      await page.waitForFunction(
        (n) => document.querySelectorAll('svg[data-marpit-svg]')[n].classList.contains('bespoke-marp-active'),
        { timeout: 5000 }, i);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      const { heading, problems } = await page.evaluate(inspect, i);
      const name = String(i + 1).padStart(2, '0');
      await page.screenshot({ path: path.join(opt.png, `${name}.png`) });
      for (const p of problems) failures.push(`slide ${i + 1} (${heading || 'no heading'}): ${p}`);
    }
    console.log(`check_render: ${count} slides looked at, ${pages} PDF pages, pictures in ${opt.png}`);
  } finally {
    await browser.close();
  }
  for (const f of failures) console.error(`slides: ${f}`);
  if (failures.length) {
    console.error(`slides: ${failures.length} problem(s); see the pictures in ${opt.png}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`slides: ${e.message}`);
  process.exit(1);
});
