/**
 * The directory listing page of the static file server: HTML (every name
 * escaped, every href percent-encoded, a strict CSP) or JSON.
 *
 * @module
 */

/** One entry of a listing. */
export interface ListingEntry {
  name: string;
  isDirectory: boolean;
  isSymlink: boolean;
  size: number | null;
  modified: Date | null;
}

/** How to sort a listing (from the `sort` and `order` query parameters). */
export interface ListingSort {
  key: "name" | "size" | "modified";
  descending: boolean;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Percent-encodes one path segment for an href (RFC 3986 pchar, minus `;` `,` `=` and friends). */
export function encodeSegment(name: string): string {
  return encodeURIComponent(name).replace(
    /[!'()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** Reads the sort order from a URL's query (`?sort=size&order=desc`). */
export function listingSortFrom(url: URL): ListingSort {
  const key = url.searchParams.get("sort");
  return {
    key: key === "size" || key === "modified" ? key : "name",
    descending: url.searchParams.get("order") === "desc",
  };
}

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Sorts entries: directories first, then by the key (ties by name). */
export function sortEntries(entries: ListingEntry[], sort: ListingSort): ListingEntry[] {
  const dir = sort.descending ? -1 : 1;
  return entries.sort((a, b) => {
    if (a.isDirectory !== b.isDirectory) return a.isDirectory ? -1 : 1;
    let c = 0;
    if (sort.key === "size") c = (a.size ?? -1) - (b.size ?? -1);
    else if (sort.key === "modified") {
      c = (a.modified?.getTime() ?? 0) - (b.modified?.getTime() ?? 0);
    }
    if (c === 0) {
      c = collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    }
    return c * dir;
  });
}

/** Formats a byte count as `1.5 KiB`. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function formatDate(date: Date | null): string {
  if (date === null) return "";
  return date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--hover:#f6f8fa;--link:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--hover:#161b22;--link:#4493f8}}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0;padding:2rem 1rem}
main{max-width:60rem;margin:0 auto}
h1{font-size:1.35rem;font-weight:600;margin:0 0 1rem;word-break:break-all}
h1 a{color:var(--link);text-decoration:none}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:.45rem .6rem;text-align:left;border-bottom:1px solid var(--line);white-space:nowrap}
th a{color:var(--muted);text-decoration:none;font-weight:600}
td.name{white-space:normal;word-break:break-all;width:100%}
td.size,th.size{text-align:right}
td.size,td.date{color:var(--muted)}
tr:hover td{background:var(--hover)}
td a{color:var(--link);text-decoration:none}
td a:hover{text-decoration:underline}
.icon{display:inline-block;width:1.05em;height:1.05em;margin-right:.5em;vertical-align:-.15em}
.icon.d{color:#54aeff}.icon.f,.icon.u{color:var(--muted)}.icon.l{color:#bf8700}
footer{color:var(--muted);font-size:.85rem;margin-top:1rem}
`;

/**
 * Renders the HTML listing. `displayPath` is the decoded URL path of the
 * directory (escaped here); `hrefBase` is empty (hrefs are relative to the
 * directory URL, which always ends in `/`).
 */
export function renderListingHtml(
  displayPath: string,
  entries: ListingEntry[],
  sort: ListingSort,
  options: { parent: boolean; truncated: boolean; total: number },
): string {
  const crumbs: string[] = [];
  const parts = displayPath.split("/").filter((p) => p !== "");

  crumbs.push(`<a href="${escapeHtml(depthHref(parts.length))}">/</a>`);
  parts.forEach((part, i) => {
    crumbs.push(
      `<a href="${escapeHtml(depthHref(parts.length - i - 1))}">${escapeHtml(part)}</a>/`,
    );
  });
  const header = (key: ListingSort["key"], label: string, cls = ""): string => {
    const descending = sort.key === key ? !sort.descending : key !== "name";
    const arrow = sort.key === key ? (sort.descending ? " ↓" : " ↑") : "";
    return `<th${cls ? ` class="${cls}"` : ""}><a href="?sort=${key}&amp;order=${
      descending ? "desc" : "asc"
    }">${label}${arrow}</a></th>`;
  };
  const rows: string[] = [];
  if (options.parent) {
    rows.push(
      `<tr><td class="name">${
        icon("u")
      }<a href="../">Parent directory</a></td><td class="size"></td><td class="date"></td></tr>`,
    );
  }
  for (const e of entries) {
    const link = encodeSegment(e.name) + (e.isDirectory ? "/" : "");
    const shown = escapeHtml(e.name) + (e.isDirectory ? "/" : "");
    const kind = e.isDirectory ? "d" : e.isSymlink ? "l" : "f";
    const size = e.isDirectory || e.size === null
      ? "—"
      : `<span title="${e.size} bytes">${formatSize(e.size)}</span>`;
    rows.push(
      `<tr><td class="name">${icon(kind)}<a href="${
        escapeHtml(link)
      }">${shown}</a></td><td class="size">${size}</td><td class="date">${
        formatDate(e.modified)
      }</td></tr>`,
    );
  }
  const footer = options.truncated
    ? `<footer>Showing the first ${entries.length} of ${options.total} entries.</footer>`
    : `<footer>${entries.length} ${entries.length === 1 ? "entry" : "entries"}</footer>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Index of ${escapeHtml(displayPath)}</title>
<style>${STYLE}</style>
</head>
<body>
${SYMBOLS}
<main>
<h1>Index of ${crumbs.join("")}</h1>
<table>
<thead><tr>${header("name", "Name")}${header("size", "Size", "size")}${
    header("modified", "Modified")
  }</tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
${footer}
</main>
</body>
</html>
`;
}

// Inline SVG icons: no emoji font needed, nothing fetched (the CSP allows no loads).
const SYMBOLS = `<svg width="0" height="0" style="position:absolute" aria-hidden="true">
<symbol id="d" viewBox="0 0 16 16"><path fill="currentColor" d="M1 3.5A1.5 1.5 0 0 1 2.5 2h3.6l1.5 1.5h5.9A1.5 1.5 0 0 1 15 5v7.5a1.5 1.5 0 0 1-1.5 1.5h-11A1.5 1.5 0 0 1 1 12.5z"/></symbol>
<symbol id="f" viewBox="0 0 16 16"><path fill="none" stroke="currentColor" stroke-width="1.2" d="M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3"/></symbol>
<symbol id="l" viewBox="0 0 16 16"><path fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" d="M6.5 9.5l3-3M7 4.5l1.5-1.5a2.5 2.5 0 0 1 3.5 3.5L10.5 8M9 11.5L7.5 13A2.5 2.5 0 0 1 4 9.5L5.5 8"/></symbol>
<symbol id="u" viewBox="0 0 16 16"><path fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round" stroke-linejoin="round" d="M6 3.5L2.5 7 6 10.5M2.5 7h7a4 4 0 0 1 4 4v2"/></symbol>
</svg>`;

function icon(kind: "d" | "f" | "l" | "u"): string {
  return `<svg class="icon ${kind}" aria-hidden="true"><use href="#${kind}"/></svg>`;
}

function depthHref(up: number): string {
  return up === 0 ? "./" : "../".repeat(up);
}

/** Renders the JSON listing. */
export function renderListingJson(entries: ListingEntry[]): string {
  return JSON.stringify(
    entries.map((e) => ({
      name: e.name,
      type: e.isDirectory ? "directory" : e.isSymlink ? "symlink" : "file",
      size: e.isDirectory ? null : e.size,
      modified: e.modified?.toISOString() ?? null,
    })),
  );
}
