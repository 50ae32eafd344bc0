/**
 * The extension → media type table of the static file server. Text types
 * get `; charset=utf-8` when served (see `contentTypeFor`).
 *
 * @module
 */

const TABLE: Record<string, string> = {
  // text
  html: "text/html",
  htm: "text/html",
  shtml: "text/html",
  xhtml: "application/xhtml+xml",
  css: "text/css",
  csv: "text/csv",
  tsv: "text/tab-separated-values",
  txt: "text/plain",
  text: "text/plain",
  log: "text/plain",
  conf: "text/plain",
  ini: "text/plain",
  md: "text/markdown",
  markdown: "text/markdown",
  rtf: "application/rtf",
  vtt: "text/vtt",
  ics: "text/calendar",
  vcf: "text/vcard",
  xml: "application/xml",
  xsl: "application/xml",
  rss: "application/rss+xml",
  atom: "application/atom+xml",
  yaml: "text/yaml",
  yml: "text/yaml",
  toml: "application/toml",
  // code
  js: "text/javascript",
  mjs: "text/javascript",
  cjs: "text/javascript",
  jsx: "text/javascript",
  ts: "text/typescript",
  mts: "text/typescript",
  tsx: "text/tsx",
  json: "application/json",
  jsonld: "application/ld+json",
  map: "application/json",
  webmanifest: "application/manifest+json",
  wasm: "application/wasm",
  py: "text/x-python",
  sh: "application/x-sh",
  c: "text/x-c",
  h: "text/x-c",
  rs: "text/x-rust",
  go: "text/x-go",
  java: "text/x-java",
  // images
  png: "image/png",
  apng: "image/apng",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  avif: "image/avif",
  svg: "image/svg+xml",
  svgz: "image/svg+xml",
  ico: "image/vnd.microsoft.icon",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  heic: "image/heic",
  jxl: "image/jxl",
  // fonts
  woff: "font/woff",
  woff2: "font/woff2",
  ttf: "font/ttf",
  otf: "font/otf",
  eot: "application/vnd.ms-fontobject",
  // audio and video
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  aac: "audio/aac",
  oga: "audio/ogg",
  ogg: "audio/ogg",
  opus: "audio/ogg",
  wav: "audio/wav",
  flac: "audio/flac",
  weba: "audio/webm",
  mid: "audio/midi",
  midi: "audio/midi",
  mp4: "video/mp4",
  m4v: "video/mp4",
  mpeg: "video/mpeg",
  mpg: "video/mpeg",
  ogv: "video/ogg",
  webm: "video/webm",
  mov: "video/quicktime",
  avi: "video/x-msvideo",
  mkv: "video/x-matroska",
  m3u8: "application/vnd.apple.mpegurl",
  // documents and archives
  pdf: "application/pdf",
  epub: "application/epub+zip",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ppt: "application/vnd.ms-powerpoint",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  odt: "application/vnd.oasis.opendocument.text",
  ods: "application/vnd.oasis.opendocument.spreadsheet",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  bz2: "application/x-bzip2",
  xz: "application/x-xz",
  zst: "application/zstd",
  br: "application/x-brotli",
  tar: "application/x-tar",
  "7z": "application/x-7z-compressed",
  rar: "application/vnd.rar",
  jar: "application/java-archive",
  deb: "application/vnd.debian.binary-package",
  rpm: "application/x-rpm",
  iso: "application/x-iso9660-image",
  dmg: "application/x-apple-diskimage",
  exe: "application/vnd.microsoft.portable-executable",
  bin: "application/octet-stream",
  pem: "application/x-pem-file",
  crt: "application/x-x509-ca-cert",
  der: "application/x-x509-ca-cert",
};

const CHARSET_TYPES = new Set([
  "application/json",
  "application/ld+json",
  "application/manifest+json",
  "application/xml",
  "application/xhtml+xml",
  "application/rss+xml",
  "application/atom+xml",
  "application/toml",
  "image/svg+xml",
  "application/x-sh",
]);

/**
 * The media type for a file name, from its extension (case-insensitive), or
 * `undefined` when the extension is unknown.
 */
export function mediaTypeFor(fileName: string, extra?: Record<string, string>): string | undefined {
  const dot = fileName.lastIndexOf(".");
  if (dot < 0 || dot === fileName.length - 1) return undefined;
  const ext = fileName.slice(dot + 1).toLowerCase();
  if (extra !== undefined && Object.hasOwn(extra, ext)) return extra[ext];
  return Object.hasOwn(TABLE, ext) ? TABLE[ext] : undefined;
}

/**
 * The `Content-Type` value for a file name: the media type plus
 * `; charset=utf-8` for text, or `application/octet-stream` when unknown.
 */
export function contentTypeFor(fileName: string, extra?: Record<string, string>): string {
  const type = mediaTypeFor(fileName, extra);
  if (type === undefined) return "application/octet-stream";
  if (type.includes(";")) return type;
  if (type.startsWith("text/") || CHARSET_TYPES.has(type)) return `${type}; charset=utf-8`;
  return type;
}
