// After `typedoc`: every link of the API site must open a page of the site (no raw markdown, no
// missing file) or be an absolute http(s)/mailto URL. Exits 1 with the offending links listed.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? 'docs/api');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.html')) files.push(p);
  }
})(root);

const bad = [];
let checked = 0;
for (const file of files) {
  const html = readFileSync(file, 'utf8');
  for (const m of html.matchAll(/href="([^"]*)"/g)) {
    const href = m[1];
    if (href === '' || href.startsWith('#')) continue;
    checked++;
    if (/^(https?:|mailto:)/.test(href)) {
      // markdown-it's linkify once turned file names such as DESIGN.md into http://DESIGN.md
      if (/^https?:\/\/[^/]*\.md\b/.test(href)) bad.push(`${file}: ${href} (a file name turned into a URL)`);
      continue;
    }
    const target = href.split('#')[0].split('?')[0];
    if (target.endsWith('.md')) bad.push(`${file}: ${href} (raw markdown)`);
    else if (!existsSync(resolve(dirname(file), decodeURIComponent(target)))) bad.push(`${file}: ${href} (missing)`);
  }
}
if (bad.length > 0) {
  console.error(`docs: ${bad.length} bad links of ${checked}:\n${bad.slice(0, 50).join('\n')}`);
  process.exit(1);
}
console.log(`docs: ${checked} links in ${files.length} pages, all open a page of the site or an absolute URL`);
