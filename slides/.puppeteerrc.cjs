// Puppeteer (which the Mermaid CLI drives) must never download a browser of
// its own: the tool chain uses the system's Chromium (see README.md).
module.exports = { skipDownload: true };
